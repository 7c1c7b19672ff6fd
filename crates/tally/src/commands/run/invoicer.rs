//! The invoicer role of `tally run`: closes due periods every `invoicer.every`, counts
//! runs, failures and invoices in Prometheus, and finishes a close in progress before
//! the process exits. A failed run is logged and retried at the next tick (closing is
//! idempotent: ids come from (subscription, period)).

use std::sync::Arc;

use chrono::Utc;
use prometheus::{
    CounterVec, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};
use rust_decimal::prelude::ToPrimitive;
use tally_config::InvoicerSettings;
use tally_domain::Catalog;
use tally_store::{AnyStore, InvoiceStore};

use super::shutdown::Shutdown;

/// The invoicer's metrics.
#[derive(Clone)]
pub struct InvoicerMetrics {
    runs: IntCounterVec,
    run_seconds: Histogram,
    issued: IntCounter,
    last_success: Gauge,
    /// Invoices in the store per state, refreshed after each run.
    invoices: IntGaugeVec,
    /// Amounts issued by this process per currency and plan. A float, for dashboards
    /// and alerts only: the invoices themselves are exact decimals.
    billed: CounterVec,
    /// Time per phase of a run; `compose` is the rating of every invoice.
    phase_seconds: HistogramVec,
    /// Subscriptions the last run could not close (each is logged with its reason).
    failed_subscriptions: IntGauge,
    /// Usage of the late window that no invoice will bill: groups (customer, meter,
    /// dimensions) and customers, per reason.
    unbilled_groups: IntGaugeVec,
    unbilled_customers: IntGaugeVec,
}

impl InvoicerMetrics {
    /// Creates and registers them.
    pub fn register(registry: &Registry) -> prometheus::Result<InvoicerMetrics> {
        let m = InvoicerMetrics {
            runs: IntCounterVec::new(
                Opts::new("tally_invoicer_runs_total", "Invoice runs, by outcome (ok, failed, skipped: another process was closing)."),
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
            invoices: IntGaugeVec::new(Opts::new("tally_invoices", "Invoices in the store, by state."), &["state"])?,
            billed: CounterVec::new(
                Opts::new(
                    "tally_invoicer_billed_amount_total",
                    "Amount issued on invoices by this process, in the currency's units.",
                ),
                &["currency", "plan"],
            )?,
            phase_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "tally_invoicer_phase_seconds",
                    "Time per phase of an invoice run (read, usage, compose = rating, write).",
                )
                .buckets(vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0]),
                &["phase"],
            )?,
            failed_subscriptions: IntGauge::new(
                "tally_invoicer_failed_subscriptions",
                "Subscriptions the last invoice run could not close (logged with the reason); the others were closed.",
            )?,
            unbilled_groups: IntGaugeVec::new(
                Opts::new(
                    "tally_unbilled_usage_groups",
                    "Usage of the late window no invoice will bill, in groups of (customer, meter, dimensions), by reason.",
                ),
                &["reason"],
            )?,
            unbilled_customers: IntGaugeVec::new(
                Opts::new(
                    "tally_unbilled_usage_customers",
                    "Customer ids with usage of the late window no invoice will bill, by reason.",
                ),
                &["reason"],
            )?,
        };
        for reason in tally_invoicer::unbilled::Reason::ALL {
            m.unbilled_groups.with_label_values(&[reason.name()]).set(0);
            m.unbilled_customers.with_label_values(&[reason.name()]).set(0);
        }
        for state in ["draft", "issued", "void"] {
            m.invoices.with_label_values(&[state]).set(0);
        }
        for outcome in ["ok", "failed", "skipped"] {
            m.runs.with_label_values(&[outcome]).reset();
        }
        registry.register(Box::new(m.runs.clone()))?;
        registry.register(Box::new(m.run_seconds.clone()))?;
        registry.register(Box::new(m.issued.clone()))?;
        registry.register(Box::new(m.last_success.clone()))?;
        registry.register(Box::new(m.invoices.clone()))?;
        registry.register(Box::new(m.billed.clone()))?;
        registry.register(Box::new(m.phase_seconds.clone()))?;
        registry.register(Box::new(m.failed_subscriptions.clone()))?;
        registry.register(Box::new(m.unbilled_groups.clone()))?;
        registry.register(Box::new(m.unbilled_customers.clone()))?;
        Ok(m)
    }

    fn record(&self, summary: &tally_invoicer::CloseSummary) {
        self.runs.with_label_values(&["ok"]).inc();
        self.issued.inc_by(summary.issued.len() as u64);
        self.last_success.set(Utc::now().timestamp() as f64);
        self.failed_subscriptions.set(i64::try_from(summary.failed.len()).unwrap_or(i64::MAX));
        for ((currency, plan), amount) in &summary.issued_by_plan {
            // Credit-carrying lines can be negative; a counter only goes up.
            if let Some(amount) = amount.to_f64().filter(|a| *a > 0.0) {
                self.billed.with_label_values(&[currency, plan]).inc_by(amount);
            }
        }
        for (phase, took) in &summary.phases {
            let label = match *phase {
                "read accounts and invoices" => "read",
                "usage queries" => "usage",
                "compose" => "compose",
                "write invoices" => "write",
                other => other,
            };
            self.phase_seconds.with_label_values(&[label]).observe(took.as_secs_f64());
        }
    }

    /// Looks for usage of the late window (what ingest still accepts) that no invoice
    /// will bill, and says how much there is.
    async fn count_unbilled(&self, store: &AnyStore, catalog: &Catalog, late_window: chrono::TimeDelta) {
        let now = Utc::now();
        let Ok(range) = tally_domain::Period::new(now - late_window, now) else { return };
        match tally_invoicer::unbilled::unbilled(store, catalog, &range).await {
            Ok(rows) => {
                for reason in tally_invoicer::unbilled::Reason::ALL {
                    let of: Vec<_> = rows.iter().filter(|r| r.reason == reason).collect();
                    let customers: std::collections::BTreeSet<_> = of.iter().map(|r| &r.customer).collect();
                    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
                    self.unbilled_groups.with_label_values(&[reason.name()]).set(count(of.len()));
                    self.unbilled_customers.with_label_values(&[reason.name()]).set(count(customers.len()));
                    if !of.is_empty() {
                        tracing::warn!(
                            reason = reason.name(),
                            groups = of.len(),
                            customers = customers.len(),
                            "usage that no invoice will bill (tally invoice unbilled lists it)"
                        );
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "looking for unbilled usage"),
        }
    }

    async fn count_invoices(&self, store: &AnyStore) {
        match store.invoice_states().await {
            Ok(states) => {
                for (state, n) in states {
                    self.invoices.with_label_values(&[&state]).set(i64::try_from(n).unwrap_or(i64::MAX));
                }
            }
            Err(err) => tracing::warn!(error = %err, "counting invoices by state"),
        }
    }
}

/// Closes due periods on schedule until shutdown.
pub async fn schedule(
    store: Arc<AnyStore>,
    catalog: Arc<Catalog>,
    settings: InvoicerSettings,
    reporting: Option<tally_invoicer::exchange::Reporting>,
    metrics: InvoicerMetrics,
    mut files_stored: tokio::sync::watch::Receiver<bool>,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    tokio::select! {
        // An error means the readers' task ended (failed): the process is stopping.
        _ = files_stored.wait_for(|stored| *stored) => {}
        () = shutdown.wait() => return Ok(()),
    }
    tracing::info!(every = %settings.every, grace = %settings.grace, "invoicer scheduled");
    loop {
        let options = crate::commands::settings::close_options(&settings, reporting, Utc::now());
        let started = std::time::Instant::now();
        // Off the runtime's workers: composing 100,000 invoices takes seconds of CPU,
        // which the same runtime's HTTP API and ingest must not wait for.
        match tally_invoicer::close_detached(store.clone(), catalog.clone(), options).await {
            Ok(summary) => {
                metrics.record(&summary);
                let level_info = !summary.issued.is_empty() || summary.drafts > 0 || !summary.failed.is_empty();
                if level_info {
                    tracing::info!(
                        issued = summary.issued.len(),
                        drafts = summary.drafts,
                        already_closed = summary.already_closed,
                        failed = summary.failed.len(),
                        seconds = started.elapsed().as_secs_f64(),
                        "invoice run"
                    );
                } else {
                    tracing::debug!(already_closed = summary.already_closed, "invoice run: nothing due");
                }
            }
            Err(err @ tally_invoicer::InvoicerError::CloseRunning { .. }) => {
                // Another process (a `tally invoice close`, another replica) is closing:
                // its invoices are its own to report; this run waits for the next tick.
                metrics.runs.with_label_values(&["skipped"]).inc();
                tracing::info!(reason = %err, "invoice run skipped");
            }
            Err(err) => {
                metrics.runs.with_label_values(&["failed"]).inc();
                tracing::error!(error = %err, "invoice run failed; retrying at the next tick");
            }
        }
        metrics.run_seconds.observe(started.elapsed().as_secs_f64());
        metrics.count_invoices(&store).await;
        metrics.count_unbilled(&store, &catalog, settings.late_window.delta()).await;
        tokio::select! {
            () = tokio::time::sleep(settings.every.get()) => {}
            () = shutdown.wait() => return Ok(()),
        }
    }
}
