//! `tally-kafka-probe`: a small rdkafka client of the project's own, for the services
//! script (is the broker up?) and for tests that need a second, separate process
//! (a consumer-group member that commits its offsets and exits).
//!
//! Debian's kcat cannot talk to the tansu broker (its librdkafka is too old), so the
//! project brings this one, built on the rdkafka crate's bundled librdkafka.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;

#[derive(Parser)]
#[command(
    name = "tally-kafka-probe",
    about = "Asks a Kafka-protocol broker for metadata, or consumes as a group member"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where to find the broker and which topic to use.
#[derive(clap::Args)]
struct TopicArgs {
    /// Bootstrap servers.
    #[arg(long)]
    brokers: String,
    /// Topic.
    #[arg(long)]
    topic: String,
}

#[derive(Subcommand)]
enum Command {
    /// Fetches cluster metadata; exits 0 if the broker answered.
    Metadata {
        /// Bootstrap servers.
        #[arg(long)]
        brokers: String,
        /// How long to wait for the answer.
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
    },
    /// Prints a group's committed offset for each partition of a topic.
    Committed {
        #[command(flatten)]
        at: TopicArgs,
        /// Consumer group.
        #[arg(long)]
        group: String,
    },
    /// Produces `count` messages `PREFIX-00000`..., keyed over 37 keys, and waits for every ack.
    Produce {
        #[command(flatten)]
        at: TopicArgs,
        /// How many messages.
        #[arg(long)]
        count: usize,
        /// Payload prefix.
        #[arg(long, default_value = "event")]
        prefix: String,
        /// At most this many messages in one producer batch.
        #[arg(long, default_value_t = 10000)]
        batch: usize,
    },
    /// Consumes as a member of a consumer group, prints each payload on a line, commits
    /// the offsets of what it printed, and exits.
    Consume {
        #[command(flatten)]
        at: TopicArgs,
        /// Consumer group.
        #[arg(long)]
        group: String,
        /// Stop after this many messages.
        #[arg(long)]
        max: usize,
        /// Stop when no message came for this long.
        #[arg(long, default_value_t = 5000)]
        idle_ms: u64,
        /// Also print `partition offset payload` of each message on stderr.
        #[arg(long)]
        verbose: bool,
    },
    /// Creates a topic (replication 1).
    CreateTopic {
        #[command(flatten)]
        at: TopicArgs,
        /// Number of partitions.
        #[arg(long, default_value_t = 4)]
        partitions: i32,
    },
    /// Ends every partition of a topic with one message `tally-end-of-topic`, sent alone:
    /// tansu 0.6's memory engine reports a partition's end as one past the first offset
    /// of its last record batch, so a one-message batch makes that end exact for
    /// `count` and `tally ingest --stop-at-end`. (Not JSON: the worker dead-letters it.)
    Seal {
        #[command(flatten)]
        at: TopicArgs,
    },
    /// Reads every partition of a topic from its start to its end as of now, only
    /// counting messages, and prints `{"messages":N,"bytes":B,"seconds":S}`: the raw
    /// consume rate, the ceiling an ingest worker is measured against.
    Count {
        #[command(flatten)]
        at: TopicArgs,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Metadata { brokers, timeout_ms } => {
            let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &brokers).create()?;
            let metadata = consumer
                .fetch_metadata(None, Duration::from_millis(timeout_ms))
                .with_context(|| format!("metadata from {brokers}"))?;
            println!("{} broker(s), {} topic(s)", metadata.brokers().len(), metadata.topics().len());
            Ok(())
        }
        Command::Committed { at: TopicArgs { brokers, topic }, group } => {
            let consumer: BaseConsumer =
                ClientConfig::new().set("bootstrap.servers", &brokers).set("group.id", &group).create()?;
            let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(5))?;
            let mut list = rdkafka::TopicPartitionList::new();
            for t in metadata.topics() {
                for p in t.partitions() {
                    list.add_partition(&topic, p.id());
                }
            }
            let committed = consumer.committed_offsets(list, Duration::from_secs(5))?;
            for e in committed.elements() {
                println!("{} {:?}", e.partition(), e.offset());
            }
            Ok(())
        }
        Command::Produce { at: TopicArgs { brokers, topic }, count, prefix, batch } => {
            produce(&brokers, &topic, count, &prefix, batch)
        }
        Command::Consume { at: TopicArgs { brokers, topic }, group, max, idle_ms, verbose } => {
            consume(&brokers, &topic, &group, max, idle_ms, verbose)
        }
        Command::CreateTopic { at: TopicArgs { brokers, topic }, partitions } => {
            create_topic(&brokers, &topic, partitions)
        }
        Command::Count { at: TopicArgs { brokers, topic } } => count(&brokers, &topic),
        Command::Seal { at: TopicArgs { brokers, topic } } => seal(&brokers, &topic),
    }
}

fn create_topic(brokers: &str, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", brokers).create()?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results =
        futures_executor(admin.create_topics([&new], &options)).with_context(|| format!("creating {topic}"))?;
    for result in results {
        if let Err((topic, code)) = result {
            bail!("creating topic {topic}: {code}");
        }
    }
    Ok(())
}

/// Runs one admin future to completion on a small runtime.
fn futures_executor<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime").block_on(future)
}

fn seal(brokers: &str, topic: &str) -> anyhow::Result<()> {
    let producer: BaseProducer =
        ClientConfig::new().set("bootstrap.servers", brokers).set("linger.ms", "0").create()?;
    let metadata = producer.client().fetch_metadata(Some(topic), Duration::from_secs(10))?;
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let record: BaseRecord<'_, (), str> =
            BaseRecord::to(topic).partition(partition.id()).payload("tally-end-of-topic");
        producer.send(record).map_err(|(e, _)| e).with_context(|| format!("sealing {topic}/{}", partition.id()))?;
        producer.flush(Duration::from_secs(10)).context("waiting for the ack")?;
    }
    Ok(())
}

fn count(brokers: &str, topic: &str) -> anyhow::Result<()> {
    // The same fetch settings as the ingest worker, so the two rates compare.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "tally-kafka-probe-count")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .set("queued.max.messages.kbytes", "8192")
        .create()?;
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut assignment = rdkafka::TopicPartitionList::new();
    let mut remaining = std::collections::BTreeMap::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (low, high) = consumer.fetch_watermarks(topic, partition.id(), timeout)?;
        if high > low {
            remaining.insert(partition.id(), high);
            assignment.add_partition_offset(topic, partition.id(), rdkafka::Offset::Offset(low))?;
        }
    }
    let started = Instant::now();
    consumer.assign(&assignment)?;
    let (mut messages, mut bytes) = (0u64, 0u64);
    while !remaining.is_empty() {
        match consumer.poll(timeout) {
            Some(Ok(message)) => {
                messages += 1;
                bytes += message.payload_len() as u64;
                if remaining.get(&message.partition()).is_some_and(|end| message.offset() + 1 >= *end) {
                    remaining.remove(&message.partition());
                }
            }
            Some(Err(err)) => bail!("consuming {topic}: {err}"),
            None => bail!("no message within 10 s; partitions left: {remaining:?}"),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(r#"{{"messages":{messages},"bytes":{bytes},"seconds":{seconds:.3}}}"#);
    Ok(())
}

fn produce(brokers: &str, topic: &str, count: usize, prefix: &str, batch: usize) -> anyhow::Result<()> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("batch.num.messages", batch.to_string())
        .create()?;
    for i in 0..count {
        let payload = format!("{prefix}-{i:05}");
        let key = format!("customer-{}", i % 37);
        let mut record = BaseRecord::to(topic).key(&key).payload(&payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(10));
                }
                Err((err, _)) => bail!("producing to {topic}: {err}"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).context("waiting for acks")?;
    Ok(())
}

fn consume(brokers: &str, topic: &str, group: &str, max: usize, idle_ms: u64, verbose: bool) -> anyhow::Result<()> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .create()?;
    consumer.subscribe(&[topic])?;
    let mut out = std::io::stdout().lock();
    let mut seen = 0;
    let mut last = Instant::now();
    while seen < max && last.elapsed() < Duration::from_millis(idle_ms) {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                let payload = message.payload().map(String::from_utf8_lossy).unwrap_or_default();
                writeln!(out, "{payload}")?;
                if verbose {
                    eprintln!("{} {} {payload}", message.partition(), message.offset());
                }
                // Commit exactly this message's offset: what was printed is what is committed.
                consumer.commit_message(&message, CommitMode::Sync).context("committing")?;
                seen += 1;
                last = Instant::now();
            }
            Some(Err(err)) => bail!("consuming {topic}: {err}"),
            None => {}
        }
    }
    out.flush()?;
    Ok(())
}
