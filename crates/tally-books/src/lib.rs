//! Tally's books: what finance and the accounting software need from billing.
//!
//! Two products from the same inputs ([`Source`]: the documents issued in a range of
//! days, the customers, the ledger's entries, the catalog and the exchange rates):
//!
//! - [`exports`]: import files for QuickBooks Online, QuickBooks Desktop (IIF), Xero,
//!   Zoho Books and FreshBooks, each following its vendor's published import rules
//!   (cited in each module), with accounts, items and tax codes from the catalog's
//!   `accounting` tables;
//! - [`report`]: the month's (or any range's) billing by plan, meter and customer,
//!   collections, receivables and their aging, credit notes and the exchange rates
//!   used, in original currencies and in the reporting currency, as JSON, CSV or an
//!   Excel workbook.
//!
//! Everything here is pure: the invoicer reads the store and builds the [`Source`];
//! the CLI and the HTTP API only call these functions and write what they return.

pub mod exports;
mod lines;
pub mod report;
mod source;

pub use lines::BookLine;
pub use source::{Account, Range, Source};

use thiserror::Error;

/// Why an export or a report cannot be made; every message says what to change.
#[derive(Debug, Error)]
pub enum BooksError {
    /// A line the format must post to an account (or code) the catalog does not name.
    #[error(
        "{document}: plan {plan}, line {key} has no accounting {field}: set it in the catalog's \
         [accounting] table, the plan's or the line's `accounting = {{ {field} = \"...\" }}`"
    )]
    Unmapped {
        /// The document's number.
        document: String,
        /// The plan.
        plan: String,
        /// The fee or charge key.
        key: String,
        /// `income_account` or `tax_code`.
        field: &'static str,
    },
    /// A document's customer is not in the store.
    #[error("{document}: its customer {customer} is not in the store")]
    NoCustomer {
        /// The document's number.
        document: String,
        /// The customer id.
        customer: String,
    },
    /// A figure in the reporting currency needs a rate that is not loaded.
    #[error("{what}: {source}")]
    Rate {
        /// What was being converted.
        what: String,
        /// The missing rate.
        source: tally_domain::FxError,
    },
    /// The format cannot carry what was asked (several currencies in an IIF file).
    #[error("{0}")]
    Unsupported(String),
    /// Writing the workbook failed.
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// Writing a CSV failed.
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
}
