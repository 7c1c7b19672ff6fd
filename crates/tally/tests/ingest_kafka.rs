//! `tally ingest` against the real broker and the real ClickHouse: exactly-once billing
//! from at-least-once delivery, with the worker killed at random moments.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DurationRound, TimeDelta, Utc};
use rust_decimal::Decimal;
use tally_domain::{Catalog, CustomerId, Period};
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::{UsageItem, UsageQuery, UsageStore};
use tally_tests::{clickhouse_url, kafka_brokers, TestDb, TestTopic};

const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/catalog.toml");

fn tally() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("tally"))
}

/// Starts a worker on the test's topics and database; its log goes to `log`.
fn start_worker(topic: &str, dlq: &str, db: &str, group: &str, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("worker log");
    tally()
        .args(["ingest", "--brokers", &kafka_brokers(), "--group", group, "--topic", topic])
        .args(["--dead-letter-topic", dlq, "--catalog", CATALOG, "--clickhouse", &clickhouse_url(), "--database", db])
        .args(["--instance-id", "worker-0"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("starting tally ingest")
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill -TERM");
    assert!(status.success());
    child.wait().expect("waiting for the worker")
}

/// Per (customer, meter): what the store aggregates for the period, one item per meter.
async fn billed(store: &ClickHouseStore, catalog: &Catalog, period: Period) -> BTreeMap<(String, String), Decimal> {
    let items: Vec<UsageItem> = catalog
        .meters()
        .iter()
        .map(|m| UsageItem { meter: m.clone(), filter: BTreeMap::new(), group_by: vec![] })
        .collect();
    let query = UsageQuery { period, customer: None::<CustomerId>, items };
    let rows = store.aggregate(&query).await.expect("aggregate");
    rows.into_iter()
        .map(|r| ((r.customer.to_string(), query.items[r.item].meter.key.to_string()), r.quantity.normalize()))
        .collect()
}

fn expected(path: &Path) -> BTreeMap<(String, String), Decimal> {
    std::fs::read_to_string(path)
        .expect("expected totals")
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let q: Decimal = v["quantity"].as_str().expect("quantity").parse().expect("decimal");
            ((v["customer"].as_str().unwrap().to_owned(), v["meter"].as_str().unwrap().to_owned()), q.normalize())
        })
        .collect()
}

async fn count(db: &TestDb, sql: &str) -> u64 {
    db.client().query(sql).fetch_one::<u64>().await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Events to produce: 50,000 by default, `TALLY_TEST_EXACTLY_ONCE_EVENTS` to change it.
/// The local broker (tansu 0.6 on SQLite) reads a topic of a million messages at a few
/// hundred messages per second, so the million-event run is for a real Kafka
/// (`deploy/compose`); the logic under test is the same.
fn events() -> u64 {
    std::env::var("TALLY_TEST_EXACTLY_ONCE_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000)
}

/// Waits until the worker log holds more than `before` assignments.
fn wait_for_assignment(log: &Path, before: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = std::fs::read_to_string(log).unwrap_or_default().matches("assigned partitions=").count();
        if now > before {
            return now;
        }
        assert!(Instant::now() < deadline, "no partition assignment within 120 s; see {}", log.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_is_billed_exactly_once_although_the_worker_is_killed_five_times() {
    let total = events();
    let topic = TestTopic::new(4).await;
    let dlq = TestTopic::new(1).await;
    let db = TestDb::new().await;
    // Kept after the test: the worker log is the evidence when it fails.
    let dir = tempfile::Builder::new().prefix("tally-exactly-once-").tempdir().unwrap().keep();
    let expected_path = dir.join("expected.jsonl");
    let log = dir.join("worker.log");
    let end = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap();
    let start = end - TimeDelta::days(3);

    let produced = tally()
        .args(["produce", "--brokers", topic.brokers(), "--topic", topic.name(), "--catalog", CATALOG])
        .args(["--events", &total.to_string(), "--customers", "1000", "--duplicates-per-mille", "20"])
        .args(["--malformed-per-mille", "2", "--seed", "7"])
        .args(["--start", &start.to_rfc3339(), "--end", &end.to_rfc3339()])
        .arg("--expected")
        .arg(&expected_path)
        .output()
        .expect("tally produce");
    let summary = String::from_utf8_lossy(&produced.stderr).to_string();
    assert!(produced.status.success(), "{summary}");
    let malformed: u64 = summary
        .split([',', '\n'])
        .find_map(|part| part.trim().strip_suffix(" malformed").and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("no malformed count in {summary:?}"));
    let duplicates: u64 = summary
        .split([',', '\n'])
        .find_map(|part| part.trim().strip_suffix(" duplicates").and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("no duplicate count in {summary:?}"));
    assert!(duplicates >= total / 1000 * 19, "2% duplicates expected: {summary}");
    let expected = expected(&expected_path);

    // Kill the worker at random moments, five times, restarting it each time.
    let seed = Utc::now().timestamp_subsec_nanos() as u64;
    eprintln!("kill timing seed {seed}");
    let mut state = seed | 1;
    let mut stored_at_kill = Vec::new();
    let mut assignments = 0;
    for _ in 0..5 {
        let mut worker = start_worker(topic.name(), dlq.name(), db.name(), "exactly-once", &log);
        assignments = wait_for_assignment(&log, assignments);
        // Kill while ingesting: once this worker has stored something, at a random moment.
        let before = stored_at_kill.last().copied().unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(120);
        while count(&db, "SELECT count() FROM usage_events").await <= before {
            assert!(Instant::now() < deadline, "the worker stored nothing within 120 s; see {}", log.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Short enough that a fast worker is still mid-stream when it dies (at 1.5 s, one
        // run finished all 50,000 events before the fifth kill).
        tokio::time::sleep(Duration::from_millis(state % 500)).await;
        worker.kill().expect("SIGKILL");
        worker.wait().unwrap();
        stored_at_kill.push(count(&db, "SELECT count() FROM usage_events").await);
    }
    eprintln!("rows stored at each kill: {stored_at_kill:?}");
    assert!(
        stored_at_kill.windows(2).all(|w| w[0] < w[1]) && stored_at_kill.last().is_some_and(|n| *n < total),
        "each worker must make progress and be killed before the end: {stored_at_kill:?}"
    );

    let mut worker = start_worker(topic.name(), dlq.name(), db.name(), "exactly-once", &log);
    let store = ClickHouseStore::open(&ClickHouseConfig {
        url: clickhouse_url(),
        database: db.name().to_owned(),
        ..Default::default()
    })
    .await
    .unwrap();
    let catalog = Catalog::load(Path::new(CATALOG)).unwrap();
    let period = Period::new(start, end).unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut got = billed(&store, &catalog, period).await;
    while got != expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(2)).await;
        got = billed(&store, &catalog, period).await;
    }
    let status = terminate(&mut worker);
    assert!(status.success(), "SIGTERM must drain and exit 0, got {status}");
    let got = billed(&store, &catalog, period).await;
    let differing: Vec<_> = expected.iter().filter(|(k, v)| got.get(*k) != Some(*v)).take(5).collect();
    assert!(differing.is_empty(), "first differences (expected): {differing:?}; worker log in {}", log.display());
    assert_eq!(got.len(), expected.len(), "no customer or meter billed beyond the expected ones");

    // Every malformed message is recorded (once per offset, however often it was re-read).
    let rejected = count(&db, "SELECT uniqExact(kafka_partition, kafka_offset) FROM rejected_events").await;
    assert_eq!(rejected, malformed);
    let distinct = count(&db, "SELECT uniqExact(source, id) FROM usage_events").await;
    assert_eq!(distinct, total);
}
