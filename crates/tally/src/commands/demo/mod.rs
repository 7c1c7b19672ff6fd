//! `tally demo`: a month of AI platform usage, metered, rated and invoiced in one
//! command, so a newcomer sees the whole pipeline work.
//!
//! It creates a few hundred customers on the sample catalog's plans, generates their
//! month (LLM tokens by model and direction, GPU seconds by GPU type, training
//! sessions, with a share of duplicates and malformed events on purpose), sends it
//! through the configured pipeline (the embedded intake, or Kafka and an ingest worker
//! into ClickHouse), closes the month with the invoicer and prints what it billed.
//! The clock is the month's: the same seed and month give the same invoices, in
//! either mode.

mod accounts;
mod feed;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use clap::Args;
use tally_config::{Settings, Source, StoreKind};
use tally_domain::Period;
use tally_ingest::generate::GenerateConfig;
use tally_store::{AccountStore, AnyStore, InvoiceFilter, InvoiceStore};

use super::settings::{open_store, ConfigArgs};

/// Arguments of `tally demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Seed: the same seed, size and month give the same events and invoices.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Distinct valid events to generate (duplicates and malformed ones come on top);
    /// the default takes 5-11 s on 2 cores, embedded.
    #[arg(long, default_value_t = 500_000)]
    events: u64,
    /// Customers.
    #[arg(long, default_value_t = 300)]
    customers: u32,
    /// The month to bill, YYYY-MM.
    #[arg(long, default_value = "2026-10", value_parser = parse_month)]
    month: NaiveDate,
    /// Where the invoices (JSON and HTML), the summary and, in embedded mode, the store go.
    /// Emptied first.
    #[arg(long, default_value = "tally-demo")]
    out: PathBuf,
    /// Also write every generated message, as sent, to this NDJSON file.
    #[arg(long, value_name = "FILE")]
    events_file: Option<PathBuf>,
    /// Re-deliveries of earlier events, per thousand.
    #[arg(long, default_value_t = 10)]
    duplicates_per_mille: u32,
    /// Malformed events, per thousand.
    #[arg(long, default_value_t = 2)]
    malformed_per_mille: u32,
}

fn parse_month(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").map_err(|_| format!("{text:?}: expected YYYY-MM"))
}

/// Runs `tally demo`.
pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.customers > 0, "--customers must be at least 1");
    anyhow::ensure!(args.events > 0, "--events must be at least 1");
    let mut settings = args.config.load()?;
    let catalog = super::load_catalog(&settings.catalog)?;
    prepare_out(args, &mut settings)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let started = Instant::now();
    let store = std::sync::Arc::new(runtime.block_on(open_store(&settings))?);
    runtime.block_on(require_empty(&store, &settings))?;

    let month = args.month;
    let next = month.checked_add_months(Months::new(1)).context("--month is too far in the future")?;
    let accounts = accounts::accounts(args.customers, month);
    let (customers, subscriptions): (Vec<_>, Vec<_>) = accounts.into_iter().unzip();
    for (customer, subscription) in customers.iter().zip(&subscriptions) {
        subscription.validate(customer, &catalog).with_context(|| format!("demo subscription {}", subscription.id))?;
    }
    runtime.block_on(async {
        store.put_customers(&customers).await?;
        store.put_subscriptions(&subscriptions).await
    })?;

    // Event times fall in every customer's local month; the clock is an hour and a
    // minute past the last local month end, so every period closes, issued.
    let starts = accounts::zones().map(|z| accounts::local_midnight(z, month));
    let ends: Vec<DateTime<Utc>> = accounts::zones().map(|z| accounts::local_midnight(z, next)).collect();
    let window = Period::new(starts.max().expect("zones"), *ends.iter().min().expect("zones"))?;
    let now = *ends.iter().max().expect("zones") + settings.invoicer.grace.delta() + TimeDelta::minutes(1);
    let generate = GenerateConfig {
        seed: args.seed,
        events: args.events,
        customers: args.customers,
        duplicates_per_mille: args.duplicates_per_mille,
        malformed_per_mille: args.malformed_per_mille,
        start: window.start(),
        end: window.end(),
        source: "tally-demo".to_owned(),
    };
    let fed = feed::feed(&runtime, &settings, &catalog, &store, generate, now, args.events_file.as_deref())?;

    let closing = Instant::now();
    let bar = report::spinner("closing the month");
    let options = super::settings::close_options(&settings.invoicer, super::settings::reporting(&settings)?, now);
    let closed = runtime.block_on(tally_invoicer::close(&*store, &catalog, &options)).context("closing the month")?;
    bar.finish_and_clear();
    let close_seconds = closing.elapsed().as_secs_f64();
    tracing::info!(phases = ?closed.phases, "month closed");

    let records = runtime.block_on(store.invoices(&InvoiceFilter::default()))?;
    let distinct = runtime.block_on(tally_store::UsageStore::count_events(&*store, &window))?;
    let invoices_dir = args.out.join("invoices");
    let issuer = super::documents::issuer(&settings)?;
    let fonts = super::documents::fonts(&settings)?;
    report::write_invoices(&records, &customers, &invoices_dir, (&issuer, &fonts))?;
    let summary = report::Summary::new(&catalog, &customers, &records, &fed, distinct, closed.issued.len());
    let timing = report::Timing { feed: fed.seconds, close: close_seconds, total: started.elapsed().as_secs_f64() };
    summary.write_json(&args.out.join("summary.json"), &timing)?;
    report::print(
        &summary,
        &timing,
        &Header { month, seed: args.seed, store: settings.store.describe(), mode: mode(&settings) },
        &invoices_dir,
    );
    Ok(ExitCode::SUCCESS)
}

/// What the demo ran on, for the summary's first lines.
pub struct Header {
    month: NaiveDate,
    seed: u64,
    store: String,
    mode: &'static str,
}

fn mode(settings: &Settings) -> &'static str {
    match (settings.ingest.source, settings.store.kind) {
        (Source::Kafka, StoreKind::Clickhouse) => "Kafka + ClickHouse",
        (Source::Kafka, StoreKind::Embedded) => "Kafka + embedded store",
        (Source::Files, StoreKind::Clickhouse) => "embedded intake + ClickHouse",
        (Source::Files, StoreKind::Embedded) => "embedded (no servers)",
    }
}

impl Header {
    fn month_name(&self) -> String {
        format!("{} {}", self.month.format("%B"), self.month.year())
    }
}

/// Empties the output directory; in embedded mode the demo's store lives there.
fn prepare_out(args: &DemoArgs, settings: &mut Settings) -> anyhow::Result<()> {
    let out = &args.out;
    if out.exists() {
        let looks_like_ours = out.join("summary.json").exists() || std::fs::read_dir(out)?.next().is_none();
        anyhow::ensure!(
            looks_like_ours,
            "--out {}: the directory exists and holds no earlier demo (summary.json); choose another",
            out.display()
        );
        std::fs::remove_dir_all(out).with_context(|| format!("emptying {}", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    if settings.store.kind == StoreKind::Embedded {
        settings.store.embedded.path = out.join("tally.db");
    }
    Ok(())
}

/// The demo writes customers, subscriptions and invoice numbers: on a server store
/// it needs a database of its own.
async fn require_empty(store: &AnyStore, settings: &Settings) -> anyhow::Result<()> {
    let customers = store.customers().await?.len();
    let invoices = store.invoices(&InvoiceFilter::default()).await?.len();
    anyhow::ensure!(
        customers == 0 && invoices == 0,
        "{} already has {customers} customers and {invoices} invoices; run the demo on a database of its own \
         (e.g. TALLY__STORE__CLICKHOUSE__DATABASE=tally_demo)",
        settings.store.describe()
    );
    Ok(())
}
