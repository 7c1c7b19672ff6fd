//! Ledger entries in the embedded store: `INSERT OR IGNORE` on the entry id, in one
//! transaction per append; triggers refuse any UPDATE or DELETE. Totals are the book's
//! (`tally_ledger::Book`) over the entries read: one machine's ledger is small enough.

use rusqlite::params;
use tally_domain::CustomerId;
use tally_ledger::Entry;

use super::EmbeddedStore;
use crate::ledger::{entry_from, kind_json, LedgerStore};
use crate::StoreError;

impl LedgerStore for EmbeddedStore {
    async fn append_entries(&self, entries: &[Entry]) -> Result<usize, StoreError> {
        let entries = entries.to_vec();
        self.with_conn(move |conn| {
            let err = |what: &str| StoreError::sqlite(format!("appending ledger entries ({what})"));
            let tx = conn.transaction().map_err(err("begin"))?;
            let mut new = 0;
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO ledger_entries (entry_id, customer, currency, effective, recorded_at_ms, \
                         amount, kind, memo) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .map_err(err("prepare"))?;
                for e in &entries {
                    new += insert
                        .execute(params![
                            e.id,
                            e.customer.as_str(),
                            e.currency.code(),
                            e.effective.to_string(),
                            e.recorded_at.timestamp_millis(),
                            e.amount.to_string(),
                            kind_json(e),
                            e.memo,
                        ])
                        .map_err(err(&e.id))?;
                }
            }
            tx.commit().map_err(err("commit"))?;
            Ok(new)
        })
        .await
    }

    async fn entries(&self, customer: Option<&CustomerId>) -> Result<Vec<Entry>, StoreError> {
        let customer = customer.map(|c| c.as_str().to_owned());
        self.with_reader(move |conn| {
            type Row = (String, String, String, String, i64, String, String, String);
            let read = || -> rusqlite::Result<Vec<Row>> {
                let mut statement = conn.prepare_cached(
                    "SELECT entry_id, customer, currency, effective, recorded_at_ms, amount, kind, memo \
                     FROM ledger_entries WHERE ?1 IS NULL OR customer = ?1 ORDER BY effective, seq",
                )?;
                let rows = statement.query_map([&customer], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
                })?;
                rows.collect()
            };
            let rows = read().map_err(StoreError::sqlite("reading ledger entries"))?;
            rows.into_iter()
                .map(|(id, customer, currency, effective, recorded, amount, kind, memo)| {
                    let amount = amount.parse().map_err(|_| StoreError::Corrupt {
                        context: format!("ledger entry {id}"),
                        message: format!("unreadable amount {amount:?}"),
                    })?;
                    entry_from(id, customer, &currency, &effective, recorded, amount, &kind, memo)
                })
                .collect()
        })
        .await
    }

    async fn totals(
        &self,
        day: chrono::NaiveDate,
        customer: Option<&CustomerId>,
    ) -> Result<tally_ledger::Totals, StoreError> {
        let entries = self.entries(customer).await?;
        Ok(tally_ledger::Book::as_of(&entries, day).totals(customer, day))
    }
}
