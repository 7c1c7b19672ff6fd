//! Dead letters: rejected events written to a Kafka topic with their original bytes,
//! key, and headers that say why and where they came from, so they can be fixed and
//! replayed (`tally replay-dlq`).

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tally_store::RejectedEvent;

use crate::client::{KafkaClient, Reporting};
use crate::error::IngestError;
use crate::produce::{acknowledged, enqueue};

/// Header names on every dead letter.
pub mod headers {
    /// The reason code (`missing_field`, ...).
    pub const REASON: &str = "tally-reason";
    /// The human-readable detail naming the field.
    pub const DETAIL: &str = "tally-detail";
    /// Topic the event was read from.
    pub const TOPIC: &str = "tally-source-topic";
    /// Partition it was read from (decimal text).
    pub const PARTITION: &str = "tally-source-partition";
    /// Offset it was read from (decimal text).
    pub const OFFSET: &str = "tally-source-offset";
    /// Present when the payload was cut: the original length in bytes (decimal text).
    /// The whole message is in the store's `rejected_events.raw`.
    pub const TRUNCATED_FROM: &str = "tally-truncated-from";
}

/// Longest payload a dead letter carries whole. Kafka refuses messages over its
/// `max.message.bytes` (about 1 MB by default), and a dead letter the broker refuses
/// would stall the partition; longer payloads are cut here and marked.
pub const MAX_DEAD_LETTER_BYTES: usize = 900 * 1024;

/// Writes dead letters and waits until the broker has them.
pub(crate) struct DeadLetters {
    producer: FutureProducer<Reporting>,
    reporting: Reporting,
    topic: String,
}

impl DeadLetters {
    pub fn new(client: &KafkaClient, topic: &str) -> Result<Self, IngestError> {
        let reporting = Reporting::default();
        let producer = client
            .config()
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000")
            .create_with_context(reporting.clone())
            .map_err(IngestError::kafka("creating the dead-letter producer"))?;
        Ok(DeadLetters { producer, reporting, topic: topic.to_owned() })
    }

    /// Sends every dead letter with its original key, then waits for all acknowledgements.
    pub async fn send(&self, letters: &[RejectedEvent], keys: &[Option<Vec<u8>>]) -> Result<(), IngestError> {
        let mut pending = Vec::with_capacity(letters.len());
        for (rejected, key) in letters.iter().zip(keys) {
            let mut h = OwnedHeaders::new()
                .insert(Header { key: headers::REASON, value: Some(rejected.reason.as_bytes()) })
                .insert(Header { key: headers::DETAIL, value: Some(rejected.detail.as_bytes()) });
            let mut payload = rejected.raw.as_slice();
            if payload.len() > MAX_DEAD_LETTER_BYTES {
                let original = payload.len().to_string();
                h = h.insert(Header { key: headers::TRUNCATED_FROM, value: Some(original.as_bytes()) });
                payload = &payload[..MAX_DEAD_LETTER_BYTES];
            }
            if let Some(o) = &rejected.origin {
                h = h
                    .insert(Header { key: headers::TOPIC, value: Some(o.topic.as_bytes()) })
                    .insert(Header { key: headers::PARTITION, value: Some(o.partition.to_string().as_bytes()) })
                    .insert(Header { key: headers::OFFSET, value: Some(o.offset.to_string().as_bytes()) });
            }
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).payload(payload).headers(h);
            if let Some(k) = key {
                record = record.key(k.as_slice());
            }
            // Enqueue now, await all acknowledgements after.
            pending.push(enqueue(&self.producer, record).await.map_err(|e| self.error(e))?);
        }
        acknowledged(pending).await.map_err(|e| self.error(e))
    }

    fn error(&self, source: KafkaError) -> IngestError {
        let topic = self.reporting.explain(&self.topic);
        IngestError::DeadLetter { topic, source }
    }
}
