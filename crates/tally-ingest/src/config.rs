//! What an ingest worker reads, where dead letters go, and how big a batch gets.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::KafkaClient;

/// Settings of one ingest worker.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The Kafka cluster and the properties every client gets.
    pub client: KafkaClient,
    /// Consumer group; workers of one group share the partitions.
    pub group: String,
    /// Topics of usage events.
    pub topics: Vec<String>,
    /// Topic for events that cannot be billed.
    pub dead_letter_topic: String,
    /// A batch is written when it holds this many messages...
    pub batch_max_messages: usize,
    /// ...or this many bytes of payload...
    pub batch_max_bytes: usize,
    /// ...or its first message has waited this long.
    pub batch_max_wait: Duration,
    /// First wait after a failed store write; doubled each time up to `retry_max`.
    pub retry_min: Duration,
    /// Longest wait between store retries.
    pub retry_max: Duration,
    /// Longest one attempt to make a batch durable may take before it is abandoned and
    /// retried: a store that stops answering (a server shutting down holds connections
    /// open) must not stall the worker for ever.
    pub attempt_timeout: Duration,
    /// Extra librdkafka properties for the consumer alone, applied last (they win).
    pub consumer_properties: BTreeMap<String, String>,
    /// Stop by itself once every partition of the topics is committed up to the end it
    /// had when the worker started: a backfill, or a benchmark. Meant for a lone worker.
    pub stop_at_end: bool,
    /// `Some`: judge events (too old, in the future) and stamp rejections as of this
    /// instant instead of the clock: a backfill of a past month, the demo.
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
}

impl IngestConfig {
    /// Defaults for a group reading `topics`.
    pub fn new(
        client: KafkaClient,
        group: impl Into<String>,
        topics: Vec<String>,
        dead_letter_topic: impl Into<String>,
    ) -> Self {
        IngestConfig {
            client,
            group: group.into(),
            topics,
            dead_letter_topic: dead_letter_topic.into(),
            batch_max_messages: 20_000,
            batch_max_bytes: 8 << 20,
            batch_max_wait: Duration::from_millis(500),
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(60),
            consumer_properties: BTreeMap::new(),
            stop_at_end: false,
            as_of: None,
        }
    }
}
