//! The ingest worker's Prometheus metrics: what came in and what became of it, how
//! batches and store writes behave, and how far behind the topic the worker is.
//! Labels are bounded: reasons, topics and partitions, never customers or event ids.

use prometheus::{Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::decode::Reason;

/// Counters and timings of one worker, registered in a registry the process serves.
#[derive(Debug, Clone)]
pub struct IngestMetrics {
    /// Messages read (Kafka, files, HTTP).
    pub messages: IntCounter,
    /// Valid events written to the store (duplicates included; the store counts them once).
    pub events: IntCounter,
    /// Valid events whose type no meter reads yet (kept).
    pub unmetered: IntCounter,
    /// Valid events already stored (re-deliveries), as far as the store knows at write time.
    pub duplicates: IntCounter,
    /// Dead-lettered events, by reason code.
    pub rejected: IntCounterVec,
    /// Batches made durable and committed.
    pub batches: IntCounter,
    /// Store writes that failed and were retried.
    pub store_retries: IntCounter,
    /// Offset commits the broker refused (the data was durable; it will be re-read and deduped).
    pub commit_failures: IntCounter,
    /// Seconds from a batch's first message to its commit.
    pub batch_seconds: Histogram,
    /// Events per batch written to the store.
    pub batch_events: Histogram,
    /// Seconds one store write attempt took (events and rejected rows of one batch).
    pub store_write_seconds: Histogram,
    /// The wait before the next store write attempt; 0 while writes succeed.
    pub backoff_seconds: Gauge,
    /// Partition offsets committed to Kafka after their batch was durable.
    pub offsets_committed: IntCounter,
    /// Messages in a partition not yet committed by this worker (librdkafka's view,
    /// refreshed with its statistics).
    pub consumer_lag: IntGaugeVec,
}

impl IngestMetrics {
    /// Creates the metrics and registers them.
    pub fn register(registry: &Registry) -> prometheus::Result<IngestMetrics> {
        let counter = |name: &str, help: &str| IntCounter::with_opts(Opts::new(name, help));
        let m = IngestMetrics {
            messages: counter("tally_ingest_messages_total", "Messages read (Kafka, files, HTTP).")?,
            events: counter("tally_ingest_events_total", "Valid events written to the store.")?,
            unmetered: counter("tally_ingest_unmetered_events_total", "Valid events no meter reads yet (kept).")?,
            duplicates: counter(
                "tally_ingest_duplicate_events_total",
                "Valid events already stored, counted once (the embedded store counts them on write; ClickHouse drops them on read and leaves this at 0).",
            )?,
            rejected: IntCounterVec::new(
                Opts::new("tally_ingest_rejected_events_total", "Events sent to the dead letters, by reason."),
                &["reason"],
            )?,
            batches: counter("tally_ingest_batches_total", "Batches made durable and committed.")?,
            store_retries: counter("tally_ingest_store_retries_total", "Failed store writes, retried.")?,
            commit_failures: counter("tally_ingest_commit_failures_total", "Offset commits refused by the broker.")?,
            batch_seconds: Histogram::with_opts(
                HistogramOpts::new("tally_ingest_batch_seconds", "From a batch's first message to its commit.")
                    .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            )?,
            batch_events: Histogram::with_opts(
                HistogramOpts::new("tally_ingest_batch_events", "Events per batch written to the store.")
                    .buckets(vec![1.0, 10.0, 100.0, 1000.0, 5000.0, 10000.0, 50000.0, 100000.0]),
            )?,
            store_write_seconds: Histogram::with_opts(
                HistogramOpts::new("tally_ingest_store_write_seconds", "One store write attempt of a batch.")
                    .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            )?,
            backoff_seconds: Gauge::with_opts(Opts::new(
                "tally_ingest_backoff_seconds",
                "Wait before the next store write attempt; 0 while writes succeed.",
            ))?,
            offsets_committed: counter(
                "tally_ingest_offsets_committed_total",
                "Partition offsets committed after their batch was durable.",
            )?,
            consumer_lag: IntGaugeVec::new(
                Opts::new("tally_ingest_consumer_lag_messages", "Messages of a partition not yet committed."),
                &["topic", "partition"],
            )?,
        };
        for reason in Reason::ALL {
            m.rejected.with_label_values(&[reason.code()]).reset();
        }
        registry.register(Box::new(m.messages.clone()))?;
        registry.register(Box::new(m.events.clone()))?;
        registry.register(Box::new(m.unmetered.clone()))?;
        registry.register(Box::new(m.duplicates.clone()))?;
        registry.register(Box::new(m.rejected.clone()))?;
        registry.register(Box::new(m.batches.clone()))?;
        registry.register(Box::new(m.store_retries.clone()))?;
        registry.register(Box::new(m.commit_failures.clone()))?;
        registry.register(Box::new(m.batch_seconds.clone()))?;
        registry.register(Box::new(m.batch_events.clone()))?;
        registry.register(Box::new(m.store_write_seconds.clone()))?;
        registry.register(Box::new(m.backoff_seconds.clone()))?;
        registry.register(Box::new(m.offsets_committed.clone()))?;
        registry.register(Box::new(m.consumer_lag.clone()))?;
        Ok(m)
    }

    /// Dead-lettered events of every reason.
    pub fn rejected_total(&self) -> u64 {
        Reason::ALL.iter().map(|r| self.rejected.with_label_values(&[r.code()]).get()).sum()
    }
}
