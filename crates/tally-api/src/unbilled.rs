//! `GET /v1/usage/unbilled?from=&to=` (read): usage stored in `[from, to)` that no
//! invoice will bill, by customer, meter, dimensions and reason (`unknown_customer`,
//! `outside_subscription`, `no_charge`), from `tally_invoicer::unbilled`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use tally_domain::Period;

use crate::invoices::invoicer_error;
use crate::usage::instant;
use crate::{Api, ApiError};

/// The query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnbilledParams {
    from: String,
    /// Default: now.
    to: Option<String>,
}

/// The handler.
pub async fn unbilled(
    State(api): State<Api>,
    params: Result<Query<UnbilledParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = crate::error::query(params)?;
    let from = instant("from", &params.from)?;
    let to = match &params.to {
        Some(to) => instant("to", to)?,
        None => Utc::now(),
    };
    let range = Period::new(from, to).map_err(|e| ApiError::invalid("to", e))?;
    let rows = tally_invoicer::unbilled::unbilled(&*api.store, &api.catalog, &range).await.map_err(invoicer_error)?;
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "customer": r.customer.as_str(), "reason": r.reason.name(), "meter": r.meter,
                "plan": r.plan.as_ref().map(|p| p.as_str()), "dimensions": r.dimensions,
                "quantity": r.quantity.normalize().to_string(),
            })
        })
        .collect();
    Ok(Json(json!({ "from": from.to_rfc3339(), "to": to.to_rfc3339(), "unbilled": rows })))
}
