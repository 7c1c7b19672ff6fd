//! Tally's ingest: from CloudEvents bytes to stored usage, each event billed once.
//!
//! [`decode`] is the gate every event passes (Kafka, files, HTTP). The Kafka worker
//! reads a consumer group, writes valid events to the store in batches and commits
//! offsets only once a batch is durable; invalid events go to the dead-letter topic
//! with their original bytes and the reason. [`Intake`] is the same path without
//! Kafka: NDJSON files, stdin and HTTP bodies into the store.

pub mod decode;

mod batch;
mod client;
mod config;
mod dead_letter;
mod ends;
mod error;
mod forward;
mod intake;
mod metrics;
pub mod ndjson;
mod produce;
mod replay;
mod worker;
mod writer;

pub use client::{KafkaClient, Reporting};
pub use config::IngestConfig;
pub use dead_letter::{headers as dead_letter_headers, MAX_DEAD_LETTER_BYTES};
pub use error::IngestError;
pub use forward::Forwarder;
pub use intake::{Decoded, Intake, IntakeConfig, IntakeSummary, Outcome};
pub use metrics::IngestMetrics;
pub use replay::{replay, ReplaySummary};
pub use worker::Worker;
pub mod generate;
