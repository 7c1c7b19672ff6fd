//! The HTTP side of `tally run`: the API (`tally_api`, behind tokens) and `/metrics`
//! with `/healthz` and `/readyz` for Prometheus and probes. Both stop taking requests
//! on shutdown and let the ones in flight finish.

use prometheus::Registry;
use tokio::net::TcpListener;

use super::shutdown::Shutdown;
use crate::commands::ready::Readiness;

/// Serves `/metrics`, `/healthz` and `/readyz` until shutdown.
pub async fn serve_metrics(
    listener: TcpListener,
    registry: Registry,
    readiness: Readiness,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let app = crate::commands::metrics_http::router(registry, readiness);
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.wait().await }).await?;
    Ok(())
}

/// Serves the HTTP API until shutdown.
pub async fn serve_api(listener: TcpListener, app: axum::Router, mut shutdown: Shutdown) -> anyhow::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.wait().await }).await?;
    Ok(())
}
