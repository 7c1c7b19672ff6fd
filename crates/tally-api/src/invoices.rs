//! Invoices: `GET /v1/invoices?customer=&subscription=&state=&from=&to=` (newest
//! periods last), `GET /v1/invoices/{id}` (id or number; JSON, or the HTML a customer
//! receives with `?format=html` or `Accept: text/html`), `POST /v1/invoices/{id}/void`
//! (admin: a credit note, and with `{"revise": true}` a revised invoice), and
//! `GET /v1/customers/{id}/invoice-preview` (the current period so far, not stored).

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tally_domain::{CustomerId, SubscriptionId};
use tally_invoicer::InvoicerError;
use tally_invoicing::Invoice;
use tally_store::{AccountStore, InvoiceFilter, InvoiceStore};

use crate::{Api, ApiError};

/// The list's filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    customer: Option<String>,
    subscription: Option<String>,
    state: Option<String>,
    /// Periods starting at or after this instant.
    from: Option<String>,
    /// Periods starting before this instant.
    to: Option<String>,
    /// `invoice` or `credit_note`.
    document: Option<String>,
}

fn instant(field: &str, value: Option<&String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .map(|v| v.parse().map_err(|e| ApiError::invalid(field, format!("{v:?} is not an RFC 3339 time ({e})"))))
        .transpose()
}

/// The stored invoice with this id or number, as the store has it.
pub(crate) async fn stored_invoice(api: &Api, id: &str) -> Result<Invoice, ApiError> {
    let record = tally_invoicer::find_invoice(&*api.store, id)
        .await
        .map_err(invoicer_error)?
        .ok_or_else(|| ApiError::not_found(format!("no invoice with id or number {id}")))?;
    tally_invoicer::read_invoice(&record).map_err(invoicer_error)
}

pub(crate) fn invoicer_error(err: InvoicerError) -> ApiError {
    match err {
        InvoicerError::Store(e) => ApiError::store(e),
        InvoicerError::NotVoidable { id, why } => {
            ApiError::new(StatusCode::CONFLICT, "not_voidable", format!("invoice {id} cannot be voided: {why}"))
        }
        InvoicerError::PricesChanged { .. } => ApiError::new(StatusCode::CONFLICT, "prices_changed", err.to_string()),
        InvoicerError::NotRebillable { .. } => ApiError::new(StatusCode::CONFLICT, "not_rebillable", err.to_string()),
        InvoicerError::IssuedPeriods { .. } => ApiError::new(StatusCode::CONFLICT, "issued_periods", err.to_string()),
        InvoicerError::NotCreditable { id, why } => {
            ApiError::new(StatusCode::CONFLICT, "not_creditable", format!("invoice {id} cannot be credited: {why}"))
        }
        InvoicerError::Ledger(e) => {
            use tally_ledger::LedgerError as L;
            match e {
                L::Amount { .. } => ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()),
                L::Date { why, .. } => ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", format!("date: {why}")),
                L::Invalid { .. } => ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()),
                L::Reference { .. } => ApiError::new(StatusCode::CONFLICT, "reference_conflict", e.to_string()),
                L::Refused(_) => ApiError::new(StatusCode::CONFLICT, "refused", e.to_string()),
            }
        }
        other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", other.to_string()),
    }
}

/// `GET /v1/invoices`.
pub async fn list(
    State(api): State<Api>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let params = crate::error::query(params)?;
    let state = match params.state.as_deref() {
        None => None,
        Some(name) => Some(
            tally_invoicing::InvoiceState::from_name(name)
                .ok_or_else(|| ApiError::invalid("state", format!("{name:?}: expected draft, issued or void")))?,
        ),
    };
    let document = match params.document.as_deref() {
        None => None,
        Some("invoice") => Some(tally_invoicing::Document::Invoice),
        Some("credit_note") => Some(tally_invoicing::Document::CreditNote),
        Some(other) => {
            return Err(ApiError::invalid("document", format!("{other:?}: expected invoice or credit_note")))
        }
    };
    let filter = InvoiceFilter {
        customer: params.customer.map(CustomerId::new),
        subscription: params.subscription.map(SubscriptionId::new),
        state,
        from: instant("from", params.from.as_ref())?,
        to: instant("to", params.to.as_ref())?,
        ..InvoiceFilter::default()
    };
    let records = api.store.invoices(&filter).await.map_err(ApiError::store)?;
    let invoices = records
        .iter()
        .map(tally_invoicer::read_invoice)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invoicer_error)?
        .into_iter()
        .filter(|i| document.is_none_or(|d| i.document == d))
        .map(|i| serde_json::to_value(i).unwrap_or(Value::Null))
        .collect();
    Ok(Json(invoices))
}

/// How to show one invoice.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowParams {
    format: Option<String>,
}

/// `GET /v1/invoices/{id}`.
pub async fn show(
    State(api): State<Api>,
    Path(id): Path<String>,
    params: Result<Query<ShowParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = crate::error::query(params)?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = match params.format.as_deref() {
        Some(f @ ("html" | "json" | "pdf")) => f,
        Some(other) => return Err(ApiError::invalid("format", format!("{other:?}: expected json, html or pdf"))),
        None if accept.contains("application/pdf") => "pdf",
        None if accept.contains("text/html") => "html",
        None => "json",
    };
    let invoice = stored_invoice(&api, &id).await?;
    if format == "json" {
        return Ok(Json(invoice).into_response());
    }
    let sheet = tally_invoicer::document::sheet_of(&*api.store, &invoice, &api.issuer).await.map_err(invoicer_error)?;
    if format == "html" {
        let page = tally_invoicing::render::html(&sheet);
        return Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response());
    }
    // Laying out a PDF takes milliseconds of CPU: off the request threads.
    let fonts = api.fonts.clone();
    let made = tokio::task::spawn_blocking(move || tally_pdf::pdf(&sheet, &fonts))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("making the PDF: {e}")))?;
    let pdf = made.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "document", e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

/// The body of a void request (optional): `{"revise": true}` also issues a revised
/// invoice for the same period, from the usage as it is now.
fn revise_of(body: &[u8]) -> Result<bool, ApiError> {
    let invalid = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not JSON: {e}")))?;
    let object = value.as_object().ok_or_else(|| invalid("the body must be a JSON object".into()))?;
    if let Some(unknown) = object.keys().find(|k| *k != "revise") {
        return Err(invalid(format!("{unknown}: unknown field (the only one is revise)")));
    }
    match object.get("revise") {
        None => Ok(false),
        Some(Value::Bool(revise)) => Ok(*revise),
        Some(other) => Err(invalid(format!("revise: must be true or false, not {other}"))),
    }
}

/// `POST /v1/invoices/{id}/void`.
pub async fn void(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let revise = revise_of(&body)?;
    let prefixes = (api.prefixes.0.as_str(), api.prefixes.1.as_str());
    let terms = api.terms();
    let done = tally_invoicer::void(&*api.store, &api.catalog, &id, revise, Utc::now(), prefixes, terms)
        .await
        .map_err(invoicer_error)?;
    let revision = done.revision.map(|(id, number)| json!({ "id": id, "number": number }));
    let body = json!({
        "voided": done.voided,
        "credit_note": { "id": done.credit_note.0, "number": done.credit_note.1 },
        "revision": revision,
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// `GET /v1/customers/{id}/invoice-preview`.
pub async fn preview(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let customer = CustomerId::new(id.clone());
    if api.store.customer(&customer).await.map_err(ApiError::store)?.is_none() {
        return Err(ApiError::not_found(format!("no customer {id}")));
    }
    let invoices =
        tally_invoicer::preview(&*api.store, &api.catalog, &customer, Utc::now()).await.map_err(invoicer_error)?;
    Ok(Json(json!({ "customer": id, "as_of": Utc::now().to_rfc3339(), "invoices": invoices })))
}
