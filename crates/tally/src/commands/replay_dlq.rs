//! `tally replay-dlq`: feeds the dead letters through the decoder again (after a catalog
//! or producer fix) and stores those that are now valid.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tally_ingest::decode::{DecodeRules, Decoder};

use super::store_args::StoreArgs;

/// Arguments of `tally replay-dlq`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Kafka bootstrap servers (default: `ingest.kafka.brokers` of the settings).
    #[arg(long)]
    brokers: Option<String>,
    /// The dead-letter topic (default: `ingest.kafka.dead_letter_topic`, where
    /// `tally run` and `tally ingest` put them).
    #[arg(long)]
    dead_letter_topic: Option<String>,
    /// The settings these flags override.
    #[command(flatten)]
    config: super::settings::ConfigArgs,
    /// The (fixed) price catalog.
    #[arg(long, default_value = "config/catalog.toml")]
    catalog: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    /// How old an event's time may be, in days (0: no limit). Replays usually concern old events.
    #[arg(long, default_value_t = 0)]
    late_window_days: i64,
}

/// Runs `tally replay-dlq` and prints what happened.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let catalog = super::load_catalog(&args.catalog)?;
    let rules = DecodeRules {
        late_window: (args.late_window_days > 0).then(|| chrono::TimeDelta::days(args.late_window_days)),
        ..DecodeRules::default()
    };
    let decoder = Decoder::new(&catalog, rules);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let store = Arc::new(args.store.open(&runtime, "opening")?);
    let kafka = args.config.load()?.ingest.kafka;
    let brokers = args.brokers.clone().unwrap_or(kafka.brokers);
    let topic = args.dead_letter_topic.clone().unwrap_or(kafka.dead_letter_topic);
    let summary = tally_ingest::replay(&brokers, &topic, &decoder, store, runtime.handle())
        .with_context(|| format!("replaying {topic}"))?;
    let invalid: u64 = summary.still_invalid.values().sum();
    println!("read {} dead letters: {} now valid and stored, {invalid} still invalid", summary.read, summary.stored);
    for (reason, n) in &summary.still_invalid {
        println!("  still invalid, {reason}: {n}");
    }
    Ok(ExitCode::SUCCESS)
}
