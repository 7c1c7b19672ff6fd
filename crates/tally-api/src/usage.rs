//! `GET /v1/customers/{id}/usage?meter=&from=&to=&group_by=`: a customer's usage of
//! one meter over `[from, to)`, with exact decimals (as strings), optionally grouped
//! by event properties (comma-separated).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tally_domain::{CustomerId, Period};
use tally_store::{UsageItem, UsageQuery, UsageStore};

use crate::{Api, ApiError};

/// The query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    meter: String,
    from: String,
    to: String,
    group_by: Option<String>,
}

pub(crate) fn instant(field: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    value
        .parse::<DateTime<Utc>>()
        .map_err(|e| ApiError::invalid(field, format!("{value:?} is not an RFC 3339 time ({e})")))
}

/// The handler.
pub async fn usage(
    State(api): State<Api>,
    Path(id): Path<String>,
    params: Result<Query<UsageParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = crate::error::query(params)?;
    let meter = api.catalog.meter(&params.meter).ok_or_else(|| {
        let known: Vec<&str> = api.catalog.meters().iter().map(|m| m.key.as_str()).collect();
        ApiError::invalid("meter", format!("no meter {:?} in the catalog (known: {})", params.meter, known.join(", ")))
    })?;
    let (from, to) = (instant("from", &params.from)?, instant("to", &params.to)?);
    let period = Period::new(from, to).map_err(|e| ApiError::invalid("to", e))?;
    let group_by: Vec<String> = params
        .group_by
        .iter()
        .flat_map(|g| g.split(','))
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(String::from)
        .collect();
    let customer = CustomerId::new(id.clone());
    let query = UsageQuery {
        period,
        customer: Some(customer.clone()),
        customers: None,
        items: vec![UsageItem { meter: meter.clone(), filter: Default::default(), group_by: group_by.clone() }],
    };
    let rows = api.store.aggregate(&query).await.map_err(ApiError::store)?;
    let groups: Vec<Value> = rows
        .iter()
        .filter(|r| r.customer == customer)
        .map(|r| json!({ "dimensions": r.dimensions, "quantity": r.quantity.normalize().to_string() }))
        .collect();
    Ok(Json(json!({
        "customer": id,
        "meter": meter.key.as_str(),
        "from": from.to_rfc3339(),
        "to": to.to_rfc3339(),
        "group_by": group_by,
        "groups": groups,
    })))
}
