//! The invoicer role of `tally run`: closes due periods every `invoicer.every`, counts
//! runs, failures and invoices in Prometheus, and finishes a close in progress before
//! the process exits. A failed run is logged and retried at the next tick (closing is
//! idempotent: ids come from (subscription, period)).

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use prometheus::{Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};
use tally_config::InvoicerSettings;
use tally_domain::Catalog;
use tally_invoicer::CloseOptions;
use tally_store::AnyStore;

use super::shutdown::Shutdown;

/// The invoicer's metrics.
#[derive(Clone)]
pub struct InvoicerMetrics {
    runs: IntCounterVec,
    run_seconds: Histogram,
    issued: IntCounter,
    last_success: Gauge,
}

impl InvoicerMetrics {
    /// Creates and registers them.
    pub fn register(registry: &Registry) -> prometheus::Result<InvoicerMetrics> {
        let m = InvoicerMetrics {
            runs: IntCounterVec::new(
                Opts::new("tally_invoicer_runs_total", "Invoice runs, by outcome (ok, failed)."),
                &["outcome"],
            )?,
            run_seconds: Histogram::with_opts(
                HistogramOpts::new("tally_invoicer_run_seconds", "Duration of invoice runs.")
                    .buckets(vec![0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0]),
            )?,
            issued: IntCounter::new("tally_invoicer_invoices_issued_total", "Invoices issued by this process.")?,
            last_success: Gauge::new(
                "tally_invoicer_last_success_timestamp_seconds",
                "Unix time of the last invoice run that succeeded.",
            )?,
        };
        for outcome in ["ok", "failed"] {
            m.runs.with_label_values(&[outcome]).reset();
        }
        registry.register(Box::new(m.runs.clone()))?;
        registry.register(Box::new(m.run_seconds.clone()))?;
        registry.register(Box::new(m.issued.clone()))?;
        registry.register(Box::new(m.last_success.clone()))?;
        Ok(m)
    }
}

/// Closes due periods on schedule until shutdown.
pub async fn schedule(
    store: Arc<AnyStore>,
    catalog: Arc<Catalog>,
    settings: InvoicerSettings,
    metrics: InvoicerMetrics,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let grace = TimeDelta::from_std(settings.grace.get())?;
    let late_window = TimeDelta::from_std(settings.late_window.get())?;
    tracing::info!(every = %settings.every, grace = %settings.grace, "invoicer scheduled");
    loop {
        let options =
            CloseOptions { now: Utc::now(), grace, number_prefix: settings.number_prefix.clone(), late_window };
        let started = std::time::Instant::now();
        match tally_invoicer::close(&*store, &catalog, &options).await {
            Ok(summary) => {
                metrics.runs.with_label_values(&["ok"]).inc();
                metrics.issued.inc_by(summary.issued.len() as u64);
                metrics.last_success.set(Utc::now().timestamp() as f64);
                let level_info = !summary.issued.is_empty() || summary.drafts > 0;
                if level_info {
                    tracing::info!(
                        issued = summary.issued.len(),
                        drafts = summary.drafts,
                        already_closed = summary.already_closed,
                        seconds = started.elapsed().as_secs_f64(),
                        "invoice run"
                    );
                } else {
                    tracing::debug!(already_closed = summary.already_closed, "invoice run: nothing due");
                }
            }
            Err(err) => {
                metrics.runs.with_label_values(&["failed"]).inc();
                tracing::error!(error = %err, "invoice run failed; retrying at the next tick");
            }
        }
        metrics.run_seconds.observe(started.elapsed().as_secs_f64());
        tokio::select! {
            () = tokio::time::sleep(settings.every.get()) => {}
            () = shutdown.wait() => return Ok(()),
        }
    }
}
