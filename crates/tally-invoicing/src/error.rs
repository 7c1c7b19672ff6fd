//! Why an invoice cannot be composed.

use thiserror::Error;

/// An invoice that cannot be composed; the subscription and what is wrong are named.
#[derive(Debug, Error)]
pub enum InvoiceError {
    /// The subscription no longer fits the catalog or its customer.
    #[error("subscription {subscription}: {source}")]
    Account {
        /// The subscription.
        subscription: String,
        /// What is wrong.
        source: tally_domain::AccountError,
    },
    /// Rating failed (an unknown plan, an overflow).
    #[error("subscription {subscription}: {source}")]
    Rating {
        /// The subscription.
        subscription: String,
        /// The rating engine's error.
        source: tally_rating::RatingError,
    },
    /// The usage given does not match the period's spans.
    #[error("subscription {subscription}: usage for {given} spans, the period has {spans}")]
    Spans {
        /// The subscription.
        subscription: String,
        /// Spans with usage given.
        given: usize,
        /// Spans of the period.
        spans: usize,
    },
}
