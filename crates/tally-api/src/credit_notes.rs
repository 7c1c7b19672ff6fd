//! `POST /v1/invoices/{id}/credit-notes` (admin): part of an issued invoice given back
//! with a credit note, for an amount or for whole lines, with a reason and a memo
//! (`tally_invoicer::credit`, where the rules are). 201 with the credit note's number
//! and what the invoice still owes; 200 when the same credit note was issued already;
//! 409 when the invoice cannot be credited so (voided, a draft, more than is left).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use tally_invoicer::Credit;

use crate::invoices::{invoicer_error, stored_invoice};
use crate::{Api, ApiError};

/// A credit note to issue: `amount` or `lines`, not both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCreditNote {
    /// A decimal string in the invoice's currency, e.g. "250.00".
    amount: Option<String>,
    /// Positions (from 0) of the invoice's lines to give back whole.
    lines: Option<Vec<usize>>,
    /// Why.
    reason: String,
    /// A note kept with it.
    #[serde(default)]
    memo: String,
}

/// `POST /v1/invoices/{id}/credit-notes`.
pub async fn issue(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let new: NewCreditNote = crate::error::body(&body)?;
    let invalid = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message);
    let what = match (&new.amount, &new.lines) {
        (Some(amount), None) => Credit::Amount(crate::ledger::amount("amount", amount)?),
        (None, Some(lines)) => Credit::Lines(lines.clone()),
        _ => return Err(invalid("give either amount or lines".into())),
    };
    // 404 for an invoice that does not exist, before anything else.
    let invoice = stored_invoice(&api, &id).await?;
    let terms = api.terms();
    let prefix = api.prefixes.1.as_str();
    let done = tally_invoicer::credit(
        &*api.store,
        &api.catalog,
        &invoice.id,
        &what,
        &new.reason,
        &new.memo,
        Utc::now(),
        prefix,
        terms,
    )
    .await
    .map_err(invoicer_error)?;
    let money = |a| done.currency.show(a);
    let body = json!({
        "credit_note": { "id": done.credit_note.0, "number": done.credit_note.1 },
        "invoice": done.invoice,
        "currency": done.currency.to_string(),
        "amount": money(done.amount),
        "outstanding": money(done.owed),
    });
    let status = if done.issued { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(body)).into_response())
}
