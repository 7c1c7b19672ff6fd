//! Payments and receivables: `POST /v1/invoices/{id}/payments` (admin; amount, date,
//! reference; recorded once per reference), `GET /v1/invoices/{id}/payments`,
//! `GET /v1/receivables/overdue?as_of=&customer=` and
//! `GET /v1/receivables/aging?as_of=` (current, 1-30, 31-60, 61-90, 90+ days past
//! due, per currency). An invoice is due `invoicer.payment_terms` after it is issued;
//! what is owed is its total less its payments. Voided invoices are owed by no one
//! (their credit note settles them); revisions are owed like any invoice.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use tally_invoicing::{Document, Invoice, InvoiceState};
use tally_store::{InvoiceFilter, InvoiceStore, Payment, PaymentStore};

use crate::invoices::{invoicer_error, stored_invoice};
use crate::{Api, ApiError};

/// A payment to record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    /// A decimal string in the invoice's currency, e.g. "120.50".
    amount: String,
    /// When it was received (YYYY-MM-DD).
    date: NaiveDate,
    /// The bank's or payer's reference; recording it again changes nothing.
    reference: String,
}

fn payment_json(p: &Payment) -> Value {
    json!({ "invoice": p.invoice, "reference": p.reference, "amount": p.amount.to_string(),
        "currency": p.currency, "date": p.received_on.to_string(), "recorded_at": p.recorded_at.to_rfc3339() })
}

fn paid(payments: &[Payment]) -> Decimal {
    payments.iter().map(|p| p.amount).sum()
}

/// `POST /v1/invoices/{id}/payments`: 201 when recorded, 200 when the reference was
/// recorded already.
pub async fn record(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let new: NewPayment = crate::error::body(&body)?;
    let amount: Decimal = new.amount.trim().parse().ok().filter(|a: &Decimal| *a > Decimal::ZERO).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("amount: {:?} is not a positive decimal", new.amount),
        )
    })?;
    if new.reference.trim().is_empty() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", "reference: is empty"));
    }
    let invoice = stored_invoice(&api, &id).await?;
    if invoice.state != InvoiceState::Issued || invoice.document != Document::Invoice {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_payable",
            format!("invoice {id} is a {:?} {:?}: only issued invoices are paid", invoice.state, invoice.document)
                .to_lowercase(),
        ));
    }
    let before = api.store.payments(Some(&invoice.id)).await.map_err(ApiError::store)?;
    if let Some(same) = before.iter().find(|p| p.reference == new.reference) {
        return Ok((StatusCode::OK, Json(json!({ "recorded": false, "payment": payment_json(same) }))).into_response());
    }
    let outstanding = invoice.total - paid(&before);
    if amount > outstanding {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "overpayment",
            format!("amount: {amount} is more than the {outstanding} {} still owed on invoice {id}", invoice.currency),
        ));
    }
    let payment = Payment {
        invoice: invoice.id.clone(),
        reference: new.reference.trim().to_owned(),
        amount,
        currency: invoice.currency.to_string(),
        received_on: new.date,
        recorded_at: Utc::now(),
    };
    let recorded = api.store.put_payment(&payment).await.map_err(ApiError::store)?;
    let status = if recorded { StatusCode::CREATED } else { StatusCode::OK };
    let body = json!({
        "recorded": recorded,
        "payment": payment_json(&payment),
        "outstanding": (outstanding - if recorded { amount } else { Decimal::ZERO }).to_string(),
    });
    Ok((status, Json(body)).into_response())
}

/// `GET /v1/invoices/{id}/payments`.
pub async fn list(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let invoice = stored_invoice(&api, &id).await?;
    let payments = api.store.payments(Some(&invoice.id)).await.map_err(ApiError::store)?;
    let owed = if invoice.state == InvoiceState::Issued && invoice.document == Document::Invoice {
        invoice.total - paid(&payments)
    } else {
        Decimal::ZERO
    };
    Ok(Json(json!({
        "invoice": invoice.id, "number": invoice.number, "currency": invoice.currency.to_string(),
        "total": invoice.total.to_string(), "paid": paid(&payments).to_string(), "outstanding": owed.to_string(),
        "payments": payments.iter().map(payment_json).collect::<Vec<_>>(),
    })))
}

/// The receivables' query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivablesParams {
    /// The day to age at (default: today, UTC).
    as_of: Option<NaiveDate>,
    customer: Option<String>,
}

/// An invoice still owed.
struct Owed {
    invoice: Invoice,
    outstanding: Decimal,
    due: NaiveDate,
}

async fn owed(api: &Api, customer: Option<String>) -> Result<Vec<Owed>, ApiError> {
    let filter = InvoiceFilter {
        state: Some("issued".into()),
        customer: customer.map(tally_domain::CustomerId::new),
        ..Default::default()
    };
    let records = api.store.invoices(&filter).await.map_err(ApiError::store)?;
    let mut payments: HashMap<String, Vec<Payment>> = HashMap::new();
    for p in api.store.payments(None).await.map_err(ApiError::store)? {
        payments.entry(p.invoice.clone()).or_default().push(p);
    }
    let mut owed = Vec::new();
    for record in &records {
        let invoice = tally_invoicer::read_invoice(record).map_err(invoicer_error)?;
        if invoice.document != Document::Invoice {
            continue;
        }
        let outstanding = invoice.total - payments.get(&invoice.id).map_or(Decimal::ZERO, |p| paid(p));
        let Some(issued) = invoice.issued_at else { continue };
        if outstanding > Decimal::ZERO {
            let due = (issued + api.payment_terms).date_naive();
            owed.push(Owed { invoice, outstanding, due });
        }
    }
    Ok(owed)
}

/// `GET /v1/receivables/overdue`: invoices past due with something owed, most overdue first.
pub async fn overdue(
    State(api): State<Api>,
    params: Result<Query<ReceivablesParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = crate::error::query(params)?;
    let as_of = params.as_of.unwrap_or_else(|| Utc::now().date_naive());
    let mut rows: Vec<(i64, Value)> = owed(&api, params.customer)
        .await?
        .into_iter()
        .filter(|o| o.due < as_of)
        .map(|o| {
            let days = (as_of - o.due).num_days();
            let i = &o.invoice;
            (days, json!({ "invoice": i.id, "number": i.number, "customer": i.customer, "currency": i.currency.to_string(),
                "total": i.total.to_string(), "outstanding": o.outstanding.to_string(), "due": o.due.to_string(), "days_overdue": days }))
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1["number"].to_string().cmp(&b.1["number"].to_string())));
    Ok(Json(json!({ "as_of": as_of.to_string(), "invoices": rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>() })))
}

/// The aging buckets, by days past due.
const BUCKETS: [&str; 5] = ["current", "1-30", "31-60", "61-90", "90+"];

fn bucket(days_past_due: i64) -> &'static str {
    match days_past_due {
        ..=0 => BUCKETS[0],
        1..=30 => BUCKETS[1],
        31..=60 => BUCKETS[2],
        61..=90 => BUCKETS[3],
        _ => BUCKETS[4],
    }
}

/// `GET /v1/receivables/aging`: what is owed per currency, by days past due.
pub async fn aging(
    State(api): State<Api>,
    params: Result<Query<ReceivablesParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = crate::error::query(params)?;
    let as_of = params.as_of.unwrap_or_else(|| Utc::now().date_naive());
    let mut by_currency: BTreeMap<String, BTreeMap<&str, (Decimal, u64)>> = BTreeMap::new();
    for o in owed(&api, params.customer)
        .await?
        .into_iter()
        .filter(|o| o.invoice.issued_at.is_some_and(|t| t.date_naive() <= as_of))
    {
        let days = (as_of - o.due).num_days();
        let cell = by_currency.entry(o.invoice.currency.to_string()).or_default().entry(bucket(days)).or_default();
        *cell = (cell.0 + o.outstanding, cell.1 + 1);
    }
    let currencies: Vec<Value> = by_currency
        .into_iter()
        .map(|(currency, cells)| {
            let total: Decimal = cells.values().map(|c| c.0).sum();
            let buckets: Vec<Value> = BUCKETS
                .iter()
                .map(|b| {
                    let (amount, invoices) = cells.get(b).copied().unwrap_or_default();
                    json!({ "bucket": b, "outstanding": amount.to_string(), "invoices": invoices })
                })
                .collect();
            json!({ "currency": currency, "outstanding": total.to_string(), "buckets": buckets })
        })
        .collect();
    Ok(Json(json!({ "as_of": as_of.to_string(), "currencies": currencies })))
}
