//! Finance reports for a range of days, in original currencies and, when a reporting
//! currency is set, in it: what was billed (by customer, plan and meter), what was
//! collected, what is outstanding and how old, the credit notes, and every exchange
//! rate used. One [`Report`] is built from a [`Source`] and written as JSON (serde),
//! as CSV (one table at a time) or as an Excel workbook (one sheet per table).
//!
//! Conversions: a document is converted at the rate it recorded when issued (in the
//! reporting currency of today), else at the rate of its issue day looked up now; a
//! payment at the rate of the day it was received; what is still owed at the rate of
//! the range's last day (receivables revalued at the closing rate). Each document's,
//! payment's or owed amount is converted and rounded to the reporting currency's
//! minor unit on its own, then added up, so every reporting figure can be checked by
//! hand from the rates sheet. A rate that is missing is an error naming the document
//! or payment, the pair and the day.

mod build;
mod tables;
mod xlsx;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use tally_domain::Currency;

pub use build::build;
pub use tables::{Cell, Table};
pub use xlsx::workbook;

/// Every table of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The first day.
    pub from: NaiveDate,
    /// The last day (included); outstanding and aging are as of it.
    pub to: NaiveDate,
    /// The reporting currency, if set.
    pub reporting_currency: Option<Currency>,
    /// Invoices and credit notes issued, per customer and currency.
    pub billed_by_customer: Vec<CustomerBilled>,
    /// Lines issued, before tax, per plan and currency.
    pub billed_by_plan: Vec<GroupBilled>,
    /// Lines issued, before tax, per meter (fees and corrections by kind) and currency.
    pub billed_by_meter: Vec<GroupBilled>,
    /// Money received, per customer and currency.
    pub collected: Vec<Collected>,
    /// Invoices still owing on the last day.
    pub outstanding: Vec<Outstanding>,
    /// What is owed by age, per currency (and in the reporting currency).
    pub aging: Vec<Aging>,
    /// Credit notes issued.
    pub credit_notes: Vec<CreditNoteRow>,
    /// Every rate a reporting figure used.
    pub rates: Vec<RateUsed>,
}

/// A customer's billing in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerBilled {
    /// The customer's id.
    pub customer: String,
    /// Its name in the books.
    pub name: String,
    /// The currency.
    pub currency: Currency,
    /// Invoices issued.
    pub invoices: u64,
    /// Credit notes issued.
    pub credit_notes: u64,
    /// Before tax (credit notes negative).
    #[serde(with = "rust_decimal::serde::str")]
    pub subtotal: Decimal,
    /// Tax.
    #[serde(with = "rust_decimal::serde::str")]
    pub tax: Decimal,
    /// What the documents total.
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    /// The total in the reporting currency.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub reporting_total: Option<Decimal>,
}

/// A plan's or meter's billing in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupBilled {
    /// The plan, the meter, or `fees`, `minimum commitment`, `credits`.
    pub key: String,
    /// The currency.
    pub currency: Currency,
    /// Lines.
    pub lines: u64,
    /// Before tax.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// In the reporting currency.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub reporting_amount: Option<Decimal>,
}

/// Money received from a customer in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collected {
    /// The customer's id.
    pub customer: String,
    /// Its name.
    pub name: String,
    /// The currency.
    pub currency: Currency,
    /// Payments.
    pub payments: u64,
    /// Received.
    #[serde(with = "rust_decimal::serde::str")]
    pub received: Decimal,
    /// Payments reversed (bounced, charged back).
    #[serde(with = "rust_decimal::serde::str")]
    pub reversed: Decimal,
    /// Refunded.
    #[serde(with = "rust_decimal::serde::str")]
    pub refunded: Decimal,
    /// Received less reversed and refunded.
    #[serde(with = "rust_decimal::serde::str")]
    pub net: Decimal,
    /// The net in the reporting currency.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub reporting_net: Option<Decimal>,
}

/// An invoice still owing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outstanding {
    /// Its number.
    pub number: String,
    /// The customer's id.
    pub customer: String,
    /// Its name.
    pub name: String,
    /// Issued on.
    pub issued: NaiveDate,
    /// Due on.
    pub due: NaiveDate,
    /// Days past due on the last day (0 when not due yet).
    pub days_overdue: i64,
    /// Its aging bucket.
    pub bucket: &'static str,
    /// The currency.
    pub currency: Currency,
    /// Its amount.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// What it still owes.
    #[serde(with = "rust_decimal::serde::str")]
    pub owed: Decimal,
    /// What it owes in the reporting currency, at the last day's rate.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub reporting_owed: Option<Decimal>,
}

/// What is owed by age in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Aging {
    /// The currency.
    pub currency: Currency,
    /// Whether these are the reporting currency's converted figures of every currency.
    pub converted: bool,
    /// Per bucket of `tally_ledger::AGING_BUCKETS`, in its order.
    pub buckets: Vec<Bucket>,
    /// Everything owed.
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
}

/// What is owed in one aging bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// `current`, `1-30`, ...
    pub bucket: &'static str,
    /// Owed.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// A credit note issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditNoteRow {
    /// Its number.
    pub number: String,
    /// Issued on.
    pub issued: NaiveDate,
    /// The customer's id.
    pub customer: String,
    /// Its name.
    pub name: String,
    /// The invoice it credits (its number).
    pub credits: String,
    /// Why.
    pub reason: String,
    /// The currency.
    pub currency: Currency,
    /// Its total (negative).
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    /// In the reporting currency.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub reporting_total: Option<Decimal>,
}

/// A rate a reporting figure used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateUsed {
    /// From this currency.
    pub currency: Currency,
    /// To the reporting currency.
    pub reporting: Currency,
    /// The rate's day.
    pub on: NaiveDate,
    /// Units of the reporting currency for one unit.
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
    /// `direct`, `inverse`, `cross:EUR` or `same`.
    pub how: String,
    /// `recorded` (on the document when issued) or `looked up` (from the rates now).
    pub source: &'static str,
    /// How many documents, payments and owed amounts it converted.
    pub uses: u64,
}

/// The names of the report's tables, for CSV and the API.
pub const TABLES: [&str; 9] = [
    "billed_by_customer",
    "billed_by_plan",
    "billed_by_meter",
    "collected",
    "outstanding",
    "aging",
    "credit_notes",
    "rates",
    "summary",
];

/// The report's table `name` as CSV.
pub fn csv(report: &Report, name: &str) -> Result<Option<String>, crate::BooksError> {
    let Some(table) = tables::all(report).into_iter().find(|t| t.name == name) else { return Ok(None) };
    table.csv().map(Some)
}
