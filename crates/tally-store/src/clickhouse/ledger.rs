//! Ledger entries in ClickHouse: a `ReplacingMergeTree` on (customer, entry id) read
//! with `FINAL`, so an entry appended twice (a retry, two callers at once) counts once
//! even before the parts merge. Entries are only ever inserted; copies of one id are
//! identical (ids derive from what the entry records), so which copy survives a merge
//! does not matter.

use clickhouse::Row;
use serde::{Deserialize, Serialize};
use tally_domain::CustomerId;
use tally_ledger::Entry;

use super::rows::{from_raw, to_raw};
use super::sql;
use super::ClickHouseStore;
use crate::ledger::{entry_from, kind_json, LedgerStore};
use crate::StoreError;

#[derive(Row, Serialize, Deserialize)]
struct EntryRow {
    entry_id: String,
    customer: String,
    currency: String,
    /// YYYY-MM-DD: compares like the date it is, on every server version.
    effective: String,
    recorded_at_ms: i64,
    /// Decimal(38, 12) as its raw 128-bit integer.
    amount: i128,
    kind: String,
    memo: String,
}

impl LedgerStore for ClickHouseStore {
    async fn append_entries(&self, entries: &[Entry]) -> Result<usize, StoreError> {
        if entries.is_empty() {
            return Ok(0);
        }
        // Which ids are stored already, per customer (the table's order key leads with it).
        let customers: std::collections::BTreeSet<&str> = entries.iter().map(|e| e.customer.as_str()).collect();
        let list: Vec<String> = customers.iter().map(|c| sql::string(c)).collect();
        let known: Vec<String> = self
            .client()
            .query(&format!("SELECT entry_id FROM ledger_entries FINAL WHERE customer IN ({})", list.join(", ")))
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("reading ledger entry ids"))?;
        let known: std::collections::HashSet<String> = known.into_iter().collect();
        let mut seen = std::collections::HashSet::new();
        let new: Vec<&Entry> =
            entries.iter().filter(|e| !known.contains(&e.id) && seen.insert(e.id.as_str())).collect();
        if new.is_empty() {
            return Ok(0);
        }
        let mut insert = self
            .client()
            .insert::<EntryRow>("ledger_entries")
            .await
            .map_err(StoreError::clickhouse("appending ledger entries"))?;
        for e in &new {
            let row = EntryRow {
                entry_id: e.id.clone(),
                customer: e.customer.to_string(),
                currency: e.currency.code().to_owned(),
                effective: e.effective.to_string(),
                recorded_at_ms: e.recorded_at.timestamp_millis(),
                amount: to_raw(e.amount, || format!("ledger entry {}", e.id))?,
                kind: kind_json(e),
                memo: e.memo.clone(),
            };
            insert.write(&row).await.map_err(StoreError::clickhouse("appending ledger entries"))?;
        }
        insert.end().await.map_err(StoreError::clickhouse("appending ledger entries"))?;
        Ok(new.len())
    }

    async fn entries(&self, customer: Option<&CustomerId>) -> Result<Vec<Entry>, StoreError> {
        let filter = customer.map_or(String::new(), |c| format!("WHERE customer = {}", sql::string(c.as_str())));
        let rows: Vec<EntryRow> = self
            .client()
            .query(&format!(
                "SELECT ?fields FROM ledger_entries FINAL {filter} ORDER BY effective, recorded_at_ms, entry_id"
            ))
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("reading ledger entries"))?;
        rows.into_iter()
            .map(|r| {
                let amount = from_raw(r.amount, || format!("ledger entry {}", r.entry_id))?;
                entry_from(r.entry_id, r.customer, &r.currency, &r.effective, r.recorded_at_ms, amount, &r.kind, r.memo)
            })
            .collect()
    }
}
