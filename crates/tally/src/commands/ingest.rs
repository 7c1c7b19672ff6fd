//! `tally ingest`: a Kafka ingest worker writing to ClickHouse or the embedded store.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::TimeDelta;
use clap::Args;
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_ingest::{IngestConfig, IngestMetrics, Worker};

use super::store_args::StoreArgs;

/// Arguments of `tally ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Kafka bootstrap servers (default: `ingest.kafka.brokers` of the settings).
    #[arg(long)]
    brokers: Option<String>,
    /// Consumer group; workers of one group share the partitions (default:
    /// `ingest.kafka.group`).
    #[arg(long)]
    group: Option<String>,
    /// This worker's stable identity in the group (Kafka static membership), e.g. the
    /// pod name of a StatefulSet: a restarted worker takes its partitions back at once
    /// instead of waiting for the group to notice the old process is gone.
    #[arg(long)]
    instance_id: Option<String>,
    /// Topic of usage events (repeat for several; default: `ingest.kafka.topics`).
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// Topic for events that cannot be billed (default: `ingest.kafka.dead_letter_topic`,
    /// the one `tally run` and `tally replay-dlq` use).
    #[arg(long)]
    dead_letter_topic: Option<String>,
    /// The settings these flags override.
    #[command(flatten)]
    config: super::settings::ConfigArgs,
    /// The price catalog whose meters events are validated against.
    #[arg(long, default_value = "config/catalog.toml")]
    catalog: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    /// Messages per batch (at most).
    #[arg(long, default_value_t = 20_000)]
    batch_messages: usize,
    /// Longest a message waits in a batch, in milliseconds.
    #[arg(long, default_value_t = 500)]
    batch_wait_ms: u64,
    /// Largest accepted message, in bytes.
    #[arg(long, default_value_t = 65_536)]
    max_message_bytes: usize,
    /// How far in the future an event's time may be, in seconds.
    #[arg(long, default_value_t = 300)]
    future_skew_secs: i64,
    /// A librdkafka consumer property, KEY=VALUE (repeatable; applied last).
    #[arg(long = "kafka-property", value_name = "KEY=VALUE")]
    kafka_properties: Vec<String>,
    /// How old an event's time may be, in days (0: no limit).
    #[arg(long, default_value_t = 35)]
    late_window_days: i64,
    /// Longest one attempt to write a batch may take before it is abandoned and retried, in seconds.
    #[arg(long, default_value_t = 60)]
    store_timeout_secs: u64,
    /// Serve Prometheus metrics on this address (`GET /metrics`, `GET /healthz`), e.g. 0.0.0.0:9464.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Exit 0 once everything the topics held at start is stored and committed (a
    /// backfill of a topic that is not growing; meant for a single worker).
    #[arg(long)]
    stop_at_end: bool,
}

/// Runs `tally ingest` until SIGTERM or SIGINT (or the end, with `--stop-at-end`).
pub fn run(args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let catalog = super::load_catalog(&args.catalog)?;
    let rules = DecodeRules {
        max_bytes: args.max_message_bytes,
        future_skew: TimeDelta::seconds(args.future_skew_secs),
        late_window: (args.late_window_days > 0).then(|| TimeDelta::days(args.late_window_days)),
    };
    let decoder = Decoder::new(&catalog, rules);
    // Flags override the settings tree, where every default lives once.
    let kafka = args.config.load()?.ingest.kafka;
    let brokers = args.brokers.clone().unwrap_or(kafka.brokers);
    let group = args.group.clone().unwrap_or(kafka.group);
    let topics = if args.topics.is_empty() { kafka.topics } else { args.topics.clone() };
    let dead_letter_topic = args.dead_letter_topic.clone().unwrap_or(kafka.dead_letter_topic);
    let mut config = IngestConfig::new(&brokers, &group, topics, &dead_letter_topic);
    config.batch_max_messages = args.batch_messages;
    config.batch_max_wait = Duration::from_millis(args.batch_wait_ms);
    config.stop_at_end = args.stop_at_end;
    config.attempt_timeout = Duration::from_secs(args.store_timeout_secs.max(1));
    if let Some(id) = &args.instance_id {
        config.consumer_properties.insert("group.instance.id".into(), id.clone());
    }
    for property in &args.kafka_properties {
        let (key, value) =
            property.split_once('=').with_context(|| format!("--kafka-property {property:?}: expected KEY=VALUE"))?;
        config.consumer_properties.insert(key.to_owned(), value.to_owned());
    }
    let registry = super::metrics_http::registry()?;
    let metrics = IngestMetrics::register(&registry).context("registering metrics")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let stop = Arc::new(AtomicBool::new(false));
    let signalled = stop.clone();
    runtime.spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("stop requested: draining");
        signalled.store(true, Ordering::Relaxed);
    });
    let store = Arc::new(args.store.open(&runtime, "opening")?);
    if let Some(addr) = args.metrics_listen {
        let readiness = super::ready::Readiness::new(store.clone(), Some(&brokers))?;
        super::metrics_http::serve(&runtime, addr, registry.clone(), readiness)?;
    }
    let worker = Worker::new(config, decoder, store, metrics, runtime.handle().clone());
    worker.run(stop).context("ingesting")?;
    Ok(ExitCode::SUCCESS)
}
