//! The receivables ledger's entries (`tally_ledger::Entry`), kept append-only: an entry
//! is written once per id (appending it again, by a retry or by two callers at once,
//! stores nothing new) and never updated or deleted. Everything owed, paid or credited
//! is derived from them by `tally_ledger::Book`.

use std::future::Future;

use tally_domain::CustomerId;
use tally_ledger::Entry;

use crate::StoreError;

/// What every store can do with ledger entries.
pub trait LedgerStore: Send + Sync {
    /// Appends the entries whose ids are not stored yet, in one write; returns how many were new.
    fn append_entries(&self, entries: &[Entry]) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// The entries of one customer, or of all, by effective day then the order appended.
    fn entries(&self, customer: Option<&CustomerId>) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;

    /// What the entries dated on or before `day` add up to, for `customer` or all: the
    /// invoices that still owe, unused credit, balances (`tally_ledger::Totals`, the
    /// same figures as `Book::as_of(entries, day).totals(..)`). A store may add them up
    /// where the entries are, so aging thousands of customers does not move every entry.
    fn totals(
        &self,
        day: chrono::NaiveDate,
        customer: Option<&CustomerId>,
    ) -> impl Future<Output = Result<tally_ledger::Totals, StoreError>> + Send;
}

/// An entry's kind and detail as stored: the JSON of its `EntryKind`.
pub(crate) fn kind_json(entry: &Entry) -> String {
    serde_json::to_string(&entry.kind).expect("an entry kind serializes")
}

/// An entry back from its stored columns; anything unreadable is an error naming it,
/// never a default.
#[allow(clippy::too_many_arguments)]
pub(crate) fn entry_from(
    id: String,
    customer: String,
    currency: &str,
    effective: &str,
    recorded_at_ms: i64,
    amount: rust_decimal::Decimal,
    kind: &str,
    memo: String,
) -> Result<Entry, StoreError> {
    let corrupt = |what: &str, detail: String| StoreError::Corrupt {
        context: format!("ledger entry {id}"),
        message: format!("unreadable {what}: {detail}"),
    };
    let currency: tally_domain::Currency = currency.parse().map_err(|e| corrupt("currency", format!("{e}")))?;
    // Written with the currency's decimals again (ClickHouse keeps 12); never rounded.
    let amount = currency
        .round(amount)
        .filter(|rounded| *rounded == amount)
        .ok_or_else(|| corrupt("amount", format!("{amount} is not held to {currency}'s minor unit")))?;
    Ok(Entry {
        currency,
        effective: effective.parse().map_err(|e| corrupt("effective day", format!("{e}")))?,
        recorded_at: chrono::DateTime::from_timestamp_millis(recorded_at_ms)
            .ok_or_else(|| corrupt("recorded_at", recorded_at_ms.to_string()))?,
        kind: serde_json::from_str(kind).map_err(|e| corrupt("kind", e.to_string()))?,
        customer: CustomerId::new(customer),
        amount,
        memo,
        id,
    })
}
