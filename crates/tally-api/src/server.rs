//! Serving the API over HTTP/1.1 (or HTTPS) with the limits a server facing the
//! internet needs, which `axum::serve` does not offer: a cap on open connections, a
//! deadline for each request's headers (a client trickling bytes, or an idle kept-alive
//! connection, is cut off) and graceful shutdown that lets requests in flight finish.
//!
//! Built on hyper's own connection builder (`header_read_timeout` with tokio's timer)
//! and hyper-util's graceful shutdown, the pattern axum documents for custom servers;
//! the body deadline is the router's `request_timeout` layer (see `lib.rs`), which
//! answers 408 in the API's JSON error shape. Beyond `max_connections`, connections are
//! not accepted: they wait in the kernel's listen backlog until one closes, so a flood
//! of idle sockets costs Tally nothing but the backlog.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The server's limits.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Each request's headers (and a TLS handshake) must arrive within this.
    pub header_timeout: Duration,
    /// How long requests in flight may finish after shutdown begins.
    pub drain: Duration,
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listener failed.
    #[error("accepting connections: {0}")]
    Accept(#[from] std::io::Error),
}

/// Serves `app` on `listener` until `shutdown` completes; `tls` makes it HTTPS.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: ServerLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait, then go on accepting.
                Err(err) if is_transient(&err) => {
                    tracing::warn!(error = %err, "accepting a connection failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(err) => return Err(err.into()),
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        // The watcher is taken before the task starts: shutdown waits for it from now.
        let (acceptor, builder, watcher) = (tls.clone(), builder.clone(), graceful.watcher());
        let deadline = limits.header_timeout;
        tokio::spawn(async move {
            let served = match acceptor {
                None => watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await,
                Some(acceptor) => match tokio::time::timeout(deadline, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await,
                    Ok(Err(err)) => return tracing::debug!(%peer, error = %err, "TLS handshake failed"),
                    Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
                },
            };
            if let Err(err) = served {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after the drain time; closing them");
    }
    Ok(())
}

/// Accept errors that concern one connection or a passing shortage, not the listener.
fn is_transient(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(err.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
        || matches!(err.raw_os_error(), Some(23 | 24 | 12 | 105)) // ENFILE, EMFILE, ENOMEM, ENOBUFS
}
