//! Tally's ingest: from CloudEvents bytes to stored usage, each event billed once.
//!
//! [`decode`] is the gate every event passes (Kafka, files, HTTP). The Kafka worker
//! reads a consumer group, writes valid events to the store in batches and commits
//! offsets only once a batch is durable; invalid events go to the dead-letter topic
//! with their original bytes and the reason.

pub mod decode;
