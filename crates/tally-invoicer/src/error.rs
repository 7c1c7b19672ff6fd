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
    /// Another process is closing (it holds the close's lease): two closes at once
    /// would number different invoices alike.
    #[error("another invoice close is running ({holder}, since {since}); run again once it is done")]
    CloseRunning {
        /// Who holds the lease.
        holder: String,
        /// Since when.
        since: chrono::DateTime<chrono::Utc>,
    },
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
    /// A subscription change dated inside periods already issued, not revised.
    #[error(
        "subscription {subscription}: the change falls inside periods already invoiced: {}; \
         revise them with the change (their credit notes and revised invoices are issued, payments \
         move to the revisions), or date the change after them",
        invoices.join(", ")
    )]
    IssuedPeriods {
        /// The subscription.
        subscription: String,
        /// The stale invoices, by number, with their periods.
        invoices: Vec<String>,
    },
    /// A plan's prices were edited after an invoice was priced with them.
    #[error(
        "plan {plan}: its prices changed since {invoice} was issued with them, and an issued period is \
         priced as it was: keep plan {plan} as it was, add the new prices as a new plan, and move \
         subscriptions to it with a dated plan change (tally subscriptions update --change-plan NEW --at DATE)"
    )]
    PricesChanged {
        /// The plan.
        plan: String,
        /// The invoice priced with the old prices.
        invoice: String,
    },
    /// A line has no usage evidence to show.
    #[error("{message}")]
    NoEvidence {
        /// Why.
        why: crate::explain::NoEvidence,
        /// Said for people.
        message: String,
    },
    /// The invoice cannot be credited (as asked).
    #[error("invoice {id} cannot be credited: {why}")]
    NotCreditable {
        /// The id or number given.
        id: String,
        /// Why not.
        why: String,
    },
    /// A document cannot be issued without its rate to the reporting currency.
    #[error("{document}: {source}")]
    Exchange {
        /// The invoice or credit note (its id).
        document: String,
        /// Which rate is missing.
        source: tally_domain::FxError,
    },
    /// A range of days that ends before it starts.
    #[error("{0}")]
    Range(String),
    /// An export or report cannot be made.
    #[error(transparent)]
    Books(#[from] tally_books::BooksError),
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
    /// A stored customer's billing details cannot be read (they were checked when
    /// stored: this is a store that was changed behind Tally's back).
    #[error("customer {customer}: its billing details cannot be read: {source}")]
    Profile {
        /// The customer.
        customer: String,
        /// What is wrong.
        source: tally_domain::AccountError,
    },
}
