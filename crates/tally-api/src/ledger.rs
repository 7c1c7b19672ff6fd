//! A customer's account over the ledger, so billing staff have over HTTP what the CLI
//! offers (`tally_invoicer::receivables` holds the rules; nothing is decided here):
//!
//! - `GET /v1/customers/{id}/statement?from=&to=&currency=&format=json|csv|html` (read)
//! - `GET /v1/customers/{id}/balance?as_of=` (read): per currency, the balance, what is
//!   owed, unused credit and the open invoices
//! - `POST /v1/customers/{id}/payments` (admin): money received, to named invoices or
//!   the oldest open ones; any more is credit
//! - `POST /v1/customers/{id}/payments/{reference}/reversal` (admin): bounced, charged back
//! - `POST /v1/customers/{id}/refunds` (admin): credit paid back out of a payment
//! - `POST /v1/invoices/{id}/write-off` (admin), `POST /v1/invoices/{id}/rebill` (admin)

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use tally_domain::{Currency, Customer, CustomerId};
use tally_invoicer::receivables::{self, On};
use tally_store::AccountStore;

use crate::invoices::{invoicer_error, stored_invoice};
use crate::{Api, ApiError};

async fn customer(api: &Api, id: &str) -> Result<Customer, ApiError> {
    api.store
        .customer(&CustomerId::new(id))
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("no customer {id}")))
}

fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message)
}

/// A day of a money act lies within the accounts' horizon (`accounts.max_backdate`
/// back: a payment "received" in year 235 is a typo, not a receipt).
pub(crate) fn within(api: &Api, field: &str, day: NaiveDate) -> Result<(), ApiError> {
    let at = day.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc();
    api.horizon.check(field, at, Utc::now()).map_err(|e| invalid(e.to_string()))
}

/// A positive decimal in `field`, or a 400 naming it.
pub(crate) fn amount(field: &str, text: &str) -> Result<Decimal, ApiError> {
    text.trim()
        .parse()
        .ok()
        .filter(|a: &Decimal| *a > Decimal::ZERO)
        .ok_or_else(|| invalid(format!("{field}: {text:?} is not a positive decimal")))
}

/// The statement's query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementParams {
    from: NaiveDate,
    to: NaiveDate,
    /// Default: the customer's currency.
    currency: Option<String>,
    /// json (default), csv or html.
    format: Option<String>,
}

/// `GET /v1/customers/{id}/statement`.
pub async fn statement(
    State(api): State<Api>,
    Path(id): Path<String>,
    params: Result<Query<StatementParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = crate::error::query(params)?;
    if params.to < params.from {
        return Err(ApiError::invalid("to", format!("{} is before from {}", params.to, params.from)));
    }
    let who = customer(&api, &id).await?;
    let currency: Currency = match &params.currency {
        Some(code) => code.parse().map_err(|e| ApiError::invalid("currency", format!("{code:?}: {e}")))?,
        None => who.currency,
    };
    let s =
        receivables::statement(&*api.store, &who.id, currency, params.from, params.to).await.map_err(invoicer_error)?;
    use tally_invoicing::render;
    Ok(match params.format.as_deref().unwrap_or("json") {
        "json" => Json(render::statement_json(&s)).into_response(),
        "csv" => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], render::statement_csv(&s)).into_response(),
        "html" => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], render::statement_html(&s, &who, &api.issuer.name))
                .into_response()
        }
        other => return Err(ApiError::invalid("format", format!("{other:?}: expected json, csv or html"))),
    })
}

/// The balance's query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceParams {
    /// Default: today (UTC).
    as_of: Option<NaiveDate>,
}

/// `GET /v1/customers/{id}/balance`.
pub async fn balance(
    State(api): State<Api>,
    Path(id): Path<String>,
    params: Result<Query<BalanceParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = crate::error::query(params)?;
    let who = customer(&api, &id).await?;
    let day = params.as_of.unwrap_or_else(|| Utc::now().date_naive());
    let totals = receivables::totals(&*api.store, Some(&who.id), day).await.map_err(invoicer_error)?;
    let currencies: Vec<Value> = totals
        .balances
        .iter()
        .map(|((_, currency), balance)| {
            let money = |a| currency.show(a);
            let open: Vec<Value> = totals
                .open
                .iter()
                .filter(|d| d.currency == *currency)
                .map(|d| {
                    json!({ "invoice": d.document, "number": d.number, "issued": d.issued.to_string(),
                        "due": d.due.to_string(), "total": money(d.amount), "outstanding": money(d.owed) })
                })
                .collect();
            let owed: Decimal = totals.open.iter().filter(|d| d.currency == *currency).map(|d| d.owed).sum();
            let credit = totals.credit.get(&(who.id.clone(), *currency)).copied().unwrap_or_default();
            json!({ "currency": currency.to_string(), "balance": money(*balance), "outstanding": money(owed),
                "unapplied_credit": money(credit), "open_invoices": open })
        })
        .collect();
    Ok(Json(json!({ "customer": who.id, "as_of": day.to_string(), "currencies": currencies })))
}

/// A payment to record on a customer's account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    amount: String,
    date: NaiveDate,
    reference: String,
    /// Invoices (ids or numbers) to pay first, in order; else the oldest open ones.
    #[serde(default)]
    invoices: Vec<String>,
    #[serde(default)]
    memo: String,
}

/// `POST /v1/customers/{id}/payments`: 201 recorded, 200 recorded already.
pub async fn record(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let new: NewPayment = crate::error::body(&body)?;
    let amount = amount("amount", &new.amount)?;
    let reference = new.reference.trim();
    if reference.is_empty() {
        return Err(invalid("reference: is empty".into()));
    }
    within(&api, "date", new.date)?;
    let who = customer(&api, &id).await?;
    let mut to = Vec::with_capacity(new.invoices.len());
    for given in &new.invoices {
        let invoice = stored_invoice(&api, given).await?;
        if invoice.customer != who.id {
            return Err(invalid(format!("invoices: {given} is not an invoice of {}", who.id)));
        }
        to.push(invoice.id);
    }
    let on = On { customer: &who.id, currency: who.currency, day: new.date, now: Utc::now() };
    let done = receivables::record_payment(&*api.store, on, reference, amount, &to, &new.memo)
        .await
        .map_err(invoicer_error)?;
    let money = |a| who.currency.show(a);
    let allocated: Vec<Value> = done
        .allocated
        .iter()
        .map(|(invoice, number, paid, owed)| {
            json!({ "invoice": invoice, "number": number, "amount": money(*paid), "outstanding": money(*owed) })
        })
        .collect();
    let status = if done.recorded { StatusCode::CREATED } else { StatusCode::OK };
    let body = json!({ "recorded": done.recorded, "reference": reference, "currency": who.currency.to_string(),
        "allocated": allocated, "credit": money(done.credit) });
    Ok((status, Json(body)).into_response())
}

/// A reversal: why, and when (default today).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reversal {
    reason: String,
    date: Option<NaiveDate>,
}

/// `POST /v1/customers/{id}/payments/{reference}/reversal`.
pub async fn reverse(
    State(api): State<Api>,
    Path((id, reference)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let r: Reversal = crate::error::body(&body)?;
    if r.reason.trim().is_empty() {
        return Err(invalid("reason: is empty".into()));
    }
    if let Some(day) = r.date {
        within(&api, "date", day)?;
    }
    let who = customer(&api, &id).await?;
    let now = Utc::now();
    let on = On { customer: &who.id, currency: who.currency, day: r.date.unwrap_or(now.date_naive()), now };
    let entries =
        receivables::reverse_payment(&*api.store, on, &reference, r.reason.trim()).await.map_err(invoicer_error)?;
    Ok(Json(json!({ "reversed": !entries.is_empty(), "reference": reference, "entries": entries.len() })))
}

/// A refund of a payment's unallocated part.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    payment: String,
    reference: String,
    amount: String,
    date: Option<NaiveDate>,
}

/// `POST /v1/customers/{id}/refunds`.
pub async fn refund(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let r: Refund = crate::error::body(&body)?;
    let amount = amount("amount", &r.amount)?;
    if r.reference.trim().is_empty() {
        return Err(invalid("reference: is empty".into()));
    }
    if let Some(day) = r.date {
        within(&api, "date", day)?;
    }
    let who = customer(&api, &id).await?;
    let now = Utc::now();
    let on = On { customer: &who.id, currency: who.currency, day: r.date.unwrap_or(now.date_naive()), now };
    let entries = receivables::refund(&*api.store, on, r.payment.trim(), r.reference.trim(), amount)
        .await
        .map_err(invoicer_error)?;
    let status = if entries.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    let body = json!({ "refunded": !entries.is_empty(), "reference": r.reference.trim(),
        "amount": who.currency.show(amount), "currency": who.currency.to_string() });
    Ok((status, Json(body)).into_response())
}

/// A write-off: why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteOff {
    reason: String,
}

/// `POST /v1/invoices/{id}/write-off`.
pub async fn write_off(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let w: WriteOff = crate::error::body(&body)?;
    if w.reason.trim().is_empty() {
        return Err(invalid("reason: is empty".into()));
    }
    let invoice = stored_invoice(&api, &id).await?;
    let now = Utc::now();
    let on = On { customer: &invoice.customer, currency: invoice.currency, day: now.date_naive(), now };
    let entries =
        receivables::write_off(&*api.store, on, &invoice.id, w.reason.trim()).await.map_err(invoicer_error)?;
    let amount = entries.first().map_or(Decimal::ZERO, |e| e.amount);
    Ok(Json(json!({ "invoice": invoice.id, "number": invoice.number, "written_off": invoice.currency.show(amount) })))
}

/// `POST /v1/invoices/{id}/rebill`: bills again the period of an invoice voided
/// without a revision.
pub async fn rebill(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (revision, number) =
        tally_invoicer::rebill(&*api.store, &api.catalog, &id, Utc::now(), &api.prefixes.0, api.terms())
            .await
            .map_err(invoicer_error)?;
    Ok((StatusCode::CREATED, Json(json!({ "revision": { "id": revision, "number": number } }))).into_response())
}
