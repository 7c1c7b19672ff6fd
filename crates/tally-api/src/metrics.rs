//! Request metrics of the API: `tally_http_requests_total{route,method,status}` and
//! `tally_http_request_seconds{route}`. The route is the matched template
//! (`/v1/invoices/{id}`), never the concrete path: labels stay bounded.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// The API's metrics.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    seconds: HistogramVec,
}

impl HttpMetrics {
    /// Creates and registers them.
    pub fn register(registry: &Registry) -> prometheus::Result<HttpMetrics> {
        let m = HttpMetrics {
            requests: IntCounterVec::new(
                Opts::new("tally_http_requests_total", "API requests by route template, method and status."),
                &["route", "method", "status"],
            )?,
            seconds: HistogramVec::new(
                HistogramOpts::new("tally_http_request_seconds", "API request duration by route template.")
                    .buckets(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0]),
                &["route"],
            )?,
        };
        registry.register(Box::new(m.requests.clone()))?;
        registry.register(Box::new(m.seconds.clone()))?;
        Ok(m)
    }
}

/// The middleware.
pub async fn track(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.seconds.with_label_values(&[&route]).observe(started.elapsed().as_secs_f64());
    metrics.requests.with_label_values(&[&route, &method, response.status().as_str()]).inc();
    response
}
