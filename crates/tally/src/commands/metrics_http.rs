//! The Prometheus endpoint of a long-running command: `GET /metrics` in the text
//! exposition format (with the process's CPU, memory and file descriptors), `GET
//! /healthz` (alive) and `GET /readyz` (the store and brokers answer), on the address
//! given with `--metrics-listen` or `metrics.listen`.

use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, Registry, TextEncoder};

use super::ready::Readiness;

/// A registry with the process collector (`process_resident_memory_bytes`, ...).
pub fn registry() -> anyhow::Result<Registry> {
    let registry = Registry::new();
    registry
        .register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
        .context("registering process metrics")?;
    Ok(registry)
}

/// `/metrics`, `/healthz` and `/readyz`.
pub fn router(registry: Registry, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(registry)
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(move || async move { readiness.check().await }))
}

/// Binds `addr` and serves the registry on the runtime; returns the bound address
/// (port 0 picks a free one).
pub fn serve(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    registry: Registry,
    readiness: Readiness,
) -> anyhow::Result<SocketAddr> {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .with_context(|| format!("listening for /metrics on {addr}"))?;
    let bound = listener.local_addr().context("reading the metrics address")?;
    let app = router(registry, readiness);
    runtime.spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "the metrics endpoint stopped");
        }
    });
    tracing::info!(%bound, "serving /metrics, /healthz and /readyz");
    Ok(bound)
}

async fn metrics(State(registry): State<Registry>) -> impl IntoResponse {
    let mut body = Vec::new();
    match TextEncoder::new().encode(&registry.gather(), &mut body) {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], body).into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}
