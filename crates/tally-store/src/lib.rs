//! Tally's usage store: where usage events live, counted exactly once, and how a
//! period's usage is aggregated for rating.
//!
//! One interface, [`UsageStore`], two implementations: [`clickhouse::ClickHouseStore`]
//! (production, scales out) and [`embedded::EmbeddedStore`] (SQLite in one file, the
//! default for a single machine). One contract test suite (`tests/contract.rs`) runs
//! against both, so their results cannot drift apart.
//!
//! Exact dedupe: an event is identified by `(source, id)`; however often it is
//! delivered, it counts once in every aggregate, at billing time, not "eventually".

mod accounts;
mod any;
pub mod clickhouse;
pub mod embedded;
mod error;
mod invoices;
mod lease;
mod ledger;
mod limits;
mod open;
mod payments;
mod query;
mod rates;

use std::future::Future;

use tally_domain::Period;

pub use accounts::AccountStore;
pub use any::{AnyBatch, AnyStore};
pub use error::StoreError;
pub use invoices::{InvoiceFilter, InvoiceLineRecord, InvoiceRecord, InvoiceStore, ReportedTotal, Written};
pub use lease::{holder_id, Claim, Lease, LeaseStore, SETTLE as LEASE_SETTLE};
pub use ledger::LedgerStore;
pub use limits::{check_event, storable, DECIMAL_SCALE, MAX_VALUE};
pub use payments::{Payment, PaymentStore};
pub use query::{
    EventSample, IncomingEvent, KafkaOrigin, RejectedEvent, UsageAggregate, UsageItem, UsageQuery, UsageRow, UsageSink,
};
pub use rates::RateStore;

/// Events on their way into a store, already in the form the store writes: made one
/// event at a time as they are decoded (on the decoding thread, not the store's), and
/// kept whole for every retry of one write.
pub trait EventBatch: Send + Sync + 'static {
    /// Adds one event, or refuses one the store cannot hold exactly (naming the event
    /// and its value; the batch is unchanged). A second copy of an event already in the
    /// batch is accepted and written once.
    fn push(&mut self, event: &IncomingEvent) -> Result<(), StoreError>;

    /// Events pushed, copies included.
    fn len(&self) -> usize;

    /// Whether nothing was pushed.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What every store can do with usage events.
pub trait UsageStore: Send + Sync {
    /// The store's [`EventBatch`].
    type Batch: EventBatch;

    /// An empty batch for [`insert_batch`](UsageStore::insert_batch).
    fn batch(&self) -> Self::Batch;

    /// Writes a batch durably; returns once its events would survive a crash of this
    /// process, with how many were duplicates of stored ones when the store knows at
    /// write time: the embedded store does; ClickHouse drops duplicates when it reads
    /// (and merges) and says `None`. Events already stored (same `source` and `id`) are
    /// never counted again. The batch is written whole or not at all, and can be written
    /// again after a failure.
    fn insert_batch(&self, batch: &Self::Batch) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// [`insert_batch`](UsageStore::insert_batch) of `events`, saying how many were
    /// duplicates where the store knows.
    fn insert_events_counted(
        &self,
        events: &[IncomingEvent],
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send {
        async move {
            let mut batch = self.batch();
            for event in events {
                batch.push(event)?;
            }
            self.insert_batch(&batch).await
        }
    }

    /// [`insert_events_counted`](UsageStore::insert_events_counted) without the count.
    fn insert_events(&self, events: &[IncomingEvent]) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move { self.insert_events_counted(events).await.map(|_| ()) }
    }

    /// Records events that cannot be billed (dead letters), with their original bytes.
    fn insert_rejected(&self, rejected: &[RejectedEvent]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Rejected events received in `period`, oldest first.
    fn rejected(&self, period: &Period) -> impl Future<Output = Result<Vec<RejectedEvent>, StoreError>> + Send;

    /// Aggregates a period's usage, each event counted once. Rows are sorted by
    /// customer, item and dimensions; items with no usage give no rows.
    fn aggregate(&self, query: &UsageQuery) -> impl Future<Output = Result<Vec<UsageAggregate>, StoreError>> + Send;

    /// Runs several aggregations, answering each as [`UsageStore::aggregate`] would; a
    /// store may share one scan among them (the invoicer asks for one query per period
    /// part and plan, often over nearly the same time).
    fn aggregate_many(
        &self,
        queries: &[UsageQuery],
    ) -> impl Future<Output = Result<Vec<Vec<UsageAggregate>>, StoreError>> + Send {
        async move {
            let mut out = Vec::with_capacity(queries.len());
            for query in queries {
                out.push(self.aggregate(query).await?);
            }
            Ok(out)
        }
    }

    /// Runs several aggregations as [`aggregate_many`](UsageStore::aggregate_many)
    /// would, handing each row to `sink` as it is read, with the position of its
    /// query, in no particular order. A caller that files rows by key (the invoicer's
    /// usage book) then needs the rows neither held nor sorted.
    fn aggregate_into<K: UsageSink>(
        &self,
        queries: &[UsageQuery],
        sink: &mut K,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            for (query, rows) in self.aggregate_many(queries).await?.into_iter().enumerate() {
                let group_by = |item: usize| queries[query].items.get(item).map_or(&[][..], |i| &i.group_by[..]);
                for row in rows {
                    let groups: Vec<&str> = group_by(row.item)
                        .iter()
                        .map(|name| row.dimensions.get(name).map_or("", String::as_str))
                        .collect();
                    let customer = row.customer.as_str();
                    sink.push(query, UsageRow { customer, item: row.item, groups: &groups, quantity: row.quantity });
                }
            }
            Ok(())
        }
    }

    /// Distinct events (each `(source, id)` once) whose time falls in `period`, metered
    /// or not: what a summary reports as accepted once duplicates are set aside.
    fn count_events(&self, period: &Period) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Prepares a period for fast aggregation (ClickHouse merges away every stored copy
    /// of an event). Never needed for exact results, only for speed; the invoicer calls
    /// it before closing a period.
    fn compact(&self, period: &Period) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `limit` of a customer's events of one type in `period`, oldest first, each
    /// once: evidence behind an invoice line.
    fn sample_events(
        &self,
        customer: &tally_domain::CustomerId,
        event_type: &str,
        period: &Period,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<EventSample>, StoreError>> + Send;

    /// Answers when the store can serve a query (for readiness probes).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
