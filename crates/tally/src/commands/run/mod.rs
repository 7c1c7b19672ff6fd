//! `tally run`: one process running the configured roles (ingest, invoicer, HTTP,
//! metrics) on the configured store, until SIGTERM or SIGINT.
//!
//! Embedded mode reads events from NDJSON files and stdin at start-up and from
//! `POST /v1/events`, all through the same intake (decoder, durable batch write, store
//! dedupe) as the Kafka workers; Kafka mode runs one consumer-group worker. The
//! invoicer closes due periods every `invoicer.every`. On a signal the process stops
//! taking work, finishes what it holds (a batch, a request, a close) and exits 0.
//! With only files or stdin to read and no server role, it exits once they are stored.

mod http;
mod invoicer;
mod shutdown;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tally_config::{Settings, Source};
use tally_ingest::decode::Decoder;
use tally_ingest::{IngestConfig, IngestMetrics, Intake, IntakeConfig, Worker};
use tally_store::AnyStore;
use tokio::task::JoinSet;

use super::settings::{decode_rules, kafka_client, open_store, ConfigArgs};
use shutdown::Shutdown;

/// Arguments of `tally run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

impl RunArgs {
    /// The configured `log.level`, if the configuration loads (errors are reported later).
    pub fn log_level(&self) -> Option<String> {
        self.config.load().ok().map(|s| s.log.level)
    }
}

/// Runs `tally run`.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let settings = args.config.load()?;
    let catalog = Arc::new(super::load_catalog(&settings.catalog)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(serve(settings, catalog))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: Settings, catalog: Arc<tally_domain::Catalog>) -> anyhow::Result<()> {
    let registry = super::metrics_http::registry()?;
    let ingest_metrics = IngestMetrics::register(&registry).context("registering metrics")?;
    let invoicer_metrics = invoicer::InvoicerMetrics::register(&registry).context("registering metrics")?;
    let store = Arc::new(open_store(&settings).await?);
    tracing::info!(store = %settings.store.describe(), "store open");
    let kafka_mode = settings.ingest.source == Source::Kafka;
    // Every Kafka client of the process gets the same properties (security, secrets).
    let client = if kafka_mode { Some(kafka_client(&settings)?) } else { None };
    let shutdown = Shutdown::listen();
    // Set on a signal: readers stop at the next message, and a write that cannot reach
    // the store gives up instead of retrying.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (stop, mut signal) = (stop.clone(), shutdown.clone());
        tokio::spawn(async move {
            signal.wait().await;
            stop.store(true, Ordering::Relaxed);
        });
    }
    let mut roles: JoinSet<anyhow::Result<()>> = JoinSet::new();
    let mut serving = false;

    if settings.metrics.enabled {
        let listener = tokio::net::TcpListener::bind(settings.metrics.listen)
            .await
            .with_context(|| format!("metrics.listen: binding {}", settings.metrics.listen))?;
        tracing::info!(address = %listener.local_addr()?, "serving /metrics, /healthz and /readyz");
        let kafka = client.as_ref().filter(|_| settings.ingest.enabled);
        let readiness = super::ready::Readiness::new(store.clone(), kafka)?;
        roles.spawn(http::serve_metrics(listener, registry.clone(), readiness, shutdown.clone()));
        serving = true;
    }
    let ingest = &settings.ingest;
    let decoder = Decoder::new(&catalog, decode_rules(ingest));
    // The first invoice run waits for the files given at start-up to be stored, so that
    // a period is not closed while its events are still being loaded (stdin is not
    // waited for: it may never end).
    let (files_stored, files_waited) = tokio::sync::watch::channel(false);
    // The embedded path's intake: files and stdin read into it, and the HTTP API writes
    // to it when events are not sent to Kafka.
    let intake_config = IntakeConfig {
        batch_max_events: ingest.batch_max_events,
        retry: (ingest.retry_min.get(), ingest.retry_max.get()),
        ..IntakeConfig::default()
    };
    // Where events read here go. Embedded mode: the intake, straight into the store
    // (files, stdin and the HTTP API share it). Kafka mode: validated and produced to the
    // first usage topic, where a worker stores each exactly once, the rejected to the
    // dead letters and counted as a worker counts them.
    let sink = if kafka_mode {
        let client = client.as_ref().context("the Kafka client")?;
        let forwarder = tally_ingest::Forwarder::new(
            client,
            &ingest.kafka.topics[0],
            &ingest.kafka.dead_letter_topic,
            decoder.clone(),
            store.clone(),
            ingest_metrics.clone(),
        )
        .context("ingest.kafka: the events producer")?;
        Sink::Kafka(Arc::new(forwarder), stop.clone())
    } else {
        let intake = Intake::new(decoder.clone(), store.clone(), ingest_metrics.clone(), intake_config, stop.clone());
        Sink::Store(Arc::new(intake))
    };
    if ingest.enabled {
        let mut readers: JoinSet<anyhow::Result<()>> = JoinSet::new();
        let mut files: JoinSet<anyhow::Result<()>> = JoinSet::new();
        for path in &ingest.files {
            let (sink, path, shutdown) = (sink.clone(), path.clone(), shutdown.clone());
            files.spawn(async move {
                let file = tokio::fs::File::open(&path)
                    .await
                    .with_context(|| format!("ingest.files: opening {}", path.display()))?;
                let reader = tokio::io::BufReader::with_capacity(1 << 20, file);
                let name = path.display().to_string();
                read_until_stopped(&sink, reader, &name, shutdown).await
            });
        }
        if ingest.stdin {
            let (sink, shutdown) = (sink.clone(), shutdown.clone());
            readers.spawn(async move {
                let reader = tokio::io::BufReader::with_capacity(1 << 20, tokio::io::stdin());
                read_until_stopped(&sink, reader, "stdin", shutdown).await
            });
        }
        roles.spawn(async move {
            while let Some(done) = files.join_next().await {
                done.context("a reader task failed")??;
            }
            files_stored.send_replace(true);
            while let Some(done) = readers.join_next().await {
                done.context("a reader task failed")??;
            }
            Ok(())
        });
    } else {
        files_stored.send_replace(true);
    }
    if ingest.enabled && kafka_mode {
        let kafka = &ingest.kafka;
        let client = client.clone().context("the Kafka client")?;
        let mut config = IngestConfig::new(client, &kafka.group, kafka.topics.clone(), &kafka.dead_letter_topic);
        config.batch_max_messages = ingest.batch_max_events;
        config.batch_max_wait = ingest.batch_max_wait.get();
        config.retry_min = ingest.retry_min.get();
        config.retry_max = ingest.retry_max.get();
        config.attempt_timeout = ingest.store_timeout.get();
        if !kafka.instance_id.is_empty() {
            config.consumer_properties.insert("group.instance.id".into(), kafka.instance_id.clone());
        }
        let worker =
            Worker::new(config, decoder, store.clone(), ingest_metrics.clone(), tokio::runtime::Handle::current());
        let running = stop.clone();
        roles.spawn(async move {
            tokio::task::spawn_blocking(move || worker.run(running)).await.context("the ingest worker panicked")??;
            Ok(())
        });
        serving = true;
    }
    if settings.http.enabled {
        // Events go to Kafka whenever it is the source (with or without a worker in this
        // process); otherwise into the store through the files role's intake, or one of
        // the API's own when that role is off.
        let events = match &sink {
            Sink::Kafka(forwarder, _) => tally_api::Events::Kafka(forwarder.clone()),
            Sink::Store(intake) => tally_api::Events::Store(intake.clone()),
        };
        let listener = tokio::net::TcpListener::bind(settings.http.listen)
            .await
            .with_context(|| format!("http.listen: binding {}", settings.http.listen))?;
        let app = api_router(&settings, &store, &catalog, events, &registry)?;
        tracing::info!(address = %listener.local_addr()?, "serving the HTTP API");
        let tls = (!settings.http.tls_cert.as_os_str().is_empty())
            .then(|| (settings.http.tls_cert.clone(), settings.http.tls_key.clone()));
        if tls.is_some() {
            tracing::info!("the HTTP API serves HTTPS");
        }
        let limits = tally_api::ServerLimits {
            max_connections: settings.http.max_connections,
            header_timeout: settings.http.header_timeout.get(),
            drain: DRAIN,
        };
        roles.spawn(http::serve_api(listener, app, tls, limits, shutdown.clone()));
        serving = true;
    }
    if settings.invoicer.enabled {
        roles.spawn(invoicer::schedule(
            store.clone(),
            catalog.clone(),
            settings.invoicer.clone(),
            crate::commands::settings::reporting(&settings)?,
            invoicer_metrics,
            files_waited,
            shutdown.clone(),
        ));
        serving = true;
    }
    if !serving {
        tracing::info!("no server role configured: exiting once the inputs are stored");
    }
    let mut first_error = None;
    while let Some(done) = roles.join_next().await {
        match done.context("a role panicked").and_then(|r| r) {
            Ok(()) => {}
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), "a role failed; stopping");
                stop.store(true, Ordering::Relaxed);
                shutdown.trigger();
                first_error.get_or_insert(err);
            }
        }
    }
    let m = &ingest_metrics;
    tracing::info!(messages = m.messages.get(), events = m.events.get(), rejected = m.rejected_total(), "stopped");
    drop::<Arc<AnyStore>>(store);
    first_error.map_or(Ok(()), Err)
}

/// Where NDJSON read by `tally run` goes: the store (embedded mode) or the usage topic
/// (Kafka mode; the flag is the stop signal the forwarder reads between chunks).
#[derive(Clone)]
enum Sink {
    Store(Arc<Intake<AnyStore>>),
    Kafka(Arc<tally_ingest::Forwarder<AnyStore>>, Arc<AtomicBool>),
}

/// Lines produced to Kafka per acknowledged chunk.
const FORWARD_CHUNK: usize = 5_000;

/// Reads NDJSON into the sink until it ends. After a signal the reader stops at the
/// next line (or chunk) and makes what it read durable (reading the input again later
/// is harmless: stored events count once); an input that sends nothing more (a quiet
/// stdin) is abandoned after [`DRAIN`].
async fn read_until_stopped<R: tokio::io::AsyncBufRead + Unpin>(
    sink: &Sink,
    reader: R,
    name: &str,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let read = async {
        match sink {
            Sink::Store(intake) => intake.read_ndjson(reader, |_| {}).await,
            Sink::Kafka(forwarder, stop) => forwarder.read_ndjson(reader, FORWARD_CHUNK, stop).await,
        }
    };
    tokio::pin!(read);
    let summary = tokio::select! {
        read = &mut read => read,
        () = shutdown.wait() => match tokio::time::timeout(DRAIN, &mut read).await {
            Ok(read) => read,
            Err(_) => {
                tracing::warn!(input = name, "no more input within the drain time; abandoned");
                return Ok(());
            }
        },
    };
    let summary = summary.with_context(|| format!("ingesting {name}"))?;
    tracing::info!(
        input = name,
        messages = summary.messages,
        accepted = summary.accepted,
        rejected = summary.rejected,
        complete = summary.complete,
        seconds = started.elapsed().as_secs_f64(),
        "input stored"
    );
    Ok(())
}

/// The HTTP API with the configured tokens.
fn api_router(
    settings: &Settings,
    store: &Arc<AnyStore>,
    catalog: &Arc<tally_domain::Catalog>,
    events: tally_api::Events,
    registry: &prometheus::Registry,
) -> anyhow::Result<axum::Router> {
    let configured = settings.api_tokens()?;
    let tokens: Vec<tally_api::Token> = configured
        .iter()
        .map(|t| {
            let role = t.role.parse().map_err(|e| anyhow::anyhow!("http.tokens: token {:?}: role {e}", t.name))?;
            Ok(tally_api::Token { name: t.name.clone(), role, sha256: t.sha256.clone() })
        })
        .collect::<anyhow::Result<_>>()?;
    let tokens = tally_api::Tokens::new(&tokens).map_err(|e| anyhow::anyhow!("http.tokens: {e}"))?;
    if tokens.is_empty() {
        tracing::warn!("http.tokens is empty: every API request is refused (tally token new makes one)");
    }
    let api = tally_api::Api {
        store: store.clone(),
        catalog: catalog.clone(),
        events,
        tokens: Arc::new(tokens),
        issuer: std::sync::Arc::new(super::documents::issuer(settings)?),
        fonts: std::sync::Arc::new(super::documents::fonts(settings)?),
        horizon: settings.accounts.horizon(),
        prefixes: (settings.invoicer.number_prefix.clone(), settings.invoicer.credit_note_prefix.clone()),
        terms: crate::commands::receivables::terms(settings)?,
        exports: crate::commands::books::export_options(settings, None)?,
        in_flight: Arc::new(tokio::sync::Semaphore::new(settings.http.max_in_flight)),
    };
    let metrics = tally_api::HttpMetrics::register(registry).context("registering the API's metrics")?;
    let limits = tally_api::RequestLimits {
        max_body_bytes: settings.http.max_body_bytes,
        timeout: settings.http.request_timeout.get(),
    };
    Ok(tally_api::router(api, limits, metrics))
}

/// How long the HTTP server lets requests in flight finish after a signal.
pub(super) const DRAIN: Duration = Duration::from_secs(30);
