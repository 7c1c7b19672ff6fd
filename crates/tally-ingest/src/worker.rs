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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use tally_store::{EventBatch, KafkaOrigin, UsageStore};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::batch::Batch;
use crate::config::IngestConfig;
use crate::dead_letter::DeadLetters;
use crate::decode::Decoder;
use crate::ends::Ends;
use crate::error::IngestError;
use crate::metrics::IngestMetrics;
use crate::writer::Writer;

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
        let first_batch = Batch::new(self.store.batch());
        let shared = Arc::new(Shared {
            writer: Writer {
                store: self.store,
                dead_letters: Some(Arc::new(DeadLetters::new(&self.config.client, &self.config.dead_letter_topic)?)),
                metrics: self.metrics,
                stop: stop.clone(),
                retry: (self.config.retry_min, self.config.retry_max),
                attempt_timeout: self.config.attempt_timeout,
            },
            runtime: self.runtime,
            batch: Mutex::new(first_batch),
            in_flight: Mutex::new(None),
            ends: Mutex::new(None),
        });
        let client = consumer_config(&self.config);
        let consumer: BaseConsumer<WorkerContext<S>> = client
            .create_with_context(WorkerContext { shared: shared.clone() })
            .map_err(IngestError::kafka("creating the consumer"))?;
        let topics: Vec<&str> = self.config.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics).map_err(IngestError::kafka(format!("subscribing to {}", topics.join(", "))))?;
        if self.config.stop_at_end {
            let ends = Ends::at_start(&consumer, &self.config.topics)?;
            *lock(&shared.ends) = Some(ends);
        }
        tracing::info!(group = %self.config.group, topics = %topics.join(","), "ingest worker started");
        let limits = (self.config.batch_max_messages, self.config.batch_max_bytes, self.config.batch_max_wait);
        let mut first_message = None;
        // One shared name per topic read, not a copy per message.
        let mut topic_names: Vec<Arc<str>> = Vec::new();
        while !stop.load(Ordering::Relaxed) && !shared.at_end() {
            match consumer.poll(Duration::from_millis(50)) {
                Some(Ok(message)) => {
                    first_message.get_or_insert_with(Instant::now);
                    let topic = match topic_names.iter().find(|t| ***t == *message.topic()) {
                        Some(t) => t.clone(),
                        None => {
                            topic_names.push(message.topic().into());
                            topic_names[topic_names.len() - 1].clone()
                        }
                    };
                    let origin = KafkaOrigin { topic, partition: message.partition(), offset: message.offset() };
                    let payload = message.payload().unwrap_or_default();
                    let key = message.key();
                    let now = self.config.as_of.unwrap_or_else(Utc::now);
                    shared.take(&self.decoder, origin, payload, key, now);
                }
                Some(Err(err)) => tracing::warn!(error = %err, "Kafka consumer error; librdkafka retries by itself"),
                None => {}
            }
            if shared.due(limits) {
                shared.hand_over(&consumer)?;
            } else if shared.written() {
                shared.settle(&consumer)?;
            }
        }
        shared.flush(&consumer)?;
        consumer.unsubscribe();
        let m = &shared.writer.metrics;
        tracing::info!(
            messages = m.messages.get(),
            events = m.events.get(),
            rejected = m.rejected_total(),
            seconds_from_first_message = first_message.map_or(0.0, |t| t.elapsed().as_secs_f64()),
            "ingest worker stopped after committing what was durable"
        );
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the poll loop and the rebalance callback share (both run on the poll thread).
struct Shared<S: UsageStore> {
    writer: Writer<S>,
    runtime: Handle,
    /// The batch being read.
    batch: Mutex<Batch<S::Batch>>,
    /// The batch being written, at most one: the poll thread reads the next meanwhile.
    in_flight: Mutex<Option<InFlight<S::Batch>>>,
    /// With `stop_at_end`: the partitions not yet committed up to their end.
    ends: Mutex<Option<Ends>>,
}

/// A batch handed to a write task.
struct InFlight<B> {
    task: JoinHandle<(Batch<B>, Result<(), IngestError>)>,
    handed_over: Instant,
    /// The batch's offsets, to know whether the two batches together reach the ends.
    next_offsets: BTreeMap<(String, i32), i64>,
}

impl<S: UsageStore + 'static> Shared<S> {
    fn at_end(&self) -> bool {
        lock(&self.ends).as_ref().is_some_and(Ends::reached) && lock(&self.in_flight).is_none()
    }

    fn take(&self, decoder: &Decoder, origin: KafkaOrigin, payload: &[u8], key: Option<&[u8]>, now: DateTime<Utc>) {
        let metrics = &self.writer.metrics;
        let mut batch = lock(&self.batch);
        batch.read(&origin.topic, origin.partition, origin.offset, payload.len());
        metrics.messages.inc();
        match batch.take(decoder.decode(payload, now), payload, key, now, Some(origin)) {
            Ok(true) => {}
            Ok(false) => metrics.unmetered.inc(),
            Err(rejection) => {
                metrics.rejected.with_label_values(&[rejection.reason.code()]).inc();
                tracing::debug!(reason = %rejection.reason, detail = %rejection.detail, "dead letter");
            }
        }
    }

    /// Whether the batch being read should be written now: full, old enough, or (with
    /// `stop_at_end`) holding the last message of every partition still to finish.
    fn due(&self, (max_messages, max_bytes, max_wait): (usize, usize, Duration)) -> bool {
        let batch = lock(&self.batch);
        !batch.is_empty()
            && (batch.messages >= max_messages
                || batch.bytes >= max_bytes
                || batch.started.is_some_and(|t| t.elapsed() >= max_wait)
                || lock(&self.ends).as_ref().is_some_and(|ends| {
                    let in_flight = lock(&self.in_flight);
                    ends.reached_by(&batch.next_offsets, in_flight.as_ref().map(|f| &f.next_offsets))
                }))
    }

    /// Whether the batch in flight has been written (successfully or not).
    fn written(&self) -> bool {
        lock(&self.in_flight).as_ref().is_some_and(|f| f.task.is_finished())
    }

    /// Commits the batch in flight once it is written, then starts writing the batch read.
    fn hand_over(&self, consumer: &BaseConsumer<WorkerContext<S>>) -> Result<(), IngestError> {
        self.settle(consumer)?;
        let batch = std::mem::replace(&mut *lock(&self.batch), Batch::new(self.writer.store.batch()));
        if batch.is_empty() {
            return Ok(());
        }
        let writer = self.writer.clone();
        let next_offsets = batch.next_offsets.clone();
        let task = self.runtime.spawn(async move {
            let result = writer.write(&batch).await;
            (batch, result)
        });
        *lock(&self.in_flight) = Some(InFlight { task, handed_over: Instant::now(), next_offsets });
        Ok(())
    }

    /// Writes everything read and commits it: before a rebalance and on stop.
    fn flush(&self, consumer: &BaseConsumer<WorkerContext<S>>) -> Result<(), IngestError> {
        self.hand_over(consumer)?;
        self.settle(consumer)
    }

    /// Waits for the batch in flight to be durable, then commits its offsets.
    fn settle(&self, consumer: &BaseConsumer<WorkerContext<S>>) -> Result<(), IngestError> {
        let Some(in_flight) = lock(&self.in_flight).take() else {
            return Ok(());
        };
        let waiting = Instant::now();
        let (batch, written) = self.runtime.block_on(in_flight.task).map_err(|e| IngestError::Task(e.to_string()))?;
        written?;
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in &batch.next_offsets {
            if let Err(err) = offsets.add_partition_offset(topic, *partition, Offset::Offset(*next)) {
                tracing::error!(error = %err, topic, partition, "building the commit");
            }
        }
        let metrics = &self.writer.metrics;
        match consumer.commit(&offsets, CommitMode::Sync) {
            Ok(()) => {
                metrics.offsets_committed.inc_by(batch.next_offsets.len() as u64);
                if let Some(ends) = lock(&self.ends).as_mut() {
                    for ((topic, partition), next) in &batch.next_offsets {
                        ends.committed(topic, *partition, *next);
                    }
                }
            }
            Err(err) => {
                // The data is durable; an uncommitted offset only means it is read again
                // (and deduped) by whoever owns the partition next.
                metrics.commit_failures.inc();
                tracing::warn!(error = %err, "offset commit refused; the batch will be re-read and deduped");
            }
        }
        tracing::debug!(
            messages = batch.messages,
            events = batch.events.len(),
            rejected = batch.rejected.len(),
            read_ms = batch.started.map_or(0, |t| (in_flight.handed_over - t).as_millis() as u64),
            written_ms = in_flight.handed_over.elapsed().as_millis() as u64,
            waited_ms = waiting.elapsed().as_millis() as u64,
            "batch committed"
        );
        metrics.events.inc_by(batch.events.len() as u64);
        metrics.batches.inc();
        if let Some(started) = batch.started {
            metrics.batch_seconds.observe(started.elapsed().as_secs_f64());
        }
        Ok(())
    }
}

/// Finishes and commits the batch in hand before partitions are revoked.
struct WorkerContext<S: UsageStore> {
    shared: Arc<Shared<S>>,
}

impl<S: UsageStore + 'static> ClientContext for WorkerContext<S> {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        crate::client::log(level, fac, message);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "kafka consumer error");
    }

    /// librdkafka's statistics (every `statistics.interval.ms`): the lag per partition.
    fn stats(&self, statistics: Statistics) {
        let lag = &self.shared.writer.metrics.consumer_lag;
        for (name, topic) in &statistics.topics {
            for (id, partition) in &topic.partitions {
                // -1 is librdkafka's internal "unassigned" partition; a lag of -1 is unknown.
                if *id >= 0 && partition.consumer_lag >= 0 {
                    lag.with_label_values(&[name.as_str(), &id.to_string()]).set(partition.consumer_lag);
                }
            }
        }
    }
}

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
                Err(err) => {
                    tracing::warn!(error = %err, "revoked while the batch could not be made durable; it will be re-read")
                }
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

/// Properties the worker tunes; a value in the settings (`ingest.kafka.properties`)
/// wins over each.
const TUNED: &[(&str, &str)] = &[
    ("auto.offset.reset", "earliest"),
    // Answer a fetch after 10 ms even when little is new (the default 500 ms caps a
    // consumer at a few fetches a second on a quiet partition)...
    ("fetch.wait.max.ms", "10"),
    // ...hold at most 8 MiB of prefetched messages (the memory bound; enough to cover a
    // batch write at the broker's pace here)...
    ("queued.max.messages.kbytes", "8192"),
    // ...and fetch again 10 ms after that queue was full, not the default 1 s: the queue
    // fills while a batch is written, and a 1 s pause stalled the worker for half a batch
    // window (measured: 5.0 s -> 4.4 s for 510k messages).
    ("fetch.queue.backoff.ms", "10"),
    ("session.timeout.ms", "45000"),
    // Statistics carry the consumer lag per partition (tally_ingest_consumer_lag_messages).
    ("statistics.interval.ms", "5000"),
    ("max.poll.interval.ms", "600000"),
];

/// The consumer's configuration: the client's servers and properties, the tuned
/// properties the settings do not set, and what exactly-once needs, which no setting
/// may change (offsets are stored and committed by the worker, after durability).
fn consumer_config(config: &IngestConfig) -> ClientConfig {
    let mut client = config.client.config();
    for (key, value) in TUNED {
        if !config.client.properties.contains_key(*key) {
            client.set(*key, *value);
        }
    }
    client.set("group.id", &config.group).set("enable.auto.commit", "false").set("enable.auto.offset.store", "false");
    for (k, v) in &config.consumer_properties {
        client.set(k, v);
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::KafkaClient;

    /// A tuning property in the settings wins over the worker's; what exactly-once
    /// needs does not move.
    #[test]
    fn settings_tune_the_consumer_but_cannot_turn_on_auto_commit() {
        let mut config = IngestConfig::new(KafkaClient::new("127.0.0.1:9"), "g", vec!["usage".into()], "dlq");
        config.client.properties.insert("queued.max.messages.kbytes".into(), "4096".into());
        config.client.properties.insert("enable.auto.commit".into(), "true".into());
        config.client.properties.insert("security.protocol".into(), "SSL".into());
        let client = consumer_config(&config);
        assert_eq!(client.get("queued.max.messages.kbytes"), Some("4096"));
        assert_eq!(client.get("fetch.wait.max.ms"), Some("10"), "tuned where the settings are silent");
        assert_eq!(client.get("security.protocol"), Some("SSL"));
        assert_eq!(client.get("enable.auto.commit"), Some("false"));
        assert_eq!(client.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(client.get("group.id"), Some(config.group.as_str()));
    }
}
