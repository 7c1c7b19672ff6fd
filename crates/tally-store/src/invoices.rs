//! Invoices in the store: one row per invoice with the columns reports filter on, the
//! whole invoice as JSON (`body`, the source of truth when read back), and its lines
//! in `invoice_lines` for SQL reporting (Grafana, exports).
//!
//! The store knows nothing of how an invoice is composed; the invoicer gives it
//! records. An issued invoice is immutable: writing a record whose id is issued
//! already is refused unless the record voids it.

use std::future::Future;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_domain::{CustomerId, Dimensions, InvoiceState, Period, SubscriptionId};

use crate::StoreError;

/// One invoice as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    /// Derived from (subscription, period) by the invoicer.
    pub id: String,
    /// The human number, once issued.
    pub number: Option<String>,
    /// Who pays.
    pub customer: CustomerId,
    /// For which subscription.
    pub subscription: SubscriptionId,
    /// The closed period.
    pub period: Period,
    /// ISO 4217 code.
    pub currency: String,
    /// Draft, issued or void.
    pub state: InvoiceState,
    /// Sum of the lines.
    pub total: Decimal,
    /// When it was issued.
    pub issued_at: Option<DateTime<Utc>>,
    /// The whole invoice as JSON.
    pub body: String,
    /// Its lines, for reporting.
    pub lines: Vec<InvoiceLineRecord>,
    /// Its total in the reporting currency, converted by the invoicer at the rate the
    /// document recorded when issued (`None` for drafts and for documents issued with
    /// no reporting currency set), for SQL reporting (the Grafana revenue panel).
    pub reporting: Option<ReportedTotal>,
}

/// A document's total converted to the reporting currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedTotal {
    /// The reporting currency's ISO 4217 code.
    pub currency: String,
    /// The total, rounded to that currency's minor unit.
    pub total: Decimal,
}

/// One invoice line, for reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLineRecord {
    /// The fee or charge key.
    pub key: String,
    /// `fee`, `usage`, `minimum_commitment`, `fee_adjustment`, `late_usage`.
    pub kind: String,
    /// The group's values of a `group_by` charge.
    pub dimensions: Dimensions,
    /// Aggregated usage (zero for fees).
    pub quantity: Decimal,
    /// Units priced (zero for fees).
    pub billable_quantity: Decimal,
    /// The line's amount.
    pub amount: Decimal,
    /// The line as JSON (plan, service period, tiers).
    pub detail: String,
}

/// Which invoices to list; every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    /// One customer's.
    pub customer: Option<CustomerId>,
    /// One subscription's.
    pub subscription: Option<SubscriptionId>,
    /// In this state.
    pub state: Option<InvoiceState>,
    /// Whose period starts at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Whose period starts before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Issued at or after this instant (drafts never match).
    pub issued_from: Option<DateTime<Utc>>,
    /// Issued before this instant (drafts never match).
    pub issued_to: Option<DateTime<Utc>>,
}

/// An invoice a write stored, with the number it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The invoice's id.
    pub id: String,
    /// Its number, if issued.
    pub number: Option<String>,
}

/// What every store can do with invoices.
pub trait InvoiceStore: Send + Sync {
    /// Writes invoices: new drafts, refreshed drafts, issues, voids. An issued record
    /// without a number gets the next one of `prefix` (`INV-000043`), in slice order.
    /// Records for ids already issued (except to void them) or void are skipped: issued
    /// invoices never change, so a second closer of the same period changes nothing.
    /// Returns what was written. The embedded store numbers inside one transaction; on
    /// ClickHouse, numbering without gaps needs a single active invoicer.
    fn put_invoices(
        &self,
        invoices: &[InvoiceRecord],
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<Written>, StoreError>> + Send;
    /// One invoice, if it exists.
    fn invoice(&self, id: &str) -> impl Future<Output = Result<Option<InvoiceRecord>, StoreError>> + Send;
    /// The invoice or credit note with this number (`INV-000042`), by index on both stores.
    fn invoice_by_number(&self, number: &str)
        -> impl Future<Output = Result<Option<InvoiceRecord>, StoreError>> + Send;
    /// Invoices matching `filter`, by period start then id (lines not loaded: read `body`).
    fn invoices(&self, filter: &InvoiceFilter) -> impl Future<Output = Result<Vec<InvoiceRecord>, StoreError>> + Send;
    /// Per subscription, the start of the latest period that has an invoice other than a
    /// draft (issued or void): periods close in order, so every period up to it is closed.
    fn last_closed(
        &self,
    ) -> impl Future<Output = Result<std::collections::HashMap<SubscriptionId, DateTime<Utc>>, StoreError>> + Send;
    /// The highest invoice number issued with `prefix` (`INV-` ... `INV-000042` gives 42), 0 if none.
    fn last_number(&self, prefix: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// How many invoices (credit notes included) are in each state, for the metrics.
    fn invoice_states(
        &self,
    ) -> impl Future<Output = Result<std::collections::BTreeMap<String, u64>, StoreError>> + Send;
}

/// `prefix` and a six-digit (or longer) sequence.
pub(crate) fn pattern(text: &str) -> Result<tally_domain::NumberPattern, StoreError> {
    tally_domain::NumberPattern::parse(text).map_err(StoreError::Numbering)
}

/// The series an issued record's number is of (its issue date's), `now` for one
/// without an issue time.
pub(crate) fn series_of(pattern: &tally_domain::NumberPattern, record: &InvoiceRecord) -> String {
    pattern.series(record.issued_at.unwrap_or_else(chrono::Utc::now))
}

/// Whether a record for an invoice currently in `existing` state may be written.
pub(crate) fn may_write(existing: Option<InvoiceState>, record: &InvoiceRecord) -> bool {
    match existing {
        None | Some(InvoiceState::Draft) => true,
        Some(InvoiceState::Issued) => record.state == InvoiceState::Void,
        Some(InvoiceState::Void) => false,
    }
}

/// When the document of `record` was issued, as both stores keep it: once issued, a
/// document keeps that time in every later state (a void), whatever a later record
/// says. ClickHouse's issued-range read filters versions on it before `FINAL`.
pub(crate) fn issued_at(
    existing: Option<InvoiceState>,
    kept: Option<chrono::DateTime<chrono::Utc>>,
    record: &InvoiceRecord,
) -> Option<chrono::DateTime<chrono::Utc>> {
    match (existing, kept) {
        (Some(InvoiceState::Issued | InvoiceState::Void), Some(kept)) => Some(kept),
        _ => record.issued_at,
    }
}

/// The state a store row names; an unknown name is an error naming the invoice.
pub(crate) fn state_of(name: &str, invoice: &str) -> Result<InvoiceState, StoreError> {
    InvoiceState::from_name(name).ok_or_else(|| StoreError::Corrupt {
        context: format!("invoice {invoice}"),
        message: format!("unknown state {name:?} (expected draft, issued or void)"),
    })
}

/// The sequence part of `number` if it is `prefix` followed by digits.
pub(crate) fn sequence(number: &str, series: &str) -> Option<u64> {
    tally_domain::NumberPattern::sequence(series, number)
}

/// The reported total of a document written before the store kept one: from the
/// `exchange` its body recorded when issued, converted as the invoicer converts
/// ([`tally_domain::Exchange::convert`]); `None` when it recorded none. Used once, by
/// each store's migration that added the columns (SQL cannot be trusted to convert:
/// ClickHouse 18.16 does not round a product of two decimals).
pub(crate) fn reported_of_body(invoice: &str, body: &str, total: Decimal) -> Result<Option<ReportedTotal>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Recorded {
        #[serde(default)]
        exchange: Option<tally_domain::Exchange>,
    }
    let recorded: Recorded = serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        context: format!("invoice {invoice} body"),
        message: format!("its exchange cannot be read: {e}"),
    })?;
    Ok(recorded.exchange.map(|x| ReportedTotal { currency: x.currency.to_string(), total: x.convert(total) }))
}
