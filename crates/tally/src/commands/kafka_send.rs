//! Writing messages to Kafka for `tally produce` and `tally demo`: an idempotent
//! producer that waits when its queue is full and counts failed deliveries, and topic
//! creation for a first run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use tally_ingest::{KafkaClient, Reporting};

/// A producer of many messages; [`Sender::finish`] waits for every acknowledgement.
pub struct Sender {
    producer: ThreadedProducer<Deliveries>,
}

/// Counts deliveries that failed after librdkafka's own retries.
#[derive(Default)]
struct Deliveries {
    failed: AtomicU64,
    reporting: Reporting,
}

impl ClientContext for Deliveries {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        self.reporting.log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.reporting.error(error, reason);
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((err, _)) = result {
            if self.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::error!(error = %err, "delivery failed");
            }
        }
    }
}

impl Sender {
    /// Connects to `brokers`.
    pub fn new(client: &KafkaClient) -> anyhow::Result<Sender> {
        let brokers = &client.brokers;
        let producer = client
            .config()
            .set("linger.ms", "20")
            .set("batch.num.messages", "10000")
            .set("queue.buffering.max.messages", "500000")
            .set("enable.idempotence", "true")
            .create_with_context(Deliveries::default())
            .with_context(|| format!("connecting to Kafka at {brokers}"))?;
        Ok(Sender { producer })
    }

    /// Queues one message, waiting while the local queue is full.
    pub fn send(&self, topic: &str, key: &[u8], payload: &[u8]) -> anyhow::Result<()> {
        let mut record = BaseRecord::to(topic).key(key).payload(payload);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((err, _)) => return Err(err).with_context(|| format!("producing to {topic}")),
            }
        }
    }

    /// Waits until the broker acknowledged every message; fails if any was lost.
    pub fn finish(self) -> anyhow::Result<()> {
        let reporting = &self.producer.context().reporting;
        self.producer
            .flush(Duration::from_secs(60))
            .with_context(|| reporting.explain("waiting for the broker to acknowledge every message"))?;
        let failed = self.producer.context().failed.load(Ordering::Relaxed);
        anyhow::ensure!(failed == 0, "{failed} messages were not delivered");
        Ok(())
    }
}

/// Creates `topics` with `partitions` partitions where they do not exist yet.
pub async fn ensure_topics(client: &KafkaClient, topics: &[&str], partitions: i32) -> anyhow::Result<()> {
    let reporting = Reporting::default();
    let admin: AdminClient<Reporting> = client
        .config()
        .create_with_context(reporting.clone())
        .with_context(|| format!("connecting to Kafka at {}", client.brokers))?;
    let new: Vec<NewTopic<'_>> =
        topics.iter().map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1))).collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let created = admin.create_topics(&new, &options).await.with_context(|| reporting.explain("creating topics"))?;
    for result in created {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => anyhow::bail!("creating topic {topic}: {code}"),
        }
    }
    Ok(())
}
