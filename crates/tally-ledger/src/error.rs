//! Why a billing act is refused, naming what is wrong.

use thiserror::Error;

/// A billing act the ledger refuses; nothing is appended.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LedgerError {
    /// An amount is not positive or not held to the currency's minor unit.
    #[error("amount: {amount} {currency} {why}")]
    Amount {
        /// The amount as given.
        amount: String,
        /// The currency.
        currency: String,
        /// What is wrong.
        why: String,
    },
    /// A date in the future, or before the document it concerns.
    #[error("{field}: {why}")]
    Date {
        /// The field.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A field that is not well formed (an empty reference, a control character).
    #[error("{field}: {why}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A document, payment or reference the ledger does not know, or knows already.
    #[error("{what}: {why}")]
    Reference {
        /// What was named.
        what: String,
        /// What is wrong.
        why: String,
    },
    /// The act does not fit the book (more than is owed or available, a state that forbids it).
    #[error("{0}")]
    Refused(String),
}
