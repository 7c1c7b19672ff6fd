//! Ledger entries in ClickHouse: a `ReplacingMergeTree` on (customer, entry id) read
//! with `FINAL`, so an entry appended twice (a retry, two callers at once) counts once
//! even before the parts merge. Entries are only ever inserted; copies of one id are
//! identical (ids derive from what the entry records), so which copy survives a merge
//! does not matter.
//!
//! Each row also carries the entry's effects (`tally_ledger::Entry::owes`, `gives`,
//! `balance_effect`), so the totals behind aging and balances are added up by the
//! server, one `GROUP BY` per figure, and only the invoices still owing come back.

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

/// An entry as written: its columns and its effects.
#[derive(Row, Serialize)]
struct NewEntryRow {
    entry_id: String,
    customer: String,
    currency: String,
    effective: String,
    recorded_at_ms: i64,
    amount: i128,
    kind: String,
    memo: String,
    /// `Entry::kind_name`; for an invoice, its number and due day (else empty).
    kind_name: String,
    number: String,
    due: String,
    /// The invoice whose owed amount it changes, and by how much (signed).
    document: String,
    owes: i128,
    /// The source of credit (`Source::key`) whose credit left it changes, and by how much.
    source: String,
    gives: i128,
    /// Its effect on the balance.
    balance: i128,
}

/// An invoice still owing, added up by the server.
#[derive(Row, Deserialize)]
struct OpenRow {
    customer: String,
    currency: String,
    document: String,
    number: String,
    due: String,
    issued: String,
    amount: i128,
    owed: i128,
}

/// An account's balance and credit (over all its sources), added up by the server.
#[derive(Row, Deserialize)]
struct AccountRow {
    customer: String,
    currency: String,
    balance: i128,
    credit: i128,
}

/// A (customer, currency) figure added up by the server.
#[derive(Row, Deserialize)]
struct SumRow {
    customer: String,
    currency: String,
    total: i128,
}

/// Entries whose stored copies are looked for in one query (ids of up to ~60 bytes
/// keep it well under ClickHouse's default `max_query_size` of 256 KiB).
const KNOWN_CHUNK: usize = 1_000;

/// How many of those queries run at once.
const KNOWN_AT_ONCE: usize = 4;

/// The ids one chunk's query found.
fn joined(
    done: Result<Result<Vec<String>, ::clickhouse::error::Error>, tokio::task::JoinError>,
) -> Result<Vec<String>, StoreError> {
    match done {
        Ok(found) => found.map_err(StoreError::clickhouse("reading ledger entry ids")),
        // The tasks are never aborted (the set is awaited to the end), so a task
        // that did not finish panicked: the panic goes on in the caller.
        Err(panic) => std::panic::resume_unwind(panic.into_panic()),
    }
}

impl LedgerStore for ClickHouseStore {
    async fn append_entries(&self, entries: &[Entry]) -> Result<usize, StoreError> {
        if entries.is_empty() {
            return Ok(0);
        }
        // Which of these ids are stored already, asked in chunks (a close appends one
        // entry per invoice: 100,000 ids in one IN list would pass the server's 256 KiB
        // query limit) by customer and id (the table's order key), so only the entries
        // asked about are read, never a customer's whole history. Each chunk names its
        // customers as a range (the pairs are sorted by customer first): a thousand
        // customer literals cost ClickHouse 18.16 as much parsing as the ids did. A few
        // chunks are asked at once, as the server parses them on its cores. Without
        // `FINAL`: an id is stored when any copy of it is.
        let mut pairs: Vec<(&str, &str)> = entries.iter().map(|e| (e.customer.as_str(), e.id.as_str())).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut known = std::collections::HashSet::new();
        let mut asking = tokio::task::JoinSet::new();
        for chunk in pairs.chunks(KNOWN_CHUNK) {
            let (first, last) = (chunk[0].0, chunk[chunk.len() - 1].0);
            let ids: Vec<String> = chunk.iter().map(|(_, id)| sql::string(id)).collect();
            let query = format!(
                "SELECT DISTINCT entry_id FROM ledger_entries WHERE customer >= {} AND customer <= {} AND entry_id IN ({})",
                sql::string(first),
                sql::string(last),
                ids.join(", ")
            );
            if asking.len() >= KNOWN_AT_ONCE {
                if let Some(done) = asking.join_next().await {
                    known.extend(joined(done)?);
                }
            }
            let client = self.client().clone();
            asking.spawn(async move { client.query(&query).fetch_all::<String>().await });
        }
        while let Some(done) = asking.join_next().await {
            known.extend(joined(done)?);
        }
        let mut seen = std::collections::HashSet::new();
        let new: Vec<&Entry> =
            entries.iter().filter(|e| !known.contains(&e.id) && seen.insert(e.id.as_str())).collect();
        if new.is_empty() {
            return Ok(0);
        }
        let mut insert = self
            .client()
            .insert::<NewEntryRow>("ledger_entries")
            .await
            .map_err(StoreError::clickhouse("appending ledger entries"))?;
        for e in &new {
            let what = || format!("ledger entry {}", e.id);
            let (document, owes) =
                e.owes().map_or((String::new(), rust_decimal::Decimal::ZERO), |(d, o)| (d.to_owned(), o));
            let (source, gives) = e.gives().map_or((String::new(), rust_decimal::Decimal::ZERO), |(s, g)| (s.key(), g));
            let (number, due) = match &e.kind {
                tally_ledger::EntryKind::Invoice { number, due, .. } => (number.clone(), due.to_string()),
                _ => (String::new(), String::new()),
            };
            let row = NewEntryRow {
                entry_id: e.id.clone(),
                customer: e.customer.to_string(),
                currency: e.currency.code().to_owned(),
                effective: e.effective.to_string(),
                recorded_at_ms: e.recorded_at.timestamp_millis(),
                amount: to_raw(e.amount, what)?,
                kind: kind_json(e),
                memo: e.memo.clone(),
                kind_name: e.kind_name().to_owned(),
                number,
                due,
                document,
                owes: to_raw(owes, what)?,
                source,
                gives: to_raw(gives, what)?,
                balance: to_raw(e.balance_effect(), what)?,
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
                "SELECT entry_id, customer, currency, effective, recorded_at_ms, amount, kind, memo \
                 FROM ledger_entries FINAL {filter} ORDER BY effective, recorded_at_ms, entry_id"
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

    async fn totals(
        &self,
        day: chrono::NaiveDate,
        customer: Option<&CustomerId>,
    ) -> Result<tally_ledger::Totals, StoreError> {
        let mut filter = format!("effective <= {}", sql::string(&day.to_string()));
        if let Some(c) = customer {
            filter.push_str(&format!(" AND customer = {}", sql::string(c.as_str())));
        }
        // Invoice ids are unique across customers (the book keys them so too). What each
        // invoice owes is summed over its entries read with FINAL (a copy of an entry
        // must count once), reading as few columns as that needs: FINAL merges every
        // column it reads, on one thread on 18.16. The invoice's own details come from
        // its invoice entry, joined without FINAL: copies of it are identical, and
        // only the first of each document is kept below.
        let open_sql = format!(
            "SELECT customer, currency, document, number, due, effective AS issued, amount, owed \
             FROM ledger_entries ANY INNER JOIN ( \
                 SELECT document, sum(owes) AS owed FROM ledger_entries FINAL \
                 WHERE {filter} AND document != '' GROUP BY document HAVING owed > 0) \
             USING document WHERE {filter} AND kind_name = 'invoice'"
        );
        // Per account: the balance, and the credit all its sources have left...
        let account_sql = format!(
            "SELECT customer, currency, sum(balance) AS balance, sum(gives) AS credit \
             FROM ledger_entries FINAL WHERE {filter} GROUP BY customer, currency"
        );
        // ... less the sources that gave more than they had (a payment reversed after
        // part of it was refunded): the credit counts sources with some left only. Only
        // a reversal or a refund can take a source below zero, so only the accounts
        // that have one are looked at.
        let below_sql = format!(
            "SELECT customer, currency, sum(left) AS total FROM ( \
               SELECT customer, currency, source, sum(gives) AS left FROM ledger_entries FINAL \
               WHERE {filter} AND source != '' AND customer IN ( \
                 SELECT customer FROM ledger_entries WHERE {filter} AND kind_name IN ('payment_reversal', 'refund')) \
               GROUP BY customer, currency, source HAVING left < 0) \
             GROUP BY customer, currency"
        );
        let client = self.client();
        let (open, accounts, below) = tokio::join!(
            client.query(&open_sql).fetch_all::<OpenRow>(),
            client.query(&account_sql).fetch_all::<AccountRow>(),
            client.query(&below_sql).fetch_all::<SumRow>(),
        );
        let open = open.map_err(StoreError::clickhouse("adding up open invoices"))?;
        let accounts = accounts.map_err(StoreError::clickhouse("adding up balances"))?;
        let below = below.map_err(StoreError::clickhouse("adding up sources below zero"))?;
        let corrupt = |what: String, detail: String| StoreError::Corrupt { context: what, message: detail };
        let currency_of = |code: &str, what: &str| -> Result<tally_domain::Currency, StoreError> {
            code.parse().map_err(|e| corrupt(what.to_owned(), format!("unreadable currency {code:?}: {e}")))
        };
        let day_of = |text: &str, what: &str| -> Result<chrono::NaiveDate, StoreError> {
            text.parse().map_err(|e| corrupt(what.to_owned(), format!("unreadable day {text:?}: {e}")))
        };
        // Sums of amounts held to the minor unit are held to it: written with the
        // currency's decimals again (the column keeps 12), never rounded.
        let exact = |raw: i128, currency: tally_domain::Currency, what: &str| -> Result<_, StoreError> {
            let value = from_raw(raw, || what.to_owned())?;
            currency
                .round(value)
                .filter(|rounded| *rounded == value)
                .ok_or_else(|| corrupt(what.to_owned(), format!("{value} is not held to {currency}'s minor unit")))
        };
        let mut docs = Vec::with_capacity(open.len());
        let mut seen = std::collections::HashSet::with_capacity(open.len());
        for r in open {
            if !seen.insert(r.document.clone()) {
                continue; // a copy of the invoice entry not merged away yet
            }
            let what = format!("ledger invoice {}", r.document);
            let currency = currency_of(&r.currency, &what)?;
            docs.push(tally_ledger::OpenDocument {
                currency,
                due: day_of(&r.due, &what)?,
                issued: day_of(&r.issued, &what)?,
                amount: exact(r.amount, currency, &what)?,
                owed: exact(r.owed, currency, &what)?,
                customer: CustomerId::new(r.customer),
                number: r.number,
                document: r.document,
            });
        }
        tally_ledger::Totals::sort(&mut docs);
        let mut below_zero = std::collections::BTreeMap::new();
        for r in below {
            let context = format!("ledger credit of {}", r.customer);
            let currency = currency_of(&r.currency, &context)?;
            below_zero.insert((CustomerId::new(r.customer), currency), exact(r.total, currency, &context)?);
        }
        let (mut credit, mut balances) = (std::collections::BTreeMap::new(), std::collections::BTreeMap::new());
        for r in accounts {
            let context = format!("ledger account of {}", r.customer);
            let currency = currency_of(&r.currency, &context)?;
            let key = (CustomerId::new(r.customer), currency);
            let left = exact(r.credit, currency, &context)? - below_zero.get(&key).copied().unwrap_or_default();
            if left > rust_decimal::Decimal::ZERO {
                credit.insert(key.clone(), left);
            }
            balances.insert(key, exact(r.balance, currency, &context)?);
        }
        Ok(tally_ledger::Totals { day, open: docs, credit, balances })
    }
}
