//! The ClickHouse store: production, scales out.
//!
//! Events go into `usage_events`, a `ReplacingMergeTree` partitioned by month of event
//! time and ordered by `(customer, event_type, source, id)`: every copy of an event
//! lands in the same partition with the same sorting key, and each insert batch is
//! deduplicated before it is sent. Merges collapse copies across parts.
//!
//! Reading is exact at any moment, two ways (`parts.rs`): where each partition of the
//! period is a single part, a plain read (no copies can exist); otherwise a read with
//! `FINAL`, which collapses the copies merges have not reached yet, at about 6x the
//! cost. [`ClickHouseStore::compact`](crate::UsageStore::compact) merges a period's
//! partitions so the plain read applies.
//!
//! All SQL runs on ClickHouse 18.16 (the test server) and on current releases.

mod accounts;
mod billing_query;
mod config;
mod connect;
mod encode;
mod invoices;
mod lease;
mod ledger;
mod migrations;
mod parts;
mod payments;
mod rates;
mod rows;
mod sql;
mod store;

pub use config::{ClickHouseConfig, Compression};
pub use connect::{connect, ServerVersion};
pub use encode::Encoded;
pub use migrations::{migrate, migrate_to};
pub use store::ClickHouseStore;
