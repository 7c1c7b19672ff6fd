//! Store errors, naming the backend operation that failed.

use thiserror::Error;

/// A store operation that failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// ClickHouse refused or did not answer.
    #[error("ClickHouse: {context}: {source}")]
    ClickHouse {
        /// What the store was doing.
        context: String,
        /// The client's error.
        source: ::clickhouse::error::Error,
    },
    /// SQLite failed.
    #[error("embedded store: {context}: {source}")]
    Sqlite {
        /// What the store was doing.
        context: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A value read back is not what the store wrote (corruption or a schema mismatch).
    #[error("{context}: {message}")]
    Corrupt {
        /// What the store was reading.
        context: String,
        /// What was wrong.
        message: String,
    },
    /// An event holds a value no store can keep exactly (more than 12 decimals, or a
    /// magnitude of 7.9e16 or more); nothing of its batch was written.
    #[error("{context}: {message}")]
    Unstorable {
        /// The event and field, e.g. `event (src, 1) data.tokens`.
        context: String,
        /// What is wrong with the value.
        message: String,
    },
    /// The numbering pattern is not one (`invoicer.number_prefix`).
    #[error("invoice numbers (invoicer.number_prefix, invoicer.credit_note_prefix): {0}")]
    Numbering(String),
    /// The embedded store's worker thread is gone.
    #[error("embedded store: the database thread stopped: {0}")]
    Worker(String),
}

impl StoreError {
    pub(crate) fn clickhouse(context: impl Into<String>) -> impl FnOnce(::clickhouse::error::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::ClickHouse { context, source }
    }

    pub(crate) fn sqlite(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Sqlite { context, source }
    }
}
