//! Tally's HTTP API, as an axum router that `tally run` serves.
//!
//! Every route is authenticated with an API token (`Authorization: Bearer ...`) whose
//! SHA-256 is configured with a role: `ingest` may only send events, `read` may read
//! everything, `admin` may also change things (void invoices). A missing or unknown
//! token gets 401, a known token without the role 403. Errors are JSON objects with a
//! stable `code` and a `message`.
//!
//! The crate knows the store, the invoicer and where events go (the ingest intake, or
//! the Kafka forwarder); it knows nothing of how the process is configured: the binary
//! builds [`Api`].

mod accounts;
mod auth;
mod books;
mod credit_notes;
mod error;
mod events;
mod explain;
mod invoices;
mod ledger;
mod metrics;
mod receivables;
mod server;
#[cfg(test)]
mod tests;
mod unbilled;
mod usage;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use tally_domain::Catalog;
use tally_ingest::{Forwarder, IngestError, Intake, Outcome};
use tally_store::AnyStore;

pub use auth::{hash_token, Role, Token, Tokens};
pub use error::ApiError;
pub use metrics::HttpMetrics;
pub use server::{serve, ServeError, ServerLimits};

/// What the routes work with.
#[derive(Clone)]
pub struct Api {
    /// The store (usage, accounts, invoices).
    pub store: Arc<AnyStore>,
    /// The price catalog.
    pub catalog: Arc<Catalog>,
    /// Where `POST /v1/events` writes.
    pub events: Events,
    /// Who may call.
    pub tokens: Arc<Tokens>,
    /// Who issues documents.
    pub issuer: Arc<tally_invoicing::document::Issuer>,
    /// The fonts PDFs are set in.
    pub fonts: Arc<tally_pdf::Fonts>,
    /// Numbering of revisions and credit notes.
    pub prefixes: (String, String),
    /// How far from today subscription dates may be set.
    pub horizon: tally_domain::DateHorizon,
    /// How long after issue an invoice is due, and the reporting currency.
    pub terms: tally_invoicer::receivables::Terms,
    /// How the accounting import files are written (`[exports]`).
    pub exports: tally_books::exports::ExportOptions,
    /// Event requests allowed at once; more get 429.
    pub in_flight: Arc<tokio::sync::Semaphore>,
}

/// Where events sent over HTTP go.
#[derive(Clone)]
pub enum Events {
    /// Embedded mode: the intake's durable write into the store.
    Store(Arc<Intake<AnyStore>>),
    /// Kafka mode: produced to the usage topic (rejected ones to the dead letters).
    Kafka(Arc<Forwarder<AnyStore>>),
}

impl Api {
    /// The receivables' terms.
    pub(crate) fn terms(&self) -> tally_invoicer::receivables::Terms {
        self.terms
    }
}

impl Events {
    async fn write(&self, messages: Vec<&[u8]>) -> Result<Vec<Outcome>, IngestError> {
        match self {
            Events::Store(intake) => intake.write(messages).await,
            Events::Kafka(forwarder) => forwarder.write(messages).await,
        }
    }

    fn unavailable_code(&self) -> &'static str {
        match self {
            Events::Store(_) => "store_unavailable",
            Events::Kafka(_) => "kafka_unavailable",
        }
    }
}

/// Limits on what one request may send and take.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Largest body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Longest a request may take, body included (408 beyond).
    pub timeout: std::time::Duration,
}

/// Every route, behind the token check, counted in `metrics`; every error JSON.
pub fn router(api: Api, limits: RequestLimits, metrics: HttpMetrics) -> Router {
    let max_body_bytes = limits.max_body_bytes;
    let routes = Router::new()
        .route("/v1/events", post(events::post))
        .route("/v1/customers", get(accounts::customers).post(accounts::create_customer))
        .route("/v1/customers/{id}", get(accounts::customer).patch(accounts::update_customer))
        .route("/v1/customers/{id}/usage", get(usage::usage))
        .route("/v1/usage/unbilled", get(unbilled::unbilled))
        .route("/v1/customers/{id}/invoice-preview", get(invoices::preview))
        .route("/v1/customers/{id}/statement", get(ledger::statement))
        .route("/v1/customers/{id}/balance", get(ledger::balance))
        .route("/v1/customers/{id}/payments", post(ledger::record))
        .route("/v1/customers/{id}/payments/{reference}/reversal", post(ledger::reverse))
        .route("/v1/customers/{id}/refunds", post(ledger::refund))
        .route("/v1/subscriptions", get(accounts::subscriptions).post(accounts::create_subscription))
        .route("/v1/subscriptions/{id}", get(accounts::subscription).patch(accounts::update_subscription))
        .route("/v1/invoices", get(invoices::list))
        .route("/v1/invoices/{id}", get(invoices::show))
        .route("/v1/invoices/{id}/void", post(invoices::void))
        .route("/v1/invoices/{id}/credit-notes", post(credit_notes::issue))
        .route("/v1/invoices/{id}/write-off", post(ledger::write_off))
        .route("/v1/invoices/{id}/rebill", post(ledger::rebill))
        .route("/v1/invoices/{id}/lines/{line}/explain", get(explain::explain))
        .route("/v1/invoices/{id}/payments", get(receivables::list).post(receivables::record))
        .route("/v1/receivables/overdue", get(receivables::overdue))
        .route("/v1/receivables/aging", get(receivables::aging))
        .route("/v1/exports/{format}", get(books::export))
        .route("/v1/reports", get(books::report))
        .route("/v1/rates", get(books::rates).post(books::load))
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(api.clone(), auth::check))
        .with_state(api);
    routes
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/openapi.json", get(|| async { ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI) }))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(limits.timeout, error::request_timeout))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
}

/// The OpenAPI document of these routes (checked in as `crates/tally-api/openapi.json`).
pub const OPENAPI: &str = include_str!("../openapi.json");
