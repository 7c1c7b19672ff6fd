//! The ClickHouse store: production, scales out.
//!
//! Events go into `usage_events`, a `ReplacingMergeTree` partitioned by month of event
//! time and ordered by `(customer, event_type, source, id)`: every copy of an event
//! lands in the same partition with the same sorting key. Merges remove copies in the
//! background; the billing query reads with `FINAL`, which collapses copies that merges
//! have not reached yet, so aggregates are exact at any moment.
//!
//! All SQL runs on ClickHouse 18.16 (the test server) and on current releases.

mod config;
mod connect;
mod migrations;
mod rows;
mod sql;
mod store;

pub use config::ClickHouseConfig;
pub use connect::{connect, ServerVersion};
pub use migrations::migrate;
pub use store::ClickHouseStore;
