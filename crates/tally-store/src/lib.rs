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
pub use any::AnyStore;
pub use error::StoreError;
pub use invoices::{InvoiceFilter, InvoiceLineRecord, InvoiceRecord, InvoiceStore, ReportedTotal, Written};
pub use lease::{holder_id, Lease, LeaseStore, SETTLE as LEASE_SETTLE};
pub use ledger::LedgerStore;
pub use limits::{check_event, storable, DECIMAL_SCALE, MAX_VALUE};
pub use payments::{Payment, PaymentStore};
pub use query::{EventSample, IncomingEvent, KafkaOrigin, RejectedEvent, UsageAggregate, UsageItem, UsageQuery};
pub use rates::RateStore;

/// What every store can do with usage events.
pub trait UsageStore: Send + Sync {
    /// Writes events durably; returns once they would survive a crash of this process.
    /// Events already stored (same `source` and `id`) are not counted again.
    fn insert_events(&self, events: &[IncomingEvent]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`insert_events`](UsageStore::insert_events), also saying how many of the events
    /// were duplicates of stored ones when the store knows at write time: the embedded
    /// store does; ClickHouse drops duplicates when it reads (and merges) and says `None`.
    fn insert_events_counted(
        &self,
        events: &[IncomingEvent],
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send {
        async move { self.insert_events(events).await.map(|()| None) }
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
