//! The receivables ledger: money after an invoice is issued, as entries that are never
//! edited.
//!
//! Every issued invoice, credit note, payment, allocation of a payment or credit to a
//! document, allocation undone, payment reversal (bounced, charged back), refund and
//! write-off is an [`Entry`] with the date it took effect. What a document still owes,
//! a customer's balance and credit, the aging of receivables and a statement are all
//! derived from the entries dated on or before a day ([`Book::as_of`]); correcting a
//! mistake appends entries, it never changes one.
//!
//! The crate is pure (no store, no clock): [`plan`] turns a billing act (record a
//! payment, void an invoice, reverse a payment...) into the entries it appends, after
//! checking it against the book, so every caller (CLI, API, invoicer) applies the same
//! rules. Stores keep the entries (`tally-store`); `tally-invoicer` runs the acts.
//!
//! Sources of credit are payments and credit notes alike: each can be allocated to
//! invoices, and what is not allocated is the customer's credit balance. Per customer
//! and currency the books always close:
//! `sum(owed by documents) = invoices - sources + reversals + refunds - write-offs + unapplied credit`.

mod book;
mod entry;
mod error;
pub mod plan;
mod statement;
mod totals;

pub use book::{aging_bucket, AgingRow, Book, OpenDocument, AGING_BUCKETS};
pub use entry::{Entry, EntryKind, Source};
pub use error::LedgerError;
pub use statement::{Statement, StatementLine};
pub use totals::Totals;
