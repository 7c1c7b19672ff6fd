//! Invoices in ClickHouse: `invoices` is a `ReplacingMergeTree(version)` read with
//! `FINAL`; each write of an invoice writes its lines under the same version, and
//! reports join lines on the invoice's current version.
//!
//! There are no transactions, so the version itself keeps the rules: its top bits are
//! the state's rank (draft < issued < void), so an issue beats any draft and a void
//! beats the issue; among drafts the latest write wins (refresh), among issues the
//! *earliest* (the low bits count down), so a second invoicer racing the first never
//! changes an issued invoice or its number. Two invoicers closing *different* sets at
//! once could still give two invoices one number: run one active invoicer per
//! database (the deploy/k8s invoicer is a single replica).

use clickhouse::Row;
use serde::{Deserialize, Serialize};
use tally_domain::{CustomerId, InvoiceState, Period, SubscriptionId};

use super::rows::{from_raw, to_raw};
use super::sql;
use super::ClickHouseStore;
use crate::invoices::{
    may_write, pattern, sequence, series_of, state_of, InvoiceFilter, InvoiceRecord, InvoiceStore, ReportedTotal,
    Written,
};
use crate::StoreError;

#[derive(Row, Serialize, Deserialize)]
struct InvoiceRow {
    invoice: String,
    number: String,
    customer: String,
    subscription: String,
    period_start: u32,
    period_end: u32,
    currency: String,
    state: String,
    total: i128,
    issued_at_ms: i64,
    body: String,
    written_at_ms: i64,
    version: u64,
    /// Empty when not converted (then `reporting_total` is 0).
    reporting_currency: String,
    reporting_total: i128,
}

/// An [`InvoiceRow`] as written: borrowed from its record, so that writing a month's
/// invoices does not copy their bodies (a hundred megabytes for 100,000 invoices).
#[derive(Row, Serialize)]
struct NewInvoiceRow<'a> {
    invoice: &'a str,
    number: &'a str,
    customer: &'a str,
    subscription: &'a str,
    period_start: u32,
    period_end: u32,
    currency: &'a str,
    state: &'a str,
    total: i128,
    issued_at_ms: i64,
    body: &'a str,
    written_at_ms: i64,
    version: u64,
    reporting_currency: &'a str,
    reporting_total: i128,
}

/// A record to write, with what was worked out for its row.
struct Pending<'r> {
    record: &'r InvoiceRecord,
    version: u64,
    issued_at_ms: i64,
    total: i128,
    reporting_total: i128,
}

/// The version of a write: state rank in the top bits; latest draft, earliest issue.
fn version(state: InvoiceState, written_at_ms: i64) -> u64 {
    const LOW: u64 = (1 << 48) - 1;
    let ms = u64::try_from(written_at_ms).unwrap_or(0).min(LOW);
    match state {
        InvoiceState::Draft => ms,
        InvoiceState::Issued => (1 << 48) | (LOW - ms),
        InvoiceState::Void => (2 << 48) | ms,
    }
}

#[derive(Row, Serialize)]
struct LineRow<'a> {
    invoice: &'a str,
    version: u64,
    position: u32,
    key: &'a str,
    kind: &'a str,
    dim_keys: Vec<&'a str>,
    dim_values: Vec<&'a str>,
    quantity: i128,
    billable_quantity: i128,
    amount: i128,
    detail: &'a str,
}

#[derive(Row, Deserialize)]
struct StateRow {
    invoice: String,
    state: String,
    number: String,
    issued_at_ms: i64,
}

fn into_record(r: InvoiceRow) -> Result<InvoiceRecord, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt { context: format!("invoice {}", r.invoice), message };
    let start = chrono::DateTime::from_timestamp(i64::from(r.period_start), 0);
    let end = chrono::DateTime::from_timestamp(i64::from(r.period_end), 0);
    let period =
        start.zip(end).and_then(|(s, e)| Period::new(s, e).ok()).ok_or_else(|| corrupt("bad period".into()))?;
    Ok(InvoiceRecord {
        total: from_raw(r.total, || format!("invoice {} total", r.invoice))?,
        state: state_of(&r.state, &r.invoice)?,
        issued_at: (r.issued_at_ms != 0).then(|| chrono::DateTime::from_timestamp_millis(r.issued_at_ms)).flatten(),
        reporting: match r.reporting_currency.is_empty() {
            true => None,
            false => Some(ReportedTotal {
                total: from_raw(r.reporting_total, || format!("invoice {} reporting total", r.invoice))?,
                currency: r.reporting_currency,
            }),
        },
        // Moved, not copied: a month's bodies are hundreds of megabytes.
        number: (!r.number.is_empty()).then_some(r.number),
        customer: CustomerId::new(r.customer),
        subscription: SubscriptionId::new(r.subscription),
        period,
        currency: r.currency,
        body: r.body,
        lines: Vec::new(),
        id: r.invoice,
    })
}

impl InvoiceStore for ClickHouseStore {
    async fn put_invoices(&self, invoices: &[InvoiceRecord], prefix: &str) -> Result<Vec<Written>, StoreError> {
        if invoices.is_empty() {
            return Ok(Vec::new());
        }
        // By period (few distinct values) rather than by id: a list of 100,000 ids would
        // exceed the server's query size.
        let starts: std::collections::BTreeSet<i64> = invoices.iter().map(|r| r.period.start().timestamp()).collect();
        let starts: Vec<String> = starts.iter().map(|s| format!("toDateTime({s})")).collect();
        let existing: Vec<StateRow> = self
            .client()
            .query(&format!(
                "SELECT invoice, state, number, issued_at_ms FROM invoices FINAL WHERE period_start IN ({})",
                starts.join(", ")
            ))
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("reading invoice states"))?;
        let existing: std::collections::HashMap<&str, &StateRow> =
            existing.iter().map(|r| (r.invoice.as_str(), r)).collect();
        let pattern = pattern(prefix)?;
        let mut last: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        let written_at_ms = chrono::Utc::now().timestamp_millis();
        let mut rows = Vec::new();
        let mut written = Vec::new();
        for r in invoices {
            let before = existing.get(r.id.as_str());
            let before_state = before.map(|b| state_of(&b.state, &b.invoice)).transpose()?;
            if !may_write(before_state, r) {
                continue;
            }
            let kept_issue = before
                .filter(|b| b.issued_at_ms != 0)
                .and_then(|b| chrono::DateTime::from_timestamp_millis(b.issued_at_ms));
            let number = match (r.number.clone(), before.map(|b| b.number.clone()).filter(|n| !n.is_empty())) {
                (Some(n), _) | (None, Some(n)) => Some(n),
                (None, None) if r.state == InvoiceState::Issued => {
                    let series = series_of(&pattern, r);
                    let next = match last.get(&series) {
                        Some(n) => n + 1,
                        None => self.last_number(&series).await? + 1,
                    };
                    let number = pattern.number(&series, next);
                    last.insert(series, next);
                    Some(number)
                }
                (None, None) => None,
            };
            let raw = |d, what: &str| to_raw(d, || format!("invoice {} {what}", r.id));
            let version = version(r.state, written_at_ms);
            let issued_at_ms =
                crate::invoices::issued_at(before_state, kept_issue, r).map_or(0, |t| t.timestamp_millis());
            let total = raw(r.total, "total")?;
            let reporting_total = match &r.reporting {
                Some(x) => raw(x.total, "reporting total")?,
                None => 0,
            };
            rows.push(Pending { record: r, version, issued_at_ms, total, reporting_total });
            written.push(Written { id: r.id.clone(), number });
        }
        // Lines first: an invoice row is only visible with its lines already there.
        let mut lines = self
            .client()
            .insert::<LineRow<'_>>("invoice_lines")
            .await
            .map_err(StoreError::clickhouse("writing invoice lines"))?;
        for &Pending { record: r, version, .. } in &rows {
            for (position, line) in r.lines.iter().enumerate() {
                let raw = |d, what: &str| to_raw(d, || format!("invoice {} line {position} {what}", r.id));
                lines
                    .write(&LineRow {
                        invoice: &r.id,
                        version,
                        position: position as u32,
                        key: &line.key,
                        kind: &line.kind,
                        dim_keys: line.dimensions.keys().map(String::as_str).collect(),
                        dim_values: line.dimensions.values().map(String::as_str).collect(),
                        quantity: raw(line.quantity, "quantity")?,
                        billable_quantity: raw(line.billable_quantity, "billable quantity")?,
                        amount: raw(line.amount, "amount")?,
                        detail: &line.detail,
                    })
                    .await
                    .map_err(StoreError::clickhouse("writing invoice lines"))?;
            }
        }
        lines.end().await.map_err(StoreError::clickhouse("writing invoice lines"))?;
        let mut insert = self
            .client()
            .insert::<NewInvoiceRow<'_>>("invoices")
            .await
            .map_err(StoreError::clickhouse("writing invoices"))?;
        for (Pending { record: r, version, issued_at_ms, total, reporting_total }, w) in rows.iter().zip(&written) {
            let row = NewInvoiceRow {
                invoice: &r.id,
                number: w.number.as_deref().unwrap_or_default(),
                customer: r.customer.as_str(),
                subscription: r.subscription.as_str(),
                period_start: u32::try_from(r.period.start().timestamp()).unwrap_or(0),
                period_end: u32::try_from(r.period.end().timestamp()).unwrap_or(0),
                currency: &r.currency,
                state: r.state.name(),
                total: *total,
                issued_at_ms: *issued_at_ms,
                body: &r.body,
                written_at_ms,
                version: *version,
                reporting_currency: r.reporting.as_ref().map_or("", |x| x.currency.as_str()),
                reporting_total: *reporting_total,
            };
            insert.write(&row).await.map_err(StoreError::clickhouse("writing invoices"))?;
        }
        insert.end().await.map_err(StoreError::clickhouse("writing invoices"))?;
        Ok(written)
    }

    async fn invoice(&self, id: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        self.one_invoice("SELECT ?fields FROM invoices FINAL WHERE invoice = ?", id).await
    }

    async fn invoice_by_number(&self, number: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        // `number` leads no index here (ORDER BY invoice): one scan of the documents
        // (one row each after FINAL), never every invoice read into Tally.
        self.one_invoice("SELECT ?fields FROM invoices FINAL WHERE number = ? LIMIT 1", number).await
    }

    async fn invoices(&self, filter: &InvoiceFilter) -> Result<Vec<InvoiceRecord>, StoreError> {
        let mut wheres = vec!["1".to_owned()];
        if let Some(c) = &filter.customer {
            wheres.push(format!("customer = {}", sql::string(c.as_str())));
        }
        if let Some(s) = &filter.subscription {
            wheres.push(format!("subscription = {}", sql::string(s.as_str())));
        }
        if let Some(state) = &filter.state {
            wheres.push(format!("state = {}", sql::string(state.name())));
        }
        if let Some(from) = filter.from {
            wheres.push(format!("period_start >= toDateTime({})", from.timestamp()));
        }
        if let Some(to) = filter.to {
            wheres.push(format!("period_start < toDateTime({})", to.timestamp()));
        }
        // The range of issue times as PREWHERE: rows outside it are skipped before
        // FINAL merges versions, so the bodies of other months are never read (a
        // month's books read week by week scanned every body of the table each week).
        // PREWHERE sees every version of an invoice, not only its last; that is right
        // here because every non-draft version of an invoice has the same issue time
        // (`put_invoices` keeps the first issue's), and a draft (issue time 0, never in
        // a range) always loses to a later state. A state filter stays in WHERE.
        let mut prewheres = Vec::new();
        if filter.issued_from.is_some() || filter.issued_to.is_some() {
            prewheres.push("state != 'draft'".to_owned());
        }
        if let Some(from) = filter.issued_from {
            prewheres.push(format!("issued_at_ms >= {}", from.timestamp_millis()));
        }
        if let Some(to) = filter.issued_to {
            prewheres.push(format!("issued_at_ms < {}", to.timestamp_millis()));
        }
        let prewhere =
            if prewheres.is_empty() { String::new() } else { format!("PREWHERE {}", prewheres.join(" AND ")) };
        let rows: Vec<InvoiceRow> = self
            .client()
            .query(&format!(
                "SELECT ?fields FROM invoices FINAL {prewhere} WHERE {} ORDER BY period_start, invoice",
                wheres.join(" AND ")
            ))
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("listing invoices"))?;
        rows.into_iter().map(into_record).collect()
    }

    async fn last_closed(
        &self,
    ) -> Result<std::collections::HashMap<SubscriptionId, chrono::DateTime<chrono::Utc>>, StoreError> {
        let rows: Vec<(String, u32)> = self
            .client()
            .query("SELECT subscription, max(period_start) FROM invoices FINAL WHERE state != 'draft' GROUP BY subscription")
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("reading closed periods"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, t)| chrono::DateTime::from_timestamp(i64::from(t), 0).map(|t| (SubscriptionId::new(s), t)))
            .collect())
    }

    async fn last_number(&self, prefix: &str) -> Result<u64, StoreError> {
        let numbers: Vec<String> = self
            .client()
            .query(&format!(
                "SELECT DISTINCT number FROM invoices FINAL WHERE number != '' AND substring(number, 1, {}) = {}",
                prefix.len(),
                sql::string(prefix)
            ))
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("reading invoice numbers"))?;
        Ok(numbers.iter().filter_map(|n| sequence(n, prefix)).max().unwrap_or(0))
    }

    async fn invoice_states(&self) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let rows: Vec<(String, u64)> = self
            .client()
            .query("SELECT state, count() FROM invoices FINAL GROUP BY state")
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("counting invoices by state"))?;
        Ok(rows.into_iter().collect())
    }
}

impl ClickHouseStore {
    /// The one invoice `sql` (with one `?` for `value`) selects.
    async fn one_invoice(&self, sql: &str, value: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        let row: Option<InvoiceRow> = self
            .client()
            .query(sql)
            .bind(value)
            .fetch_optional()
            .await
            .map_err(StoreError::clickhouse(format!("reading invoice {value}")))?;
        row.map(into_record).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::version;

    #[test]
    fn an_issue_beats_drafts_the_first_issue_beats_later_ones_and_a_void_beats_all() {
        let (early, late) = (1_790_000_000_000, 1_790_000_000_500);
        let (draft, issued, void) =
            (tally_domain::InvoiceState::Draft, tally_domain::InvoiceState::Issued, tally_domain::InvoiceState::Void);
        assert!(version(draft, late) > version(draft, early), "a refreshed draft replaces the old one");
        assert!(version(issued, early) > version(draft, late), "an issue replaces any draft");
        assert!(version(issued, early) > version(issued, late), "a second issue never replaces the first");
        assert!(version(void, early) > version(issued, early), "a void replaces the issue");
    }
}

/// Migration 8's data step: documents that recorded an exchange before the table kept
/// their reported total are written again, the same row with it, under the same
/// version (`ReplacingMergeTree` keeps the last insert of equal versions, on 18.16 as
/// on current servers). Idempotent: a rerun finds none left.
pub(super) async fn backfill_reported(client: &clickhouse::Client) -> Result<(), StoreError> {
    let rows: Vec<InvoiceRow> = client
        .query(
            "SELECT ?fields FROM invoices FINAL WHERE reporting_currency = '' AND position(body, '\"exchange\":{') > 0",
        )
        .fetch_all()
        .await
        .map_err(StoreError::clickhouse("reading invoices to convert"))?;
    let mut changed = Vec::new();
    for mut row in rows {
        let total = from_raw(row.total, || format!("invoice {} total", row.invoice))?;
        let Some(reported) = crate::invoices::reported_of_body(&row.invoice, &row.body, total)? else { continue };
        row.reporting_total = to_raw(reported.total, || format!("invoice {} reporting total", row.invoice))?;
        row.reporting_currency = reported.currency;
        changed.push(row);
    }
    if changed.is_empty() {
        return Ok(());
    }
    let mut insert =
        client.insert::<InvoiceRow>("invoices").await.map_err(StoreError::clickhouse("converting invoices"))?;
    for row in &changed {
        insert.write(row).await.map_err(StoreError::clickhouse("converting invoices"))?;
    }
    insert.end().await.map_err(StoreError::clickhouse("converting invoices"))?;
    tracing::info!(documents = changed.len(), "recorded reporting totals of documents issued before migration 8");
    Ok(())
}
