//! Finance over HTTP, the same calls as `tally export`, `tally report` and `tally rates`
//! (`tally_invoicer::books` reads, `tally_books` writes; nothing is decided here):
//!
//! - `GET /v1/exports/{format}?from=&to=&currency=&file=` (read): the import files of
//!   quickbooks, iif, xero, zoho or freshbooks as JSON (`files` with each one's name,
//!   media type and text, `notes`), or with `file=NAME` that file alone
//! - `GET /v1/reports?from=&to=&format=json|csv|xlsx&table=` (read)
//! - `GET /v1/rates` (read): the rates loaded, as JSON
//! - `POST /v1/rates` (admin): a rates file in the body (the ECB's CSV layout, or
//!   `date,base,quote,rate`)

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use tally_books::exports::{self, Format};
use tally_invoicer::InvoicerError;
use tally_store::RateStore;

use crate::{Api, ApiError};

/// A books error as the API answers it.
pub(crate) fn books_error(err: InvoicerError) -> ApiError {
    use tally_books::BooksError as B;
    match err {
        InvoicerError::Range(why) => ApiError::invalid("to", why),
        InvoicerError::Books(B::Rate { .. }) => ApiError::new(StatusCode::CONFLICT, "rate_missing", err.to_string()),
        InvoicerError::Books(B::Unmapped { .. }) => ApiError::new(StatusCode::CONFLICT, "unmapped", err.to_string()),
        InvoicerError::Books(B::Unsupported(why)) => ApiError::invalid("currency", why),
        other => crate::invoices::invoicer_error(other),
    }
}

/// An export's query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    from: NaiveDate,
    to: NaiveDate,
    currency: Option<String>,
    file: Option<String>,
}

async fn source<'c>(api: &'c Api, from: NaiveDate, to: NaiveDate) -> Result<tally_books::Source<'c>, ApiError> {
    tally_invoicer::books::source(&*api.store, &api.catalog, from, to, api.terms()).await.map_err(books_error)
}

/// `GET /v1/exports/{format}`.
pub async fn export(
    State(api): State<Api>,
    Path(format): Path<String>,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = crate::error::query(params)?;
    let format = Format::named(&format).ok_or_else(|| {
        ApiError::not_found(format!("no export {format:?}: quickbooks, iif, xero, zoho or freshbooks"))
    })?;
    let mut options = api.exports.clone();
    options.currency = match &params.currency {
        Some(code) => Some(code.parse().map_err(|e| ApiError::invalid("currency", e))?),
        None => None,
    };
    let source = source(&api, params.from, params.to).await?;
    let export = exports::export(format, &source, &options).map_err(|e| books_error(e.into()))?;
    match params.file {
        Some(name) => {
            let file = export
                .files
                .into_iter()
                .find(|f| f.name == name)
                .ok_or_else(|| ApiError::not_found(format!("this export has no file {name:?}")))?;
            let disposition = format!("attachment; filename=\"{}\"", file.name);
            Ok((
                [(header::CONTENT_TYPE, file.media_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)],
                file.content,
            )
                .into_response())
        }
        None => Ok(Json(json!(export)).into_response()),
    }
}

/// A report's query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    from: NaiveDate,
    to: NaiveDate,
    /// json (default), csv or xlsx.
    format: Option<String>,
    /// The CSV's table (default summary).
    table: Option<String>,
}

/// `GET /v1/reports`.
pub async fn report(
    State(api): State<Api>,
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = crate::error::query(params)?;
    let source = source(&api, params.from, params.to).await?;
    let report = tally_books::report::build(&source).map_err(|e| books_error(e.into()))?;
    match params.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(json!(report)).into_response()),
        "csv" => {
            let table = params.table.as_deref().unwrap_or("summary");
            let csv =
                tally_books::report::csv(&report, table).map_err(|e| books_error(e.into()))?.ok_or_else(|| {
                    ApiError::invalid(
                        "table",
                        format!("{table:?}: expected one of {}", tally_books::report::TABLES.join(", ")),
                    )
                })?;
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
        }
        "xlsx" => {
            let bytes = tally_books::report::workbook(&report).map_err(|e| books_error(e.into()))?;
            let name = format!("attachment; filename=\"tally-report-{}-{}.xlsx\"", params.from, params.to);
            let media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
            Ok(([(header::CONTENT_TYPE, media.to_owned()), (header::CONTENT_DISPOSITION, name)], bytes).into_response())
        }
        other => Err(ApiError::invalid("format", format!("{other:?}: expected json, csv or xlsx"))),
    }
}

/// `GET /v1/rates`.
pub async fn rates(State(api): State<Api>) -> Result<Json<Vec<Value>>, ApiError> {
    let rates = api.store.rates().await.map_err(ApiError::store)?;
    Ok(Json(
        rates
            .iter()
            .map(|r| json!({"date": r.day.to_string(), "base": r.base, "quote": r.quote, "rate": r.rate.to_string()}))
            .collect(),
    ))
}

/// `POST /v1/rates`.
pub async fn load(State(api): State<Api>, body: Bytes) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::invalid("body", "is not UTF-8 text"))?;
    let loaded = tally_domain::fx::file::parse(text).map_err(|e| ApiError::invalid("body", e))?;
    let changed = api.store.put_rates(&loaded.rates).await.map_err(ApiError::store)?;
    let body =
        json!({"rates": loaded.rates.len(), "changed": changed, "layout": loaded.layout, "skipped": loaded.skipped});
    Ok((StatusCode::OK, Json(body)).into_response())
}
