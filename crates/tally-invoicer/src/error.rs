//! Why closing stopped.

use thiserror::Error;

/// A close that could not finish; what was stored before it stays stored.
#[derive(Debug, Error)]
pub enum InvoicerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] tally_store::StoreError),
    /// An invoice could not be composed.
    #[error(transparent)]
    Invoice(#[from] tally_invoicing::InvoiceError),
    /// A subscription's customer is missing.
    #[error("subscription {subscription}: customer {customer} does not exist")]
    NoCustomer {
        /// The subscription.
        subscription: String,
        /// Its customer.
        customer: String,
    },
    /// A stored invoice cannot be read back.
    #[error("invoice {id}: {message}")]
    Corrupt {
        /// The invoice.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// The invoice cannot be voided.
    #[error("invoice {id} cannot be voided: {why}")]
    NotVoidable {
        /// The id or number given.
        id: String,
        /// Why not.
        why: String,
    },
    /// The invoice's period cannot be billed again.
    #[error("invoice {id}: its period cannot be billed again: {why}")]
    NotRebillable {
        /// The id or number given.
        id: String,
        /// Why not.
        why: String,
    },
    /// The invoice cannot be credited (as asked).
    #[error("invoice {id} cannot be credited: {why}")]
    NotCreditable {
        /// The id or number given.
        id: String,
        /// Why not.
        why: String,
    },
    /// The ledger refused a billing act (an amount, a date, a reference, ...).
    #[error(transparent)]
    Ledger(tally_ledger::LedgerError),
    /// A customer or subscription no longer fits the catalog.
    #[error("subscription {subscription}: {source}")]
    Account {
        /// The subscription.
        subscription: String,
        /// What is wrong.
        source: tally_domain::AccountError,
    },
}
