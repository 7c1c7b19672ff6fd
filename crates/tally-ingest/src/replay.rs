//! Replaying dead letters: re-reads the dead-letter topic (after a catalog or producer
//! fix) and feeds every message through the same decoder into the store.
//!
//! It reads each partition from its start up to the end it had when the replay began,
//! so it terminates. A replayed event keeps the Kafka position it was first read at.
//! Replaying twice is harmless: the store counts each `(source, id)` once. Messages
//! that are still invalid stay where they are and are reported by reason.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use tally_store::{IncomingEvent, KafkaOrigin, UsageStore};
use tokio::runtime::Handle;

use crate::client::{KafkaClient, Reporting};
use crate::dead_letter::headers;
use crate::decode::{Decoder, Reason};
use crate::error::IngestError;

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Dead letters read.
    pub read: u64,
    /// Events now valid and written to the store.
    pub stored: u64,
    /// Dead letters still invalid, by reason.
    pub still_invalid: BTreeMap<Reason, u64>,
}

/// Replays every dead letter of `topic` into `store`.
pub fn replay<S: UsageStore>(
    client: &KafkaClient,
    topic: &str,
    decoder: &Decoder,
    store: Arc<S>,
    runtime: &Handle,
) -> Result<ReplaySummary, IngestError> {
    let consumer: BaseConsumer<Reporting> = client
        .config()
        .set("group.id", "tally-replay-dlq")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create_with_context(Reporting::default())
        .map_err(IngestError::kafka("creating the replay consumer"))?;
    let timeout = Duration::from_secs(10);
    let metadata = match consumer.fetch_metadata(Some(topic), timeout) {
        Ok(metadata) => metadata,
        Err(e) => {
            // The broker's reason (a certificate that cannot be verified) comes as an
            // error event, which only polling serves: poll briefly for it.
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            while consumer.context().last_error().is_none() && std::time::Instant::now() < deadline {
                let _ = consumer.poll(Duration::from_millis(50));
            }
            return Err(IngestError::kafka(consumer.context().explain(&format!("reading {topic}'s metadata")))(e));
        }
    };
    let mut assignment = TopicPartitionList::new();
    // Per partition: the end this replay reads up to (exclusive), until it gets there.
    let mut remaining = BTreeMap::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition.id(), timeout)
            .map_err(IngestError::kafka(format!("reading {topic}/{}'s offsets", partition.id())))?;
        if high > low {
            remaining.insert(partition.id(), high);
            assignment
                .add_partition_offset(topic, partition.id(), Offset::Offset(low))
                .map_err(IngestError::kafka("assigning"))?;
        }
    }
    consumer.assign(&assignment).map_err(IngestError::kafka(format!("assigning {topic}")))?;
    let mut summary = ReplaySummary::default();
    let mut batch = Vec::new();
    while !remaining.is_empty() {
        let Some(message) = consumer.poll(timeout) else {
            tracing::warn!(left = ?remaining, "no dead letter within 10 s; still waiting");
            continue;
        };
        let message = message.map_err(IngestError::kafka(format!("reading {topic}")))?;
        if let Some(end) = remaining.get(&message.partition()) {
            if message.offset() + 1 >= *end {
                remaining.remove(&message.partition());
            }
        } else {
            continue; // past the end this replay set itself
        }
        summary.read += 1;
        let payload = message.payload().unwrap_or_default();
        match decoder.decode(payload, Utc::now()) {
            Ok(decoded) => {
                let origin = original_origin(&message).unwrap_or(KafkaOrigin {
                    topic: topic.into(),
                    partition: message.partition(),
                    offset: message.offset(),
                });
                batch.push(IncomingEvent { event: decoded.event, origin: Some(origin) });
            }
            Err(rejection) => *summary.still_invalid.entry(rejection.reason).or_default() += 1,
        }
        if batch.len() >= 10_000 || (remaining.is_empty() && !batch.is_empty()) {
            runtime.block_on(store.insert_events(&batch)).map_err(IngestError::Store)?;
            summary.stored += batch.len() as u64;
            batch.clear();
        }
    }
    Ok(summary)
}

/// Where the dead letter was first read, from its headers.
fn original_origin<M: Message>(message: &M) -> Option<KafkaOrigin> {
    let headers = message.headers()?;
    let get = |name: &str| {
        headers.iter().find(|h| h.key == name).and_then(|h| h.value).and_then(|v| std::str::from_utf8(v).ok())
    };
    Some(KafkaOrigin {
        topic: get(headers::TOPIC)?.into(),
        partition: get(headers::PARTITION)?.parse().ok()?,
        offset: get(headers::OFFSET)?.parse().ok()?,
    })
}
