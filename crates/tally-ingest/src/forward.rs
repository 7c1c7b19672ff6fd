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

use crate::client::{KafkaClient, Reporting};
use crate::dead_letter::DeadLetters;
use crate::decode::Decoder;
use crate::error::IngestError;
use crate::intake::{IntakeSummary, Outcome};
use crate::metrics::IngestMetrics;
use crate::produce::{acknowledged, enqueue};

/// Produces validated events to Kafka.
pub struct Forwarder<S> {
    decoder: Decoder,
    producer: FutureProducer<Reporting>,
    reporting: Reporting,
    topic: String,
    dead_letters: DeadLetters,
    store: std::sync::Arc<S>,
    metrics: IngestMetrics,
}

impl<S: UsageStore> Forwarder<S> {
    /// A producer to `topic` (and `dead_letter_topic`) on `brokers`; rejected events are
    /// also kept in `store`.
    pub fn new(
        client: &KafkaClient,
        topic: &str,
        dead_letter_topic: &str,
        decoder: Decoder,
        store: std::sync::Arc<S>,
        metrics: IngestMetrics,
    ) -> Result<Self, IngestError> {
        let reporting = Reporting::default();
        let producer = client
            .config()
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000")
            .create_with_context(reporting.clone())
            .map_err(IngestError::kafka("creating the events producer"))?;
        let dead_letters = DeadLetters::new(client, dead_letter_topic)?;
        Ok(Forwarder { decoder, producer, reporting, topic: topic.to_owned(), dead_letters, store, metrics })
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
                    // The workers never see these (they go to the dead letters from
                    // here), so they are counted here: as a worker counts what it refuses.
                    self.metrics.messages.inc();
                    self.metrics.rejected.with_label_values(&[rejection.reason.code()]).inc();
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

    /// Reads NDJSON until the end (or `stop`), one event per line, and produces it as
    /// [`write`](Self::write) does, in chunks of `chunk` lines: a file or stdin loaded
    /// into the Kafka pipeline meets the same validation as an event over HTTP, and a
    /// worker stores it exactly once. Returns once the broker has everything read.
    pub async fn read_ndjson<R: tokio::io::AsyncBufRead + Unpin>(
        &self,
        mut reader: R,
        chunk: usize,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<IntakeSummary, IngestError> {
        use tokio::io::AsyncBufReadExt;
        let mut summary = IntakeSummary { complete: true, ..IntakeSummary::default() };
        let mut lines: Vec<Vec<u8>> = Vec::with_capacity(chunk);
        loop {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                summary.complete = false;
                break;
            }
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line).await.map_err(IngestError::Read)? == 0 {
                break;
            }
            let Some(message) = crate::ndjson::message(&line) else { continue };
            let len = message.len();
            line.truncate(len);
            lines.push(line);
            if lines.len() >= chunk.max(1) {
                self.tally(&mut summary, &std::mem::take(&mut lines)).await?;
            }
        }
        self.tally(&mut summary, &lines).await?;
        Ok(summary)
    }

    async fn tally(&self, summary: &mut IntakeSummary, lines: &[Vec<u8>]) -> Result<(), IngestError> {
        for outcome in self.write(lines.iter().map(Vec::as_slice)).await? {
            summary.messages += 1;
            match outcome {
                Outcome::Accepted { .. } => summary.accepted += 1,
                Outcome::Rejected { .. } => summary.rejected += 1,
            }
        }
        Ok(())
    }

    fn error(&self, source: KafkaError) -> IngestError {
        IngestError::Kafka { context: self.reporting.explain(&self.topic), source }
    }
}
