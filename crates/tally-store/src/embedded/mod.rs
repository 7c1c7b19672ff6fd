//! The embedded store: SQLite in one file, for a single machine with no server.
//!
//! Dedupe happens at insert: rows are appended in arrival order under a unique compact
//! key of `(source, id)` (`event_key.rs`, `events.rs`), so a second delivery never
//! enters the table and aggregates are exact without any read-time work.
//! Decimals are stored as text and aggregated in Rust (`aggregate.rs`), because
//! SQLite's own `SUM` goes through binary floats. WAL with
//! `synchronous = FULL`: a write that returned survives a killed process.

mod accounts;
mod aggregate;
mod append;
mod blocks;
mod checkpoint;
mod event_key;
mod events;
mod group;
mod invoices;
mod lease;
mod ledger;
mod payments;
mod rates;
mod schema;
mod store;

pub use events::Batch as EmbeddedBatch;
pub use schema::migrate_to;
pub use store::EmbeddedStore;
