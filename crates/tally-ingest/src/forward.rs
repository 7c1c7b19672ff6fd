//! Events that arrive over HTTP in Kafka mode: validated with the same decoder as the
//! workers (so the caller learns at once what is wrong with an event), then the
//! valid ones are produced to the usage topic, keyed by customer, and the rejected ones
//! to the dead-letter topic with their reason, both with `acks=all`, and into the
//! store's `rejected_events` like every dead letter. `write` returns only after the
//! broker has acknowledged every message: an event answered as accepted is in Kafka,
//! where a worker stores it exactly once.

use chrono::Utc;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tally_store::UsageStore;

use crate::dead_letter::DeadLetters;
use crate::decode::Decoder;
use crate::error::IngestError;
use crate::intake::Outcome;
use crate::produce::{acknowledged, enqueue};

/// Produces validated events to Kafka.
pub struct Forwarder<S> {
    decoder: Decoder,
    producer: FutureProducer,
    topic: String,
    dead_letters: DeadLetters,
    store: std::sync::Arc<S>,
}

impl<S: UsageStore> Forwarder<S> {
    /// A producer to `topic` (and `dead_letter_topic`) on `brokers`; rejected events are
    /// also kept in `store`.
    pub fn new(
        brokers: &str,
        topic: &str,
        dead_letter_topic: &str,
        decoder: Decoder,
        store: std::sync::Arc<S>,
    ) -> Result<Self, IngestError> {
        let producer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000")
            .create()
            .map_err(IngestError::kafka("creating the HTTP events producer"))?;
        let dead_letters = DeadLetters::new(brokers, dead_letter_topic)?;
        Ok(Forwarder { decoder, producer, topic: topic.to_owned(), dead_letters, store })
    }

    /// Validates and produces the messages; one outcome each, in order, once the
    /// broker has them all.
    pub async fn write<'a>(&self, messages: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<Outcome>, IngestError> {
        let now = Utc::now();
        let (mut outcomes, mut pending, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
        for message in messages {
            match self.decoder.decode(message, now) {
                Ok(decoded) => {
                    let key = decoded.event.customer.as_str().as_bytes().to_vec();
                    let record = FutureRecord::to(&self.topic).payload(message).key(key.as_slice());
                    pending.push(enqueue(&self.producer, record).await.map_err(|e| self.error(e))?);
                    outcomes.push(Outcome::Accepted { metered: decoded.metered });
                }
                Err(rejection) => {
                    rejected.push(rejection.stored(message, now, None));
                    outcomes.push(Outcome::Rejected { reason: rejection.reason, detail: rejection.detail });
                }
            }
        }
        acknowledged(pending).await.map_err(|e| self.error(e))?;
        if !rejected.is_empty() {
            let keys = vec![None; rejected.len()];
            self.dead_letters.send(&rejected, &keys).await?;
            self.store.insert_rejected(&rejected).await.map_err(IngestError::Store)?;
        }
        Ok(outcomes)
    }

    fn error(&self, source: KafkaError) -> IngestError {
        IngestError::Kafka { context: self.topic.clone(), source }
    }
}
