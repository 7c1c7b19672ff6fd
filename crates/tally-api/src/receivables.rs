//! Payments and receivables over the ledger (`tally_invoicer::receivables`; the rules
//! are `tally_ledger`'s): `POST /v1/invoices/{id}/payments` (admin; amount, date,
//! reference: recorded once per customer and reference, held to the currency's minor
//! unit, not dated ahead; more than is owed becomes the customer's credit),
//! `GET /v1/invoices/{id}/payments` (what paid it, what it still owes),
//! `GET /v1/receivables/overdue?as_of=&customer=` and
//! `GET /v1/receivables/aging?as_of=&customer=` (current, 1-30, 31-60, 61-90, 90+ days
//! past due, and unapplied credit, per currency), all as of the day asked, counting
//! only entries dated by then. A voided invoice owes nothing; its payments moved to its
//! revision or to the customer's credit.

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
use tally_invoicer::receivables;
use tally_invoicing::{Document, InvoiceState};
use tally_ledger::AGING_BUCKETS;

use crate::invoices::{invoicer_error, stored_invoice};
use crate::{Api, ApiError};

/// A payment to record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    /// A decimal string in the invoice's currency, e.g. "120.50".
    amount: String,
    /// When it was received (YYYY-MM-DD), not after today.
    date: NaiveDate,
    /// The bank's or payer's reference; recording it again changes nothing.
    reference: String,
}

/// `POST /v1/invoices/{id}/payments`: 201 when recorded, 200 when the same payment was
/// recorded already; it goes to this invoice first, any more to the customer's credit.
pub async fn record(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let new: NewPayment = crate::error::body(&body)?;
    let amount = crate::ledger::amount("amount", &new.amount)?;
    if new.reference.trim().is_empty() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", "reference: is empty"));
    }
    crate::ledger::within(&api, "date", new.date)?;
    let invoice = stored_invoice(&api, &id).await?;
    if invoice.state != InvoiceState::Issued || invoice.document != Document::Invoice {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_payable",
            format!("invoice {id} is a {:?} {:?}: only issued invoices are paid", invoice.state, invoice.document)
                .to_lowercase(),
        ));
    }
    let now = Utc::now();
    let to = [invoice.id.clone()];
    let (customer, currency, reference) = (&invoice.customer, invoice.currency, new.reference.trim());
    let on = receivables::On { customer, currency, day: new.date, now };
    let done =
        receivables::record_payment(&*api.store, on, reference, amount, &to, "").await.map_err(invoicer_error)?;
    // What the invoice owes now: the payment's allocation says it; only a payment that
    // did not reach this invoice (a retry, or nothing left owed) reads the ledger again.
    let outstanding = match done.allocated.iter().find(|(document, ..)| *document == invoice.id) {
        Some((.., owed)) => *owed,
        None => receivables::current(&*api.store, Some(customer))
            .await
            .map_err(invoicer_error)?
            .invoice(&invoice.id)
            .map_or(Decimal::ZERO, |d| d.owed),
    };
    let status = if done.recorded { StatusCode::CREATED } else { StatusCode::OK };
    let body = json!({
        "recorded": done.recorded,
        "payment": { "invoice": invoice.id, "reference": reference, "amount": amount.to_string(),
            "currency": currency.to_string(), "date": new.date.to_string() },
        "outstanding": currency.show(outstanding),
        "credit": currency.show(done.credit),
    });
    Ok((status, Json(body)).into_response())
}

/// `GET /v1/invoices/{id}/payments`: what paid it (payments and credit notes) and what it still owes.
pub async fn list(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let invoice = stored_invoice(&api, &id).await?;
    let book = receivables::current(&*api.store, Some(&invoice.customer)).await.map_err(invoicer_error)?;
    let allocations = book.allocations_to(&invoice.customer, &invoice.id);
    let paid: Decimal =
        allocations.iter().filter(|(s, _)| matches!(s, tally_ledger::Source::Payment(_))).map(|a| a.1).sum();
    let credited: Decimal =
        allocations.iter().filter(|(s, _)| matches!(s, tally_ledger::Source::CreditNote(_))).map(|a| a.1).sum();
    let owed = book.invoice(&invoice.id).map_or(Decimal::ZERO, |d| d.owed);
    let money = |a: Decimal| invoice.currency.show(a);
    let payments: Vec<Value> = allocations
        .iter()
        .map(|(source, amount)| {
            let kind = match source {
                tally_ledger::Source::Payment(_) => "payment",
                tally_ledger::Source::CreditNote(_) => "credit_note",
            };
            // A payment by its reference, a credit note by its number.
            let reference = book.label(&invoice.customer, source).unwrap_or(source.id());
            json!({ "source": kind, "reference": reference, "amount": money(*amount) })
        })
        .collect();
    Ok(Json(json!({
        "invoice": invoice.id, "number": invoice.number, "currency": invoice.currency.to_string(),
        "total": money(invoice.total), "paid": money(paid), "credited": money(credited),
        "outstanding": money(owed), "payments": payments,
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

/// `GET /v1/receivables/overdue`: invoices past due with something owed, most overdue first.
pub async fn overdue(
    State(api): State<Api>,
    params: Result<Query<ReceivablesParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = crate::error::query(params)?;
    let as_of = params.as_of.unwrap_or_else(|| Utc::now().date_naive());
    let customer = params.customer.map(tally_domain::CustomerId::new);
    let late = receivables::overdue(&*api.store, customer.as_ref(), as_of).await.map_err(invoicer_error)?;
    let rows: Vec<Value> = late
        .iter()
        .map(|d| {
            json!({ "invoice": d.document, "number": d.number, "customer": d.customer, "currency": d.currency.to_string(),
                "total": d.amount.to_string(), "outstanding": d.owed.to_string(), "due": d.due.to_string(),
                "days_overdue": (as_of - d.due).num_days() })
        })
        .collect();
    Ok(Json(json!({ "as_of": as_of.to_string(), "invoices": rows })))
}

/// `GET /v1/receivables/aging`: what is owed per currency, by days past due.
pub async fn aging(
    State(api): State<Api>,
    params: Result<Query<ReceivablesParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = crate::error::query(params)?;
    let as_of = params.as_of.unwrap_or_else(|| Utc::now().date_naive());
    let customer = params.customer.map(tally_domain::CustomerId::new);
    let rows = receivables::aging(&*api.store, customer.as_ref(), as_of).await.map_err(invoicer_error)?;
    let currencies: Vec<Value> = rows
        .iter()
        .map(|row| {
            let buckets: Vec<Value> = AGING_BUCKETS
                .iter()
                .zip(row.buckets)
                .map(|(b, (amount, invoices))| json!({ "bucket": b, "outstanding": row.currency.show(amount), "invoices": invoices }))
                .collect();
            json!({ "currency": row.currency.to_string(), "outstanding": row.currency.show(row.owed()),
                "unapplied_credit": row.currency.show(row.unapplied_credit), "buckets": buckets })
        })
        .collect();
    Ok(Json(json!({ "as_of": as_of.to_string(), "currencies": currencies })))
}
