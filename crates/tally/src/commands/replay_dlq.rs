//! `tally replay-dlq`: feeds the dead letters through the decoder again (after a catalog
//! or producer fix) and stores those that are now valid.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tally_config::Override;
use tally_ingest::decode::Decoder;

use super::settings::{decode_rules, kafka_client, open_store_on, span_flag, text_flag, ConfigArgs};

/// Arguments of `tally replay-dlq`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Kafka bootstrap servers (sets `ingest.kafka.brokers`).
    #[arg(long)]
    brokers: Option<String>,
    /// The dead-letter topic (sets `ingest.kafka.dead_letter_topic`, where `tally run`
    /// and `tally ingest` put them).
    #[arg(long)]
    dead_letter_topic: Option<String>,
    /// The settings these flags override, the store and the (fixed) catalog.
    #[command(flatten)]
    config: ConfigArgs,
    /// How old an event's time may be, in days (sets `ingest.late_window`). Older
    /// events stay dead letters: billing them means correcting issued invoices, which
    /// `tally backfill` does.
    #[arg(long)]
    late_window_days: Option<i64>,
}

/// Runs `tally replay-dlq` and prints what happened.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let overrides: Vec<Override> = [
        text_flag("ingest.kafka.brokers", &args.brokers, "--brokers"),
        text_flag("ingest.kafka.dead_letter_topic", &args.dead_letter_topic, "--dead-letter-topic"),
        span_flag("ingest.late_window", args.late_window_days, "days", "--late-window-days"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let settings = args.config.load_with(overrides)?;
    let catalog = super::load_catalog(&settings.catalog)?;
    let decoder = Decoder::new(&catalog, decode_rules(&settings.ingest));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let store = Arc::new(open_store_on(&runtime, &settings)?);
    let client = kafka_client(&settings)?;
    let topic = &settings.ingest.kafka.dead_letter_topic;
    let summary = tally_ingest::replay(&client, topic, &decoder, store, runtime.handle())
        .with_context(|| format!("replaying {topic}"))?;
    let invalid: u64 = summary.still_invalid.values().sum();
    println!("read {} dead letters: {} now valid and stored, {invalid} still invalid", summary.read, summary.stored);
    for (reason, n) in &summary.still_invalid {
        println!("  still invalid, {reason}: {n}");
    }
    Ok(ExitCode::SUCCESS)
}
