//! Making one batch durable: dead letters acknowledged by the broker, then rejected
//! rows, then events in the store, retried with capped exponential backoff until they
//! are all written or the worker is asked to stop.
//!
//! It runs as a task on the runtime so that the poll thread decodes the next batch
//! meanwhile; the poll thread commits a batch's offsets only after its task returned
//! success, and batches are committed in the order they were read.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tally_store::{EventBatch, UsageStore};

use crate::batch::Batch;
use crate::dead_letter::DeadLetters;
use crate::error::IngestError;
use crate::metrics::IngestMetrics;

/// What a write task needs; cheap to clone into each task.
pub(crate) struct Writer<S> {
    pub store: Arc<S>,
    /// The dead-letter topic; `None` without Kafka (dead letters are in the store only).
    pub dead_letters: Option<Arc<DeadLetters>>,
    pub metrics: IngestMetrics,
    pub stop: Arc<AtomicBool>,
    /// First and longest wait between retries.
    pub retry: (Duration, Duration),
    /// Longest one attempt may take.
    pub attempt_timeout: Duration,
}

impl<S> Clone for Writer<S> {
    fn clone(&self) -> Self {
        Writer {
            store: self.store.clone(),
            dead_letters: self.dead_letters.clone(),
            metrics: self.metrics.clone(),
            stop: self.stop.clone(),
            retry: self.retry,
            attempt_timeout: self.attempt_timeout,
        }
    }
}

impl<S: UsageStore + 'static> Writer<S> {
    /// Writes `batch` until it is durable; gives up only when asked to stop.
    pub async fn write(self, batch: &Batch<S::Batch>) -> Result<(), IngestError> {
        let mut wait = self.retry.0;
        let (mut letters_sent, mut rejected_stored) = (batch.rejected.is_empty(), batch.rejected.is_empty());
        loop {
            let attempt = async {
                if !letters_sent {
                    if let Some(dead_letters) = &self.dead_letters {
                        dead_letters.send(&batch.rejected, &batch.rejected_keys).await?;
                    }
                    letters_sent = true;
                }
                if !rejected_stored {
                    self.store.insert_rejected(&batch.rejected).await.map_err(IngestError::Store)?;
                    rejected_stored = true;
                }
                self.store.insert_batch(&batch.events).await.map_err(IngestError::Store)
            };
            let attempt = tokio::time::timeout(self.attempt_timeout, attempt);
            let timer = self.metrics.store_write_seconds.start_timer();
            let result = attempt.await.unwrap_or(Err(IngestError::Timeout(self.attempt_timeout)));
            timer.observe_duration();
            match result {
                Ok(duplicates) => {
                    self.metrics.duplicates.inc_by(duplicates.unwrap_or(0));
                    self.metrics.backoff_seconds.set(0.0);
                    self.metrics.batch_events.observe(batch.events.len() as f64);
                    return Ok(());
                }
                Err(err) => {
                    self.metrics.store_retries.inc();
                    if self.stop.load(Ordering::Relaxed) {
                        return Err(match err {
                            IngestError::Store(e) => IngestError::StoppedWhileStoreDown(e),
                            other => other,
                        });
                    }
                    tracing::warn!(error = %err, retry_in_ms = wait.as_millis() as u64, "batch not durable yet; retrying");
                    self.metrics.backoff_seconds.set(wait.as_secs_f64());
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(self.retry.1);
                }
            }
        }
    }
}
