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

/// Serves the HTTP API until shutdown, with the configured connection limits and
/// timeouts: HTTPS with `tls` (certificate and key files).
pub async fn serve_api(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    limits: tally_api::ServerLimits,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let acceptor = match tls {
        Some((cert, key)) => Some(tls_acceptor(&cert, &key).with_context(|| {
            format!("http.tls_cert / http.tls_key: reading {} and {}", cert.display(), key.display())
        })?),
        None => None,
    };
    tally_api::serve(listener, app, acceptor, limits, async move { shutdown.wait().await }).await?;
    Ok(())
}

/// A TLS acceptor for HTTP/1.1 from PEM files (rustls with ring).
fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}
