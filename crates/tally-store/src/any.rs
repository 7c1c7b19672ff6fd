//! [`AnyStore`]: either store behind one concrete type, for programs that pick the
//! store from their configuration at run time.

use tally_domain::{Customer, CustomerId, Period, Subscription, SubscriptionId};

use crate::clickhouse::ClickHouseStore;
use crate::embedded::EmbeddedStore;
use crate::{
    AccountStore, EventBatch, IncomingEvent, InvoiceFilter, InvoiceRecord, InvoiceStore, Lease, LeaseStore,
    RejectedEvent, StoreError, UsageAggregate, UsageQuery, UsageStore, Written,
};

/// The ClickHouse store or the embedded one.
pub enum AnyStore {
    /// Production, scales out.
    ClickHouse(ClickHouseStore),
    /// One file on one machine.
    Embedded(EmbeddedStore),
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::ClickHouse($store) => $call.await,
            AnyStore::Embedded($store) => $call.await,
        }
    };
}

/// A batch for the store an [`AnyStore`] is.
pub enum AnyBatch {
    /// For ClickHouse.
    ClickHouse(crate::clickhouse::Encoded),
    /// For the embedded store.
    Embedded(crate::embedded::EmbeddedBatch),
}

impl EventBatch for AnyBatch {
    fn push(&mut self, event: &IncomingEvent) -> Result<(), StoreError> {
        match self {
            AnyBatch::ClickHouse(b) => b.push(event),
            AnyBatch::Embedded(b) => b.push(event),
        }
    }

    fn len(&self) -> usize {
        match self {
            AnyBatch::ClickHouse(b) => b.len(),
            AnyBatch::Embedded(b) => b.len(),
        }
    }
}

impl UsageStore for AnyStore {
    type Batch = AnyBatch;

    fn batch(&self) -> AnyBatch {
        match self {
            AnyStore::ClickHouse(s) => AnyBatch::ClickHouse(s.batch()),
            AnyStore::Embedded(s) => AnyBatch::Embedded(s.batch()),
        }
    }

    async fn insert_batch(&self, batch: &AnyBatch) -> Result<Option<u64>, StoreError> {
        match (self, batch) {
            (AnyStore::ClickHouse(s), AnyBatch::ClickHouse(b)) => s.insert_batch(b).await,
            (AnyStore::Embedded(s), AnyBatch::Embedded(b)) => s.insert_batch(b).await,
            _ => Err(StoreError::Unstorable {
                context: "a batch of usage events".into(),
                message: "made for the other kind of store".into(),
            }),
        }
    }

    async fn insert_rejected(&self, rejected: &[RejectedEvent]) -> Result<(), StoreError> {
        delegate!(self, s => s.insert_rejected(rejected))
    }

    async fn rejected(&self, period: &Period) -> Result<Vec<RejectedEvent>, StoreError> {
        delegate!(self, s => s.rejected(period))
    }

    async fn aggregate(&self, query: &UsageQuery) -> Result<Vec<UsageAggregate>, StoreError> {
        delegate!(self, s => s.aggregate(query))
    }

    async fn aggregate_many(&self, queries: &[UsageQuery]) -> Result<Vec<Vec<UsageAggregate>>, StoreError> {
        delegate!(self, s => s.aggregate_many(queries))
    }

    async fn aggregate_into<K: crate::UsageSink>(
        &self,
        queries: &[UsageQuery],
        sink: &mut K,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.aggregate_into(queries, sink))
    }

    async fn count_events(&self, period: &Period) -> Result<u64, StoreError> {
        delegate!(self, s => s.count_events(period))
    }

    async fn sample_events(
        &self,
        customer: &tally_domain::CustomerId,
        event_type: &str,
        period: &Period,
        limit: usize,
    ) -> Result<Vec<crate::EventSample>, StoreError> {
        delegate!(self, s => s.sample_events(customer, event_type, period, limit))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        delegate!(self, s => s.ping())
    }

    async fn compact(&self, period: &Period) -> Result<(), StoreError> {
        delegate!(self, s => s.compact(period))
    }
}

impl AccountStore for AnyStore {
    async fn put_customers(&self, customers: &[Customer]) -> Result<(), StoreError> {
        delegate!(self, s => s.put_customers(customers))
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        delegate!(self, s => s.customer(id))
    }

    async fn customers(&self) -> Result<Vec<Customer>, StoreError> {
        delegate!(self, s => s.customers())
    }

    async fn put_subscriptions(&self, subscriptions: &[Subscription]) -> Result<(), StoreError> {
        delegate!(self, s => s.put_subscriptions(subscriptions))
    }

    async fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError> {
        delegate!(self, s => s.subscription(id))
    }

    async fn subscriptions(&self, customer: Option<&CustomerId>) -> Result<Vec<Subscription>, StoreError> {
        delegate!(self, s => s.subscriptions(customer))
    }
}

impl InvoiceStore for AnyStore {
    async fn put_invoices(&self, invoices: &[InvoiceRecord], prefix: &str) -> Result<Vec<Written>, StoreError> {
        delegate!(self, s => s.put_invoices(invoices, prefix))
    }

    async fn invoice(&self, id: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        delegate!(self, s => s.invoice(id))
    }

    async fn invoice_by_number(&self, number: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        delegate!(self, s => s.invoice_by_number(number))
    }

    async fn invoices(&self, filter: &InvoiceFilter) -> Result<Vec<InvoiceRecord>, StoreError> {
        delegate!(self, s => s.invoices(filter))
    }

    async fn last_closed(
        &self,
    ) -> Result<std::collections::HashMap<SubscriptionId, chrono::DateTime<chrono::Utc>>, StoreError> {
        delegate!(self, s => s.last_closed())
    }

    async fn last_number(&self, prefix: &str) -> Result<u64, StoreError> {
        delegate!(self, s => s.last_number(prefix))
    }

    async fn invoice_states(&self) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        delegate!(self, s => s.invoice_states())
    }
}

impl crate::PaymentStore for AnyStore {
    async fn put_payment(&self, payment: &crate::Payment) -> Result<bool, StoreError> {
        delegate!(self, s => s.put_payment(payment))
    }

    async fn payments(&self, invoice: Option<&str>) -> Result<Vec<crate::Payment>, StoreError> {
        delegate!(self, s => s.payments(invoice))
    }
}

impl crate::LedgerStore for AnyStore {
    async fn append_entries(&self, entries: &[tally_ledger::Entry]) -> Result<usize, StoreError> {
        delegate!(self, s => s.append_entries(entries))
    }

    async fn entries(
        &self,
        customer: Option<&tally_domain::CustomerId>,
    ) -> Result<Vec<tally_ledger::Entry>, StoreError> {
        delegate!(self, s => s.entries(customer))
    }

    async fn totals(
        &self,
        day: chrono::NaiveDate,
        customer: Option<&tally_domain::CustomerId>,
    ) -> Result<tally_ledger::Totals, StoreError> {
        delegate!(self, s => s.totals(day, customer))
    }
}

impl LeaseStore for AnyStore {
    async fn claim(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Result<crate::Claim, Lease>, StoreError> {
        delegate!(self, s => s.claim(name, holder, ttl))
    }

    async fn confirm(&self, claim: crate::Claim) -> Result<Result<Lease, Lease>, StoreError> {
        delegate!(self, s => s.confirm(claim))
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        delegate!(self, s => s.release(name, holder))
    }
}

impl crate::RateStore for AnyStore {
    async fn put_rates(&self, rates: &[tally_domain::ExchangeRate]) -> Result<usize, StoreError> {
        delegate!(self, s => s.put_rates(rates))
    }

    async fn rates(&self) -> Result<Vec<tally_domain::ExchangeRate>, StoreError> {
        delegate!(self, s => s.rates())
    }
}
