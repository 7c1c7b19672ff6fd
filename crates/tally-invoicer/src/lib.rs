//! The invoicer: turns stored usage into stored invoices.
//!
//! [`close`] finds every subscription period that is due, reads its usage with one
//! store query per distinct (period part, plan) for all customers at once (never one
//! query per subscription), composes the invoices with `tally-invoicing` and stores
//! them: issued with a number once the grace period is over, drafts before. Closing is
//! idempotent: invoice ids derive from (subscription, period) and issued invoices are
//! never rewritten, so running it twice, or two invoicers at once, yields one invoice.

pub mod backfill;
pub mod books;
mod change;
mod close;
mod credit;
pub mod document;
mod error;
pub mod exchange;
pub mod explain;
pub mod receivables;
pub mod unbilled;
mod usage;
mod void;

pub use change::{change_subscription, stale_invoices};
pub use close::{
    close, close_detached, find_invoice, paper_trail, parse_record as read_invoice, preview, CloseOptions, CloseSummary,
};
pub use credit::{credit, Credit, Credited};
pub use error::InvoicerError;
pub use void::{rebill, void, Voided};
