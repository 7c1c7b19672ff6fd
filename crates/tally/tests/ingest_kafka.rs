//! `tally ingest` against the real broker and the real ClickHouse: exactly-once billing
//! from at-least-once delivery, with the worker killed at random moments.

mod ingest_support;

use std::time::{Duration, Instant};

use chrono::Utc;
use ingest_support::*;
use tally_tests::{clickhouse_url, kafka_brokers, unique_name, TestDb, TestTopic};

/// Events to produce: 50,000 by default, `TALLY_TEST_EXACTLY_ONCE_EVENTS` to change it.
/// The local broker (tansu 0.6 on SQLite) reads a topic of a million messages at a few
/// hundred messages per second, so the million-event run is for a real Kafka
/// (`deploy/compose`); the logic under test is the same.
fn events() -> u64 {
    std::env::var("TALLY_TEST_EXACTLY_ONCE_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_is_billed_exactly_once_although_the_worker_is_killed_five_times() {
    let total = events();
    let topic = TestTopic::new(4).await;
    let dlq = TestTopic::new(1).await;
    let db = TestDb::new().await;
    let dir = evidence_dir("tally-exactly-once-");
    let log = dir.join("worker.log");
    let produced = produce(&kafka_brokers(), topic.name(), total, 7, &dir);
    assert!(produced.duplicates >= total / 1000 * 19, "2% duplicates expected: {}", produced.duplicates);
    let (brokers, url) = (kafka_brokers(), clickhouse_url());
    // A fresh group per run: tansu keeps dead members of a group for ever.
    let group = unique_name("exactly-once");
    let spec = WorkerSpec {
        brokers: &brokers,
        topic: topic.name(),
        dead_letter_topic: dlq.name(),
        clickhouse: &url,
        database: db.name(),
        group: &group,
        instance_id: Some("worker-0"),
        // Small batches: many commit boundaries to die between, and a worker slow enough
        // (thousands of events/s, not the default batches' 100k+) to be killed mid-stream.
        extra: &["--batch-messages", "200", "--batch-wait-ms", "20"],
        log: &log,
    };
    let store = open_store(&url, db.name()).await;

    // Kill the worker at random moments, five times, restarting it each time.
    let seed = Utc::now().timestamp_subsec_nanos() as u64;
    eprintln!("kill timing seed {seed}");
    let mut state = seed | 1;
    let mut stored_at_kill = Vec::new();
    let mut assignments = 0;
    for _ in 0..5 {
        let mut worker = start_worker(&spec);
        assignments = wait_for_log(&log, "assigned partitions=", assignments, Duration::from_secs(120));
        // Kill while ingesting: once this worker has stored something, at a random moment.
        let before = stored_at_kill.last().copied().unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(120);
        while count(&store, "SELECT uniqExact(source, id) FROM usage_events").await <= before {
            assert!(Instant::now() < deadline, "the worker stored nothing within 120 s; see {}", log.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        tokio::time::sleep(Duration::from_millis(state % 500)).await;
        worker.kill().expect("SIGKILL");
        worker.wait().unwrap();
        stored_at_kill.push(count(&store, "SELECT uniqExact(source, id) FROM usage_events").await);
    }
    eprintln!("distinct events stored at each kill: {stored_at_kill:?}");
    assert!(
        stored_at_kill.windows(2).all(|w| w[0] < w[1]) && stored_at_kill.last().is_some_and(|n| *n < total),
        "each worker must make progress and be killed before the end: {stored_at_kill:?}"
    );

    let mut worker = start_worker(&spec);
    let got = wait_until_billed(&store, produced.period, &produced.expected, Duration::from_secs(600)).await;
    let status = terminate(&mut worker);
    assert!(status.success(), "SIGTERM must drain and exit 0, got {status}");
    assert_billed_exactly(&got, &produced.expected, &log);

    // Every malformed message is recorded (once per offset, however often it was re-read).
    let rejected = count(&store, "SELECT uniqExact(kafka_partition, kafka_offset) FROM rejected_events").await;
    assert_eq!(rejected, produced.malformed);
    let distinct = count(&store, "SELECT uniqExact(source, id) FROM usage_events").await;
    assert_eq!(distinct, total);
}
