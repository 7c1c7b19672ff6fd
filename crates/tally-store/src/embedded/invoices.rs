//! Invoices in the embedded store. Writes run in one immediate transaction: the
//! issued check and the numbering are atomic, so two closers never number twice.

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use tally_domain::{CustomerId, InvoiceState, Period, SubscriptionId};

use super::EmbeddedStore;
use crate::invoices::{
    may_write, pattern, sequence, series_of, InvoiceFilter, InvoiceRecord, InvoiceStore, ReportedTotal, Written,
};
use crate::StoreError;

const COLUMNS: &str =
    "invoice, number, customer, subscription, period_start_ms, period_end_ms, currency, state, total, \
                       issued_at_ms, body, reporting_currency, reporting_total";

/// A row and the texts of its decimals (total; reporting currency and total), parsed
/// by `with_total`.
type Read = (InvoiceRecord, String, (Option<String>, Option<String>));

fn record(row: &Row<'_>) -> rusqlite::Result<Read> {
    let start: i64 = row.get(4)?;
    let end: i64 = row.get(5)?;
    let total: String = row.get(8)?;
    let period = chrono::DateTime::from_timestamp_millis(start)
        .zip(chrono::DateTime::from_timestamp_millis(end))
        .and_then(|(s, e)| Period::new(s, e).ok());
    let Some(period) = period else {
        return Err(rusqlite::Error::InvalidColumnType(4, "period".into(), rusqlite::types::Type::Integer));
    };
    let id: String = row.get(0)?;
    let state_name: String = row.get(7)?;
    let state = InvoiceState::from_name(&state_name).ok_or_else(|| {
        let message = format!("invoice {id}: unknown state {state_name:?} (expected draft, issued or void)");
        rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, message.into())
    })?;
    Ok((
        InvoiceRecord {
            id,
            number: row.get(1)?,
            customer: CustomerId::new(row.get::<_, String>(2)?),
            subscription: SubscriptionId::new(row.get::<_, String>(3)?),
            period,
            currency: row.get(6)?,
            state,
            total: Default::default(),
            issued_at: row.get::<_, Option<i64>>(9)?.and_then(chrono::DateTime::from_timestamp_millis),
            body: row.get(10)?,
            lines: Vec::new(),
            reporting: None,
        },
        total,
        (row.get::<_, Option<String>>(11)?, row.get::<_, Option<String>>(12)?),
    ))
}

/// The highest sequence among the numbers with `prefix` (0 if none); inside the
/// writer's transaction, so numbering is atomic.
fn highest_sequence(conn: &rusqlite::Connection, prefix: &str) -> rusqlite::Result<u64> {
    let mut stmt = conn.prepare("SELECT number FROM invoices WHERE number IS NOT NULL")?;
    let numbers = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut last = 0;
    for number in numbers {
        last = last.max(sequence(&number?, prefix).unwrap_or(0));
    }
    Ok(last)
}

fn with_total((mut r, total, reported): Read) -> Result<InvoiceRecord, StoreError> {
    let decimal = |text: &str, what: &str| {
        text.parse().map_err(|e| StoreError::Corrupt {
            context: format!("invoice {} {what}", r.id),
            message: format!("{text:?}: {e}"),
        })
    };
    let total = decimal(&total, "total")?;
    let reporting = match reported {
        (Some(currency), Some(amount)) => Some(ReportedTotal { total: decimal(&amount, "reporting total")?, currency }),
        (None, None) => None,
        // Written together: one without the other is a row changed behind Tally's back.
        (currency, amount) => {
            return Err(StoreError::Corrupt {
                context: format!("invoice {} reporting total", r.id),
                message: format!("currency {currency:?} with total {amount:?}"),
            })
        }
    };
    r.total = total;
    r.reporting = reporting;
    Ok(r)
}

impl InvoiceStore for EmbeddedStore {
    async fn put_invoices(&self, invoices: &[InvoiceRecord], prefix: &str) -> Result<Vec<Written>, StoreError> {
        let invoices = invoices.to_vec();
        let prefix = prefix.to_owned();
        self.with_conn(move |conn| {
            let err = |what: &str| StoreError::sqlite(format!("writing invoices: {what}"));
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err("begin"))?;
            let pattern = pattern(&prefix)?;
            // The last sequence of each series numbered in this transaction.
            let mut last: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
            let now = chrono::Utc::now().timestamp_millis();
            let mut written = Vec::new();
            for r in &invoices {
                let existing: Option<(String, Option<String>, Option<i64>)> = tx
                    .query_row("SELECT state, number, issued_at_ms FROM invoices WHERE invoice = ?1", [&r.id], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .optional()
                    .map_err(err("reading the state"))?;
                let before = match existing.as_ref() {
                    Some((s, _, _)) => Some(crate::invoices::state_of(s, &r.id)?),
                    None => None,
                };
                if !may_write(before, r) {
                    continue;
                }
                let kept_issue = existing.as_ref().and_then(|e| e.2).and_then(chrono::DateTime::from_timestamp_millis);
                let issued_at_ms = crate::invoices::issued_at(before, kept_issue, r).map(|t| t.timestamp_millis());
                let number = match (r.number.clone(), existing.and_then(|(_, n, _)| n)) {
                    (Some(n), _) | (None, Some(n)) => Some(n),
                    (None, None) if r.state == InvoiceState::Issued => {
                        let series = series_of(&pattern, r);
                        let next = match last.get(&series) {
                            Some(n) => n + 1,
                            None => highest_sequence(&tx, &series).map_err(err("numbers"))? + 1,
                        };
                        let number = pattern.number(&series, next);
                        last.insert(series, next);
                        Some(number)
                    }
                    (None, None) => None,
                };
                tx.execute(
                    &format!("INSERT OR REPLACE INTO invoices ({COLUMNS}, subtotal, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?9, ?14)"),
                    params![
                        r.id,
                        number,
                        r.customer.as_str(),
                        r.subscription.as_str(),
                        r.period.start().timestamp_millis(),
                        r.period.end().timestamp_millis(),
                        r.currency,
                        r.state.name(),
                        r.total.to_string(),
                        issued_at_ms,
                        r.body,
                        r.reporting.as_ref().map(|x| x.currency.as_str()),
                        r.reporting.as_ref().map(|x| x.total.to_string()),
                        now
                    ],
                )
                .map_err(err("the invoice"))?;
                tx.execute("DELETE FROM invoice_lines WHERE invoice = ?1", [&r.id]).map_err(err("old lines"))?;
                for (position, line) in r.lines.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO invoice_lines (invoice, position, key, kind, dimensions, quantity, billable_quantity, amount, detail) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        params![
                            r.id,
                            position as i64,
                            line.key,
                            line.kind,
                            serde_json::to_string(&line.dimensions).unwrap_or_default(),
                            line.quantity.to_string(),
                            line.billable_quantity.to_string(),
                            line.amount.to_string(),
                            line.detail
                        ],
                    )
                    .map_err(err("a line"))?;
                }
                written.push(Written { id: r.id.clone(), number });
            }
            tx.commit().map_err(err("commit"))?;
            Ok(written)
        })
        .await
    }

    async fn invoice(&self, id: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        self.one_invoice("invoice", id).await
    }

    async fn invoice_by_number(&self, number: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        self.one_invoice("number", number).await
    }

    async fn invoices(&self, filter: &InvoiceFilter) -> Result<Vec<InvoiceRecord>, StoreError> {
        let f = filter.clone();
        let rows = self
            .with_reader(move |conn| {
                // Only the conditions set, so SQLite can use the index that fits
                // (`?1 IS NULL OR ...` hides every index from its planner).
                let mut conditions: Vec<&str> = Vec::new();
                let mut values: Vec<rusqlite::types::Value> = Vec::new();
                let mut when = |condition: &'static str, value: Option<rusqlite::types::Value>| {
                    if let Some(value) = value {
                        conditions.push(condition);
                        values.push(value);
                    }
                };
                let text = |s: String| rusqlite::types::Value::Text(s);
                let ms = |t: chrono::DateTime<chrono::Utc>| rusqlite::types::Value::Integer(t.timestamp_millis());
                when("customer = ?", f.customer.as_ref().map(|c| text(c.to_string())));
                when("subscription = ?", f.subscription.as_ref().map(|s| text(s.to_string())));
                when("state = ?", f.state.map(|s| text(s.name().to_owned())));
                when("period_start_ms >= ?", f.from.map(ms));
                when("period_start_ms < ?", f.to.map(ms));
                when("issued_at_ms >= ?", f.issued_from.map(ms));
                when("issued_at_ms < ?", f.issued_to.map(ms));
                let filter =
                    if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
                let sql = format!("SELECT {COLUMNS} FROM invoices {filter} ORDER BY period_start_ms, invoice");
                let mut stmt = conn.prepare(&sql).map_err(StoreError::sqlite("listing invoices"))?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(values), record)
                    .map_err(StoreError::sqlite("listing invoices"))?;
                rows.collect::<Result<Vec<_>, _>>().map_err(StoreError::sqlite("listing invoices"))
            })
            .await?;
        rows.into_iter().map(with_total).collect()
    }

    async fn last_closed(
        &self,
    ) -> Result<std::collections::HashMap<SubscriptionId, chrono::DateTime<chrono::Utc>>, StoreError> {
        let rows = self
            .with_reader(|conn| {
                let mut stmt = conn
                    .prepare("SELECT subscription, max(period_start_ms) FROM invoices WHERE state != 'draft' GROUP BY subscription")
                    .map_err(StoreError::sqlite("reading closed periods"))?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(StoreError::sqlite("reading closed periods"))?;
                rows.collect::<Result<Vec<_>, _>>().map_err(StoreError::sqlite("reading closed periods"))
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, ms)| chrono::DateTime::from_timestamp_millis(ms).map(|t| (SubscriptionId::new(s), t)))
            .collect())
    }

    async fn last_number(&self, prefix: &str) -> Result<u64, StoreError> {
        let prefix = prefix.to_owned();
        self.with_reader(move |conn| {
            highest_sequence(conn, &prefix).map_err(StoreError::sqlite("reading invoice numbers"))
        })
        .await
    }

    async fn invoice_states(&self) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        self.with_reader(|conn| {
            let count = || -> rusqlite::Result<std::collections::BTreeMap<String, u64>> {
                let mut statement = conn.prepare_cached("SELECT state, count(*) FROM invoices GROUP BY state")?;
                let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?;
                rows.map(|row| row.map(|(state, n)| (state, n.unsigned_abs()))).collect()
            };
            count().map_err(StoreError::sqlite("counting invoices by state"))
        })
        .await
    }
}

impl EmbeddedStore {
    /// The invoice whose indexed `column` (`invoice` or `number`) is `value`.
    async fn one_invoice(&self, column: &'static str, value: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        let value = value.to_owned();
        let row = self
            .with_reader(move |conn| {
                conn.query_row(&format!("SELECT {COLUMNS} FROM invoices WHERE {column} = ?1"), [&value], record)
                    .optional()
                    .map_err(StoreError::sqlite(format!("reading invoice {value}")))
            })
            .await?;
        row.map(with_total).transpose()
    }
}
