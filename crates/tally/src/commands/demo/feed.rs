//! Sending the demo's month through the configured pipeline: the embedded intake (the
//! path of `tally run` with files, stdin or HTTP), or Kafka then an ingest worker of
//! its own group that stops once the topic is stored and committed.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use tally_config::{Settings, Source};
use tally_domain::Catalog;
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_ingest::generate::{GenerateConfig, Generated, Generator, Kind};
use tally_ingest::{IngestConfig, IngestMetrics, Intake, IntakeConfig, Worker};
use tally_store::AnyStore;

use super::report::bar;
use crate::commands::kafka_send::{ensure_topics, Sender};

/// What was sent and what the pipeline made of it.
#[derive(Debug, Default, Clone)]
pub struct Fed {
    /// Messages generated and sent.
    pub sent: u64,
    /// Of which new valid events...
    pub valid: u64,
    /// ...re-deliveries of earlier ones...
    pub duplicates: u64,
    /// ...and malformed ones.
    pub malformed: u64,
    /// Messages the pipeline accepted (duplicates included).
    pub accepted: u64,
    /// Messages it rejected (kept with their reason).
    pub rejected: u64,
    /// Seconds from the first message generated to the last one durable.
    pub seconds: f64,
}

/// Generates the month and sends it through the pipeline `settings` describe.
pub fn feed(
    runtime: &tokio::runtime::Runtime,
    settings: &Settings,
    catalog: &Catalog,
    store: &Arc<AnyStore>,
    generate: GenerateConfig,
    now: DateTime<Utc>,
    events_file: Option<&Path>,
) -> anyhow::Result<Fed> {
    let total = expected_messages(&generate);
    let metrics = IngestMetrics::register(&prometheus::Registry::new()).context("registering metrics")?;
    let decoder = Decoder::new(catalog, DecodeRules::default());
    let started = Instant::now();
    let feed =
        Feed { runtime, settings, catalog, store, generate, now, events_file, decoder, metrics: &metrics, total };
    let mut fed = match settings.ingest.source {
        Source::Files => embedded(feed)?,
        Source::Kafka => kafka(feed)?,
    };
    fed.accepted = metrics.events.get();
    fed.rejected = metrics.rejected_total();
    fed.seconds = started.elapsed().as_secs_f64();
    Ok(fed)
}

/// What both ways of feeding need.
struct Feed<'a> {
    runtime: &'a tokio::runtime::Runtime,
    settings: &'a Settings,
    catalog: &'a Catalog,
    store: &'a Arc<AnyStore>,
    generate: GenerateConfig,
    now: DateTime<Utc>,
    events_file: Option<&'a Path>,
    decoder: Decoder,
    metrics: &'a IngestMetrics,
    /// Messages expected, for the progress bar.
    total: u64,
}

/// About how many messages the generator makes (for the progress bar).
fn expected_messages(generate: &GenerateConfig) -> u64 {
    let extra = u64::from(generate.duplicates_per_mille + generate.malformed_per_mille);
    generate.events + generate.events * extra / 1000
}

/// Counts what the generator made and copies it to the events file.
struct Tally {
    fed: Fed,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl Tally {
    fn new(events_file: Option<&Path>) -> anyhow::Result<Tally> {
        let file = match events_file {
            Some(path) => Some(std::io::BufWriter::new(
                std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
            )),
            None => None,
        };
        Ok(Tally { fed: Fed::default(), file })
    }

    fn count(&mut self, message: &Generated) -> anyhow::Result<()> {
        self.fed.sent += 1;
        match message.kind {
            Kind::Valid => self.fed.valid += 1,
            Kind::Duplicate => self.fed.duplicates += 1,
            Kind::Malformed => self.fed.malformed += 1,
        }
        if let Some(file) = &mut self.file {
            file.write_all(&message.payload).and_then(|()| file.write_all(b"\n")).context("writing the events file")?;
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<Fed> {
        if let Some(file) = &mut self.file {
            file.flush().context("writing the events file")?;
        }
        Ok(self.fed)
    }
}

/// Generator on a thread, batches through the intake; a batch is decoded while the
/// previous one is written.
fn embedded(feed: Feed<'_>) -> anyhow::Result<Fed> {
    let Feed { runtime, settings, catalog, store, generate, now, events_file, decoder, metrics, total } = feed;
    let batch = settings.ingest.batch_max_events;
    let config = IntakeConfig {
        batch_max_events: batch,
        retry: (settings.ingest.retry_min.get(), settings.ingest.retry_max.get()),
        now: Some(now),
        ..IntakeConfig::default()
    };
    let intake =
        Arc::new(Intake::new(decoder, store.clone(), metrics.clone(), config, Arc::new(AtomicBool::new(false))));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Generated>>(4);
    let mut tally = Tally::new(events_file)?;
    let catalog = catalog.clone();
    let generator = std::thread::spawn(move || -> anyhow::Result<Fed> {
        let mut chunk = Vec::with_capacity(batch);
        for message in Generator::new(generate, &catalog) {
            tally.count(&message)?;
            chunk.push(message);
            if chunk.len() == batch && tx.blocking_send(std::mem::take(&mut chunk)).is_err() {
                anyhow::bail!("the intake stopped");
            }
        }
        if !chunk.is_empty() {
            let _ = tx.blocking_send(chunk);
        }
        tally.finish()
    });
    let progress = bar(total, "ingesting");
    runtime.block_on(async {
        let mut in_flight: Option<tokio::task::JoinHandle<anyhow::Result<usize>>> = None;
        while let Some(chunk) = rx.recv().await {
            let (decoded, _) = intake.decode(chunk.iter().map(|m| m.payload.as_slice()));
            if let Some(previous) = in_flight.take() {
                progress.inc(previous.await.context("a write task failed")?? as u64);
            }
            let (commit, messages) = (intake.commit(decoded), chunk.len());
            in_flight = Some(tokio::spawn(async move {
                commit.await.context("ingesting")?;
                Ok(messages)
            }));
        }
        if let Some(previous) = in_flight.take() {
            progress.inc(previous.await.context("a write task failed")?? as u64);
        }
        anyhow::Ok(())
    })?;
    progress.finish_and_clear();
    generator.join().map_err(|_| anyhow::anyhow!("the generator panicked"))?
}

/// Produce everything to the usage topic, then one worker reads it into the store.
fn kafka(feed: Feed<'_>) -> anyhow::Result<Fed> {
    let Feed { runtime, settings, catalog, store, generate, now, events_file, decoder, metrics, total } = feed;
    let kafka = &settings.ingest.kafka;
    let topic = kafka.topics[0].clone();
    let client = super::super::settings::kafka_client(settings)?;
    runtime.block_on(ensure_topics(&client, &[&topic, &kafka.dead_letter_topic], 4))?;
    let sender = Sender::new(&client)?;
    let mut tally = Tally::new(events_file)?;
    let progress = bar(total, "producing to Kafka");
    for message in Generator::new(generate, catalog) {
        tally.count(&message)?;
        sender.send(&topic, message.key.as_bytes(), &message.payload)?;
        progress.inc(1);
    }
    sender.finish()?;
    progress.finish_and_clear();
    let fed = tally.finish()?;

    // A group of its own: the worker reads the topic from its start, stores and
    // commits it, and stops at the end the topic had when it started.
    let group = format!("{}-demo-{}", kafka.group, Utc::now().timestamp_millis());
    let mut config = IngestConfig::new(client, group, kafka.topics.clone(), &kafka.dead_letter_topic);
    config.batch_max_messages = settings.ingest.batch_max_events;
    config.retry_min = settings.ingest.retry_min.get();
    config.retry_max = settings.ingest.retry_max.get();
    config.stop_at_end = true;
    config.as_of = Some(now);
    let worker = Worker::new(config, decoder, store.clone(), metrics.clone(), runtime.handle().clone());
    let progress = bar(fed.sent, "ingesting from Kafka");
    let running = std::thread::spawn(move || worker.run(Arc::new(AtomicBool::new(false))));
    while !running.is_finished() {
        progress.set_position(metrics.messages.get());
        std::thread::sleep(Duration::from_millis(100));
    }
    running.join().map_err(|_| anyhow::anyhow!("the ingest worker panicked"))?.context("ingesting from Kafka")?;
    progress.finish_and_clear();
    Ok(fed)
}
