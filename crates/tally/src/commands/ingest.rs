//! `tally ingest`: a Kafka ingest worker writing to ClickHouse or the embedded store.
//! Every option is a key of the settings tree (`ingest.*`, `store.*`); the flags
//! override them for this run.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tally_config::Override;
use tally_ingest::decode::Decoder;
use tally_ingest::{IngestConfig, IngestMetrics, Worker};

use super::settings::{decode_rules, kafka_client, open_store_on, span_flag, text_flag, ConfigArgs};

/// Arguments of `tally ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Kafka bootstrap servers (sets `ingest.kafka.brokers`).
    #[arg(long)]
    brokers: Option<String>,
    /// Consumer group; workers of one group share the partitions (sets `ingest.kafka.group`).
    #[arg(long)]
    group: Option<String>,
    /// This worker's stable identity in the group (Kafka static membership), e.g. the
    /// pod name of a StatefulSet: a restarted worker takes its partitions back at once
    /// instead of waiting for the group to notice the old process is gone (sets
    /// `ingest.kafka.instance_id`).
    #[arg(long)]
    instance_id: Option<String>,
    /// Topic of usage events, repeat for several (sets `ingest.kafka.topics`).
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// Topic for events that cannot be billed (sets `ingest.kafka.dead_letter_topic`,
    /// the one `tally run` and `tally replay-dlq` use).
    #[arg(long)]
    dead_letter_topic: Option<String>,
    /// The settings these flags override, the store and the catalog.
    #[command(flatten)]
    config: ConfigArgs,
    /// Messages per batch at most (sets `ingest.batch_max_events`).
    #[arg(long)]
    batch_messages: Option<usize>,
    /// Longest a message waits in a batch, in milliseconds (sets `ingest.batch_max_wait`).
    #[arg(long)]
    batch_wait_ms: Option<i64>,
    /// Largest accepted message, in bytes (sets `ingest.max_event_bytes`).
    #[arg(long)]
    max_message_bytes: Option<usize>,
    /// How far in the future an event's time may be, in seconds (sets `ingest.future_skew`).
    #[arg(long)]
    future_skew_secs: Option<i64>,
    /// How old an event's time may be, in days (sets `ingest.late_window`).
    #[arg(long)]
    late_window_days: Option<i64>,
    /// A librdkafka property, KEY=VALUE, for every client of this worker (repeatable;
    /// applied after `ingest.kafka.properties`).
    #[arg(long = "kafka-property", value_name = "KEY=VALUE")]
    kafka_properties: Vec<String>,
    /// Longest one attempt to write a batch may take before it is abandoned and
    /// retried, in seconds (sets `ingest.store_timeout`).
    #[arg(long)]
    store_timeout_secs: Option<i64>,
    /// Serve Prometheus metrics on this address (`GET /metrics`, `GET /healthz`), e.g.
    /// 0.0.0.0:9464 (sets `metrics.listen`; without it, no metrics server).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Exit 0 once everything the topics held at start is stored and committed (a
    /// backfill of a topic that is not growing; meant for a single worker).
    #[arg(long)]
    stop_at_end: bool,
}

impl IngestArgs {
    /// The flags as overrides of their keys.
    fn overrides(&self) -> Vec<Override> {
        let mut out: Vec<Override> = [
            text_flag("ingest.kafka.brokers", &self.brokers, "--brokers"),
            text_flag("ingest.kafka.group", &self.group, "--group"),
            text_flag("ingest.kafka.instance_id", &self.instance_id, "--instance-id"),
            text_flag("ingest.kafka.dead_letter_topic", &self.dead_letter_topic, "--dead-letter-topic"),
            text_flag("ingest.batch_max_events", &self.batch_messages, "--batch-messages"),
            span_flag("ingest.batch_max_wait", self.batch_wait_ms, "ms", "--batch-wait-ms"),
            text_flag("ingest.max_event_bytes", &self.max_message_bytes, "--max-message-bytes"),
            span_flag("ingest.future_skew", self.future_skew_secs, "s", "--future-skew-secs"),
            span_flag("ingest.late_window", self.late_window_days, "days", "--late-window-days"),
            span_flag("ingest.store_timeout", self.store_timeout_secs, "s", "--store-timeout-secs"),
            text_flag("metrics.listen", &self.metrics_listen, "--metrics-listen"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !self.topics.is_empty() {
            out.push(Override::list("ingest.kafka.topics", self.topics.clone(), "--topic"));
        }
        // A worker alone: the settings' other roles do not apply to it.
        out.push(Override::text("ingest.source", "kafka", "tally ingest"));
        out
    }
}

/// Runs `tally ingest` until SIGTERM or SIGINT (or the end, with `--stop-at-end`).
pub fn run(args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let settings = args.config.load_with(args.overrides())?;
    let catalog = super::load_catalog(&settings.catalog)?;
    let ingest = &settings.ingest;
    let decoder = Decoder::new(&catalog, decode_rules(ingest));
    let mut client = kafka_client(&settings)?;
    for property in &args.kafka_properties {
        let (key, value) =
            property.split_once('=').with_context(|| format!("--kafka-property {property:?}: expected KEY=VALUE"))?;
        client.properties.insert(key.to_owned(), value.to_owned());
    }
    let kafka = &ingest.kafka;
    let mut config = IngestConfig::new(client.clone(), &kafka.group, kafka.topics.clone(), &kafka.dead_letter_topic);
    config.batch_max_messages = ingest.batch_max_events;
    config.batch_max_wait = ingest.batch_max_wait.get();
    config.retry_min = ingest.retry_min.get();
    config.retry_max = ingest.retry_max.get();
    config.stop_at_end = args.stop_at_end;
    config.attempt_timeout = ingest.store_timeout.get();
    if !kafka.instance_id.is_empty() {
        config.consumer_properties.insert("group.instance.id".into(), kafka.instance_id.clone());
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
    let store = Arc::new(open_store_on(&runtime, &settings)?);
    if args.metrics_listen.is_some() {
        let readiness = super::ready::Readiness::new(store.clone(), Some(&client))?;
        super::metrics_http::serve(&runtime, settings.metrics.listen, registry.clone(), readiness)?;
    }
    let worker = Worker::new(config, decoder, store, metrics, runtime.handle().clone());
    worker.run(stop).context("ingesting")?;
    Ok(ExitCode::SUCCESS)
}
