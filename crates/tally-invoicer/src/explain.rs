//! The evidence behind one usage line of an invoice (lines count from 1, as printed), so
//! that billing staff can answer a dispute: `tally invoice explain` and
//! `GET /v1/invoices/{id}/lines/{line}/explain` show it:
//! the line's charge and meter, the total of the stored events over its service period,
//! that total by day in the customer's time zone and by the meter's dimensions, and a
//! sample of the events themselves (source, id, time, properties). Every figure comes
//! from the store's aggregation, the same path the invoicer used.

use chrono::{DateTime, Days, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tally_domain::{Catalog, Period};
use tally_invoicing::LineKind;
use tally_store::{AccountStore, InvoiceStore, UsageItem, UsageQuery, UsageStore};

use crate::error::InvoicerError;

/// Why a line has no evidence to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoEvidence {
    /// No invoice has that id or number.
    NoInvoice,
    /// The line number is 0 (lines count from 1).
    BadLine,
    /// The invoice has fewer lines.
    NoLine,
    /// The line bills no usage (a fee, a true-up, a credit).
    NotUsage,
    /// The catalog no longer has the line's charge or meter.
    CatalogChanged,
    /// The invoice's customer is gone.
    NoCustomer,
}

/// Events read to find samples that match the charge's filter.
const SAMPLE_SCAN: usize = 2_000;
/// Samples returned.
const SAMPLES: usize = 20;

/// The customer's local days covering `span`, each clipped to it.
fn local_days(span: &Period, zone: chrono_tz::Tz) -> Vec<Period> {
    let mut days = Vec::new();
    let mut date = span.start().with_timezone(&zone).date_naive();
    loop {
        let midnight = |d: chrono::NaiveDate| -> DateTime<Utc> {
            zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                .earliest()
                .map_or_else(|| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(), |t| t.with_timezone(&Utc))
        };
        let Some(next) = date.checked_add_days(Days::new(1)) else { break };
        let (start, end) = (midnight(date).max(span.start()), midnight(next).min(span.end()));
        if start >= span.end() {
            break;
        }
        if let Ok(day) = Period::new(start, end) {
            days.push(day);
        }
        date = next;
    }
    days
}

/// The catalog's name of an aggregation.
fn aggregation_name(aggregation: tally_domain::Aggregation) -> &'static str {
    use tally_domain::Aggregation as A;
    match aggregation {
        A::Sum => "sum",
        A::Count => "count",
        A::Max => "max",
        A::Min => "min",
        A::UniqueCount => "unique_count",
        A::Latest => "latest",
    }
}

fn quantity(rows: &[tally_store::UsageAggregate]) -> Decimal {
    rows.iter().map(|r| r.quantity).sum()
}

/// The evidence behind line `position` (from 1) of invoice `id` (or number), as JSON.
pub async fn explain<S>(store: &S, catalog: &Catalog, id: &str, position: usize) -> Result<Value, InvoicerError>
where
    S: UsageStore + AccountStore + InvoiceStore,
{
    let refuse = |why: NoEvidence, message: String| InvoicerError::NoEvidence { why, message };
    if position == 0 {
        return Err(refuse(NoEvidence::BadLine, format!("line {position}: lines count from 1")));
    }
    let record = crate::close::find_invoice(store, id)
        .await?
        .ok_or_else(|| refuse(NoEvidence::NoInvoice, format!("no invoice with id or number {id}")))?;
    let invoice = crate::close::parse_record(&record)?;
    let l = invoice.lines.get(position - 1).ok_or_else(|| {
        let message = format!("invoice {id} has {} lines; there is no line {position}", invoice.lines.len());
        refuse(NoEvidence::NoLine, message)
    })?;
    if !matches!(l.kind, LineKind::Usage | LineKind::LateUsage) {
        let message = format!("line {position} ({}) is a {} line: it bills no usage", l.key, l.kind.name());
        return Err(refuse(NoEvidence::NotUsage, message));
    }
    let charge = catalog.plan(l.plan.as_str()).and_then(|p| p.charges.iter().find(|c| c.key.as_str() == l.key));
    let charge = charge.ok_or_else(|| {
        refuse(NoEvidence::CatalogChanged, format!("the catalog has no charge {} in plan {} any more", l.key, l.plan))
    })?;
    let meter = catalog
        .meter(charge.meter.as_str())
        .ok_or_else(|| refuse(NoEvidence::CatalogChanged, format!("the catalog has no meter {}", charge.meter)))?;
    let customer = store.customer(&invoice.customer).await?.ok_or_else(|| {
        refuse(NoEvidence::NoCustomer, format!("the invoice's customer {} is gone", invoice.customer))
    })?;
    // The charge's filter narrowed to the line's group.
    let mut filter = charge.filter.clone();
    filter.extend(l.dimensions.clone());
    let item = UsageItem { meter: meter.clone(), filter: filter.clone(), group_by: Vec::new() };
    let by = meter.dimensions.iter().filter(|d| !filter.contains_key(*d)).cloned().collect::<Vec<_>>();
    let span = l.service_period;
    let days = local_days(&span, customer.timezone);
    let mut queries: Vec<UsageQuery> = days
        .iter()
        .map(|day| UsageQuery {
            period: *day,
            customer: Some(customer.id.clone()),
            customers: None,
            items: vec![item.clone()],
        })
        .collect();
    queries.push(UsageQuery {
        period: span,
        customer: Some(customer.id.clone()),
        customers: None,
        items: vec![item.clone()],
    });
    let grouped = UsageItem { group_by: by.clone(), ..item.clone() };
    queries.push(UsageQuery {
        period: span,
        customer: Some(customer.id.clone()),
        customers: None,
        items: vec![grouped],
    });
    let mut answers = store.aggregate_many(&queries).await?;
    let by_dimension = answers.pop().unwrap_or_default();
    let total = answers.pop().map(|rows| quantity(&rows)).unwrap_or_default();
    let by_day: Vec<Value> = days
        .iter()
        .zip(&answers)
        .map(|(day, rows)| {
            let date = day.start().with_timezone(&customer.timezone).date_naive();
            json!({ "date": date.to_string(), "quantity": quantity(rows).normalize().to_string() })
        })
        .filter(|d| d["quantity"] != "0")
        .collect();
    let mut by_dimension: Vec<Value> = by_dimension
        .iter()
        .map(|r| {
            // The filter's keys are the same on every row (they are in "filter").
            let dimensions: tally_domain::Dimensions = r
                .dimensions
                .iter()
                .filter(|(k, _)| !filter.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            json!({ "dimensions": dimensions, "quantity": r.quantity.normalize().to_string() })
        })
        .collect();
    by_dimension.sort_by(|a, b| a["dimensions"].to_string().cmp(&b["dimensions"].to_string()));
    let samples: Vec<Value> = store
        .sample_events(&customer.id, &meter.event_type, &span, SAMPLE_SCAN)
        .await?
        .into_iter()
        .filter(|e| filter.iter().all(|(k, v)| e.strings.get(k) == Some(v)))
        .take(SAMPLES)
        .map(|e| json!({ "source": e.source, "id": e.id, "time": e.time.to_rfc3339(), "properties": e.strings }))
        .collect();
    Ok(json!({
        "invoice": invoice.id,
        "number": invoice.number,
        "line": position,
        "kind": l.kind,
        "charge": l.key,
        "plan": l.plan,
        "meter": meter.key,
        "event_type": meter.event_type,
        "aggregation": aggregation_name(meter.aggregation),
        "filter": filter,
        "service_period": { "start": span.start().to_rfc3339(), "end": span.end().to_rfc3339() },
        "timezone": customer.timezone.name(),
        "billed_quantity": l.quantity.map(|q| q.normalize().to_string()),
        "events_quantity": total.normalize().to_string(),
        "note": if l.kind == LineKind::LateUsage {
            "a late_usage line bills what events_quantity adds to what the period's invoice billed"
        } else {
            "events_quantity is what the stored events add up to now; it equals billed_quantity unless events arrived after the invoice was issued (billed later as late_usage)"
        },
        "by_day": by_day,
        "by_dimension": by_dimension,
        "sample_events": samples,
    }))
}
