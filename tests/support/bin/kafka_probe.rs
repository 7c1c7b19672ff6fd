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
    }
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
