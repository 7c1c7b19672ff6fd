//! The Kafka ingest worker: a consumer-group member that turns at-least-once delivery
//! into exactly-once billing.
//!
//! The order of a batch is what makes it safe: read messages; write dead letters and
//! wait for the broker's acknowledgement; write rejected and valid events to the store
//! and wait until they are durable; only then commit the offsets. A crash anywhere
//! before the commit re-reads the batch, and the store counts each `(source, id)` once.
//! When the store fails, the worker stops reading (it is inside the retry, not
//! polling), retries with capped exponential backoff, and goes on when the store is
//! back. On a rebalance the batch in hand is finished and committed before the
//! partitions are given away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use tally_store::{IncomingEvent, KafkaOrigin, RejectedEvent, UsageStore};
use tokio::runtime::Handle;

use crate::batch::Batch;
use crate::config::IngestConfig;
use crate::dead_letter::DeadLetters;
use crate::decode::Decoder;
use crate::error::IngestError;
use crate::metrics::IngestMetrics;

/// One ingest worker. [`Worker::run`] blocks; run it on a blocking thread.
pub struct Worker<S> {
    config: IngestConfig,
    decoder: Decoder,
    store: Arc<S>,
    metrics: IngestMetrics,
    runtime: Handle,
}

impl<S: UsageStore + 'static> Worker<S> {
    /// A worker writing to `store`; `runtime` drives the store's async calls.
    pub fn new(config: IngestConfig, decoder: Decoder, store: Arc<S>, metrics: IngestMetrics, runtime: Handle) -> Self {
        Worker { config, decoder, store, metrics, runtime }
    }

    /// Consumes until `stop` is set, then commits what is durable and leaves the group.
    pub fn run(self, stop: Arc<AtomicBool>) -> Result<(), IngestError> {
        let shared = Arc::new(Shared {
            store: self.store,
            dead_letters: DeadLetters::new(&self.config.brokers, &self.config.dead_letter_topic)?,
            metrics: self.metrics,
            runtime: self.runtime,
            stop: stop.clone(),
            retry: (self.config.retry_min, self.config.retry_max),
            batch: Mutex::new(Batch::default()),
        });
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &self.config.brokers)
            .set("group.id", &self.config.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "10")
            .set("queued.max.messages.kbytes", "16384")
            .set("session.timeout.ms", "45000")
            .set("max.poll.interval.ms", "600000");
        for (k, v) in &self.config.consumer_properties {
            client.set(k, v);
        }
        let consumer: BaseConsumer<WorkerContext<S>> = client
            .create_with_context(WorkerContext { shared: shared.clone() })
            .map_err(IngestError::kafka("creating the consumer"))?;
        let topics: Vec<&str> = self.config.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics).map_err(IngestError::kafka(format!("subscribing to {}", topics.join(", "))))?;
        tracing::info!(group = %self.config.group, topics = %topics.join(","), "ingest worker started");
        let limits = (self.config.batch_max_messages, self.config.batch_max_bytes, self.config.batch_max_wait);
        while !stop.load(Ordering::Relaxed) {
            match consumer.poll(Duration::from_millis(50)) {
                Some(Ok(message)) => {
                    let origin = KafkaOrigin {
                        topic: message.topic().to_owned(),
                        partition: message.partition(),
                        offset: message.offset(),
                    };
                    let payload = message.payload().unwrap_or_default();
                    let key = message.key().map(<[u8]>::to_vec);
                    shared.take(&self.decoder, origin, payload, key);
                }
                Some(Err(err)) => tracing::warn!(error = %err, "Kafka consumer error; librdkafka retries by itself"),
                None => {}
            }
            if shared.due(limits) {
                shared.flush(&consumer)?;
            }
        }
        shared.flush(&consumer)?;
        consumer.unsubscribe();
        tracing::info!("ingest worker stopped after committing what was durable");
        Ok(())
    }
}

/// What the poll loop and the rebalance callback share.
struct Shared<S> {
    store: Arc<S>,
    dead_letters: DeadLetters,
    metrics: IngestMetrics,
    runtime: Handle,
    stop: Arc<AtomicBool>,
    retry: (Duration, Duration),
    batch: Mutex<Batch>,
}

impl<S: UsageStore + 'static> Shared<S> {
    fn take(&self, decoder: &Decoder, origin: KafkaOrigin, payload: &[u8], key: Option<Vec<u8>>) {
        let mut batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
        batch.read(&origin.topic, origin.partition, origin.offset, payload.len());
        self.metrics.messages.inc();
        let now = Utc::now();
        match decoder.decode(payload, now) {
            Ok(decoded) => {
                if !decoded.metered {
                    self.metrics.unmetered.inc();
                }
                batch.events.push(IncomingEvent { event: decoded.event, origin: Some(origin) });
            }
            Err(rejection) => {
                self.metrics.rejected.with_label_values(&[rejection.reason.code()]).inc();
                tracing::debug!(reason = %rejection.reason, detail = %rejection.detail, "dead letter");
                let rejected = RejectedEvent {
                    received_at: now,
                    reason: rejection.reason.code().to_owned(),
                    detail: rejection.detail,
                    source: rejection.source,
                    id: rejection.id,
                    raw: payload.to_vec(),
                    origin: Some(origin),
                };
                batch.rejected.push(rejected);
                batch.rejected_keys.push(key);
            }
        }
    }

    fn due(&self, (max_messages, max_bytes, max_wait): (usize, usize, Duration)) -> bool {
        let batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
        !batch.is_empty()
            && (batch.messages >= max_messages
                || batch.bytes >= max_bytes
                || batch.started.is_some_and(|t| t.elapsed() >= max_wait))
    }

    /// Makes the batch durable (retrying until it is, or until asked to stop), then
    /// commits its offsets.
    fn flush(&self, consumer: &BaseConsumer<WorkerContext<S>>) -> Result<(), IngestError> {
        let mut batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
        if batch.is_empty() {
            return Ok(());
        }
        let flush_started = Instant::now();
        let mut wait = self.retry.0;
        let (mut letters_sent, mut rejected_stored) = (batch.rejected.is_empty(), batch.rejected.is_empty());
        loop {
            let attempt = self.runtime.block_on(async {
                if !letters_sent {
                    self.dead_letters.send(&batch.rejected, &batch.rejected_keys).await?;
                    letters_sent = true;
                }
                if !rejected_stored {
                    self.store.insert_rejected(&batch.rejected).await.map_err(IngestError::Store)?;
                    rejected_stored = true;
                }
                self.store.insert_events(&batch.events).await.map_err(IngestError::Store)
            });
            match attempt {
                Ok(()) => break,
                Err(err) => {
                    self.metrics.store_retries.inc();
                    if self.stop.load(Ordering::Relaxed) {
                        return Err(match err {
                            IngestError::Store(e) => IngestError::StoppedWhileStoreDown(e),
                            other => other,
                        });
                    }
                    tracing::warn!(error = %err, retry_in_ms = wait.as_millis() as u64, "batch not durable yet; retrying");
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(self.retry.1);
                }
            }
        }
        let durable = flush_started.elapsed();
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in &batch.next_offsets {
            if let Err(err) = offsets.add_partition_offset(topic, *partition, Offset::Offset(*next)) {
                tracing::error!(error = %err, topic, partition, "building the commit");
            }
        }
        if let Err(err) = consumer.commit(&offsets, CommitMode::Sync) {
            // The data is durable; an uncommitted offset only means it is read again
            // (and deduped) by whoever owns the partition next.
            self.metrics.commit_failures.inc();
            tracing::warn!(error = %err, "offset commit refused; the batch will be re-read and deduped");
        }
        tracing::debug!(
            messages = batch.messages,
            events = batch.events.len(),
            rejected = batch.rejected.len(),
            filled_ms = batch.started.map_or(0, |t| (t.elapsed() - flush_started.elapsed()).as_millis() as u64),
            durable_ms = durable.as_millis() as u64,
            committed_ms = flush_started.elapsed().as_millis() as u64,
            "batch committed"
        );
        self.metrics.events.inc_by(batch.events.len() as u64);
        self.metrics.batches.inc();
        if let Some(started) = batch.started {
            self.metrics.batch_seconds.observe(started.elapsed().as_secs_f64());
        }
        *batch = Batch::default();
        Ok(())
    }
}

/// Finishes and commits the batch in hand before partitions are revoked.
struct WorkerContext<S> {
    shared: Arc<Shared<S>>,
}

impl<S: UsageStore + 'static> ClientContext for WorkerContext<S> {}

impl<S: UsageStore + 'static> ConsumerContext for WorkerContext<S> {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            let started = Instant::now();
            match self.shared.flush(consumer) {
                Ok(()) => tracing::info!(
                    partitions = partitions.count(),
                    took_ms = started.elapsed().as_millis() as u64,
                    "revoked: batch in hand committed"
                ),
                Err(err) => tracing::warn!(error = %err, "revoked while the batch could not be made durable; it will be re-read"),
            }
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                let list: Vec<String> =
                    partitions.elements().iter().map(|e| format!("{}/{}", e.topic(), e.partition())).collect();
                tracing::info!(partitions = %list.join(","), "assigned");
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(err) => tracing::warn!(error = %err, "rebalance failed"),
        }
    }
}
