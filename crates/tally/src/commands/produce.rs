//! `tally produce`: writes generated AI usage to a Kafka topic and prints the totals the
//! invoices must show.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use clap::Args;
use tally_ingest::generate::{GenerateConfig, Generator, Kind};

use super::kafka_send::Sender;

/// Arguments of `tally produce`.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// Kafka bootstrap servers (sets `ingest.kafka.brokers`).
    #[arg(long)]
    brokers: Option<String>,
    /// The settings (`ingest.kafka.*`: servers and client properties; the catalog).
    #[command(flatten)]
    config: super::settings::ConfigArgs,
    /// Topic to write to.
    #[arg(long)]
    topic: String,
    /// Seed: the same seed and settings give the same messages.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Distinct valid events.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Customers; volumes are skewed toward the first ones.
    #[arg(long, default_value_t = 1_000)]
    customers: u32,
    /// Re-deliveries of earlier events, per thousand.
    #[arg(long, default_value_t = 20)]
    duplicates_per_mille: u32,
    /// Malformed messages, per thousand.
    #[arg(long, default_value_t = 5)]
    malformed_per_mille: u32,
    /// Start of the event times (RFC 3339); default: 7 days before the current hour.
    #[arg(long)]
    start: Option<DateTime<Utc>>,
    /// End of the event times (exclusive); default: the current hour.
    #[arg(long)]
    end: Option<DateTime<Utc>>,
    /// The events' `source`.
    #[arg(long, default_value = "tally-produce")]
    source: String,
    /// Where to write the expected totals (JSON lines); default: standard output.
    #[arg(long, value_name = "FILE")]
    expected: Option<PathBuf>,
}

/// Runs `tally produce`.
pub fn run(args: &ProduceArgs) -> anyhow::Result<std::process::ExitCode> {
    let overrides = super::settings::text_flag("ingest.kafka.brokers", &args.brokers, "--brokers");
    let settings = args.config.load_with(overrides.into_iter().collect())?;
    let catalog = super::load_catalog(&settings.catalog)?;
    let hour = Utc::now().duration_trunc(TimeDelta::hours(1)).context("truncating the time")?;
    let end = args.end.unwrap_or(hour);
    let start = args.start.unwrap_or(end - TimeDelta::days(7));
    anyhow::ensure!(start < end, "--start must be before --end");
    anyhow::ensure!(args.customers > 0, "--customers must be at least 1");
    let config = GenerateConfig {
        seed: args.seed,
        events: args.events,
        customers: args.customers,
        duplicates_per_mille: args.duplicates_per_mille,
        malformed_per_mille: args.malformed_per_mille,
        start,
        end,
        source: args.source.clone(),
    };
    let sender = Sender::new(&super::settings::kafka_client(&settings)?)?;
    let started = Instant::now();
    let mut generator = Generator::new(config, &catalog);
    let (mut valid, mut duplicates, mut malformed) = (0u64, 0u64, 0u64);
    for message in generator.by_ref() {
        match message.kind {
            Kind::Valid => valid += 1,
            Kind::Duplicate => duplicates += 1,
            Kind::Malformed => malformed += 1,
        }
        sender.send(&args.topic, message.key.as_bytes(), &message.payload)?;
    }
    sender.finish()?;
    let took = started.elapsed().as_secs_f64();
    let total = valid + duplicates + malformed;
    eprintln!(
        "produced {total} messages to {} in {took:.2} s ({:.0}/s): {valid} valid, {duplicates} duplicates, {malformed} malformed\nevent times from {start} to {end}",
        args.topic,
        total as f64 / took
    );
    let mut out: Box<dyn Write> = match &args.expected {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    for ((customer, meter), quantity) in generator.expected() {
        let line =
            serde_json::json!({ "customer": customer, "meter": meter, "quantity": quantity.normalize().to_string() });
        writeln!(out, "{line}").context("writing the expected totals")?;
    }
    out.flush().context("writing the expected totals")?;
    Ok(std::process::ExitCode::SUCCESS)
}
