//! `GET /v1/invoices/{id}/lines/{line}/explain`: the evidence behind one usage line
//! (`tally_invoicer::explain`, which `tally invoice explain` shows too).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use tally_invoicer::explain::NoEvidence;
use tally_invoicer::InvoicerError;

use crate::{Api, ApiError};

/// The handler.
pub async fn explain(
    State(api): State<Api>,
    Path((id, line)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let position: usize = line
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ApiError::invalid("line", format!("{line:?}: lines count from 1")))?;
    match tally_invoicer::explain::explain(&*api.store, &api.catalog, &id, position).await {
        Ok(evidence) => Ok(Json(evidence)),
        Err(InvoicerError::NoEvidence { why, message }) => Err(match why {
            NoEvidence::NoInvoice | NoEvidence::NoLine | NoEvidence::NoCustomer => ApiError::not_found(message),
            NoEvidence::BadLine => ApiError::invalid("line", message),
            NoEvidence::NotUsage => ApiError::new(StatusCode::BAD_REQUEST, "not_usage", message),
            NoEvidence::CatalogChanged => ApiError::new(StatusCode::CONFLICT, "catalog_changed", message),
        }),
        Err(other) => Err(crate::invoices::invoicer_error(other)),
    }
}
