//! What can stop an ingest worker.

use thiserror::Error;

/// An error that ends a worker (bad events never do: they become dead letters).
#[derive(Debug, Error)]
pub enum IngestError {
    /// The Kafka client could not be created or subscribed.
    #[error("Kafka ({context}): {source}")]
    Kafka {
        /// What was being done.
        context: String,
        /// The client's error.
        source: rdkafka::error::KafkaError,
    },
    /// Asked to stop while the store was unreachable: the batch in hand was not
    /// committed, so it will be read again; nothing is lost.
    #[error("stopped while the store was unavailable; the uncommitted batch will be re-read: {0}")]
    StoppedWhileStoreDown(tally_store::StoreError),
    /// The store refused a write (the worker retries it; a replay stops).
    #[error("writing to the store: {0}")]
    Store(tally_store::StoreError),
    /// One attempt to make a batch durable took too long; it is abandoned and retried.
    #[error("no answer from the store or the broker within {0:?}")]
    Timeout(std::time::Duration),
    /// A batch's write task ended without an answer (it panicked): nothing of it was
    /// committed, so it will be read again.
    #[error("a batch write task failed: {0}")]
    Task(String),
    /// An input (file, stdin) could not be read.
    #[error("reading events: {0}")]
    Read(std::io::Error),
    /// A dead letter could not be written; its offset was not committed.
    #[error("writing a dead letter to {topic}: {source}")]
    DeadLetter {
        /// The dead-letter topic.
        topic: String,
        /// The producer's error.
        source: rdkafka::error::KafkaError,
    },
}

impl IngestError {
    pub(crate) fn kafka(context: impl Into<String>) -> impl FnOnce(rdkafka::error::KafkaError) -> IngestError {
        let context = context.into();
        move |source| IngestError::Kafka { context, source }
    }
}
