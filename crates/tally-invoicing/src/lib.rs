//! Tally's invoicing rules, as pure functions: no store, no clock of its own.
//!
//! [`schedule`] says which billing periods of a subscription are due for closing at a
//! given instant. [`compose`] turns one closed period, its exactly aggregated usage and
//! the fees already billed for it into an [`Invoice`]: usage in arrears for the closed
//! period (each plan of a split period rated on its own part), the plan's fees in
//! advance for the next period, and corrections when a period's fees turned out
//! different from what was billed in advance (a plan change, an end, the first period).
//! The invoicer crate around it does the I/O: reading usage, storing invoices.

mod compose;
pub mod document;
mod error;
mod figures;
mod late;
mod model;
pub mod render;
mod schedule;
pub mod tax;
mod trail;

pub use compose::{compose, compose_in, BilledFee, PeriodUsage};
pub use error::InvoiceError;
pub use figures::{DocumentFigures, LabelFigures, LineFigures};
pub use late::{billed_usage, late_usage_lines, Billed};
pub use model::{invoice_id, Document, Invoice, InvoiceLine, InvoiceState, LineKind, LineLabel, LineNote};
pub use schedule::{cycle_of, due_periods};
pub use tax::{RateTotal, TaxSummary};
pub use trail::Trail;
