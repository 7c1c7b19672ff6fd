//! The HTTP side of `tally run`: the API (`tally_api`, behind tokens) and `/metrics`
//! with `/healthz` and `/readyz` for Prometheus and probes. Both stop taking requests
//! on shutdown and let the ones in flight finish.

use anyhow::Context;
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

/// Serves the HTTP API until shutdown: HTTPS with `tls` (certificate and key files).
pub async fn serve_api(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let Some((cert, key)) = tls else {
        axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.wait().await }).await?;
        return Ok(());
    };
    // One process-wide crypto provider (ring); installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
        .await
        .with_context(|| format!("http.tls_cert / http.tls_key: reading {} and {}", cert.display(), key.display()))?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.wait().await;
        stopper.graceful_shutdown(Some(super::DRAIN));
    });
    axum_server::from_tcp_rustls(listener.into_std()?, config)?.handle(handle).serve(app.into_make_service()).await?;
    Ok(())
}
