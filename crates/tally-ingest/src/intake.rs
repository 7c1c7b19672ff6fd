//! Ingest without Kafka: NDJSON files, stdin and HTTP bodies, through the same decoder,
//! the same durable batch write (with retries) and the same store dedupe as the Kafka
//! worker. Dead letters go to the store's `rejected_events` only (there is no topic).
//!
//! A call returns once everything it was given is durable: a file is finished, a
//! request can be answered. Reading and decoding the next batch overlaps the write of
//! the previous one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tally_store::{EventBatch, UsageStore};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::task::JoinHandle;

use crate::batch::Batch;
use crate::decode::{Decoder, Reason};
use crate::error::IngestError;
use crate::metrics::IngestMetrics;
use crate::writer::Writer;

/// How an intake batches and retries.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Events per store write at most.
    pub batch_max_events: usize,
    /// First and longest wait between retries of a failed write.
    pub retry: (Duration, Duration),
    /// Longest one write attempt may take.
    pub attempt_timeout: Duration,
    /// `Some`: the clock events are judged and stamped by (a replayed or demo month);
    /// `None`: the system clock.
    pub now: Option<DateTime<Utc>>,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            batch_max_events: 20_000,
            retry: (Duration::from_millis(100), Duration::from_secs(10)),
            attempt_timeout: Duration::from_secs(60),
            now: None,
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Valid and durable (a duplicate of a stored event counts once).
    Accepted {
        /// False when no meter reads the event's type.
        metered: bool,
    },
    /// Refused and kept in `rejected_events`.
    Rejected {
        /// The reason code.
        reason: Reason,
        /// What was wrong, naming the field.
        detail: String,
    },
}

/// Totals of one [`Intake::read_ndjson`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IntakeSummary {
    /// Lines read (blank lines skipped).
    pub messages: u64,
    /// Valid events written.
    pub accepted: u64,
    /// Rejected events stored as such.
    pub rejected: u64,
    /// False when a stop was asked for before the end of the input.
    pub complete: bool,
}

/// Messages [`Intake::decode`]d and not yet written, in the store's form.
pub struct Decoded<B>(Batch<B>);

impl<B: EventBatch> std::fmt::Debug for Decoded<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("events", &self.0.events.len())
            .field("rejected", &self.0.rejected.len())
            .finish()
    }
}

/// Decodes messages and writes them durably to a store.
pub struct Intake<S> {
    decoder: Decoder,
    writer: Writer<S>,
    config: IntakeConfig,
}

impl<S: UsageStore + 'static> Intake<S> {
    /// An intake writing to `store`; `stop` makes a write give up when the store is down.
    pub fn new(
        decoder: Decoder,
        store: Arc<S>,
        metrics: IngestMetrics,
        config: IntakeConfig,
        stop: Arc<AtomicBool>,
    ) -> Self {
        let writer = Writer {
            store,
            dead_letters: None,
            metrics,
            stop,
            retry: config.retry,
            attempt_timeout: config.attempt_timeout,
        };
        Intake { decoder, writer, config }
    }

    /// The metrics the intake counts in.
    pub fn metrics(&self) -> &IngestMetrics {
        &self.writer.metrics
    }

    /// Decodes `messages` and makes them durable; one outcome per message, in order.
    pub async fn write<'a>(&self, messages: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<Outcome>, IngestError> {
        let (decoded, outcomes) = self.decode(messages);
        self.commit(decoded).await?;
        Ok(outcomes)
    }

    /// The first half of [`write`](Self::write): `messages` decoded, nothing written
    /// yet. With [`commit`](Self::commit), a caller decodes the next batch while the
    /// store writes this one.
    pub fn decode<'a>(&self, messages: impl IntoIterator<Item = &'a [u8]>) -> (Decoded<S::Batch>, Vec<Outcome>) {
        let mut batch = Batch::new(self.writer.store.batch());
        let outcomes = messages.into_iter().map(|m| self.take(&mut batch, m)).collect();
        (Decoded(batch), outcomes)
    }

    /// The second half of [`write`](Self::write): makes `decoded` durable. The future
    /// owns what it needs, so it can be spawned.
    pub fn commit(
        &self,
        decoded: Decoded<S::Batch>,
    ) -> impl std::future::Future<Output = Result<(), IngestError>> + Send + 'static {
        self.writer.clone().finish(decoded.0)
    }

    /// Reads NDJSON until the end (or the stop flag), one event per line, writing in
    /// batches; returns once all it read is durable. `progress` is called with the bytes read after each batch.
    pub async fn read_ndjson<R: AsyncBufRead + Unpin>(
        &self,
        mut reader: R,
        mut progress: impl FnMut(u64),
    ) -> Result<IntakeSummary, IngestError> {
        let mut summary = IntakeSummary { complete: true, ..IntakeSummary::default() };
        let mut batch = Batch::new(self.writer.store.batch());
        let mut in_flight: Option<JoinHandle<Result<(), IngestError>>> = None;
        let mut line = Vec::with_capacity(1024);
        let mut bytes = 0u64;
        loop {
            if self.writer.stop.load(Ordering::Relaxed) {
                summary.complete = false;
                break;
            }
            line.clear();
            let read = reader.read_until(b'\n', &mut line).await.map_err(IngestError::Read)?;
            if read == 0 {
                break;
            }
            bytes += read as u64;
            let Some(message) = crate::ndjson::message(&line) else { continue };
            summary.messages += 1;
            match self.take(&mut batch, message) {
                Outcome::Accepted { .. } => summary.accepted += 1,
                Outcome::Rejected { .. } => summary.rejected += 1,
            }
            if batch.events.len() + batch.rejected.len() >= self.config.batch_max_events {
                if let Some(previous) = in_flight.take() {
                    previous.await.map_err(|e| IngestError::Task(e.to_string()))??;
                    progress(bytes);
                }
                let writer = self.writer.clone();
                let full = std::mem::replace(&mut batch, Batch::new(self.writer.store.batch()));
                in_flight = Some(tokio::spawn(async move { writer.finish(full).await }));
            }
        }
        if let Some(previous) = in_flight.take() {
            previous.await.map_err(|e| IngestError::Task(e.to_string()))??;
        }
        self.finish(batch).await?;
        progress(bytes);
        Ok(summary)
    }

    fn take(&self, batch: &mut Batch<S::Batch>, message: &[u8]) -> Outcome {
        let metrics = &self.writer.metrics;
        metrics.messages.inc();
        batch.started.get_or_insert_with(std::time::Instant::now);
        batch.messages += 1;
        let now = self.config.now.unwrap_or_else(Utc::now);
        match batch.take(self.decoder.decode(message, now), message, None, now, None) {
            Ok(metered) => {
                if !metered {
                    metrics.unmetered.inc();
                }
                Outcome::Accepted { metered }
            }
            Err(rejection) => {
                metrics.rejected.with_label_values(&[rejection.reason.code()]).inc();
                Outcome::Rejected { reason: rejection.reason, detail: rejection.detail }
            }
        }
    }

    async fn finish(&self, batch: Batch<S::Batch>) -> Result<(), IngestError> {
        self.writer.clone().finish(batch).await
    }
}

impl<S: UsageStore + 'static> Writer<S> {
    /// Writes a batch until durable and counts it.
    async fn finish(self, batch: Batch<S::Batch>) -> Result<(), IngestError> {
        if batch.is_empty() {
            return Ok(());
        }
        let metrics = self.metrics.clone();
        self.write(&batch).await?;
        metrics.events.inc_by(batch.events.len() as u64);
        metrics.batches.inc();
        if let Some(started) = batch.started {
            metrics.batch_seconds.observe(started.elapsed().as_secs_f64());
        }
        Ok(())
    }
}
