//! What the Kafka ingest tests share: `tally produce` and `tally ingest` run as a user
//! runs them, and what the store bills read back through the store's own query.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rust_decimal::Decimal;
use tally_domain::{Catalog, CustomerId, Period};
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::{UsageItem, UsageQuery, UsageStore};

pub const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/catalog.toml");

pub fn tally() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("tally"))
}

/// A directory kept after the test: worker logs are the evidence when it fails.
pub fn evidence_dir(prefix: &str) -> PathBuf {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap().keep()
}

/// What `tally produce` wrote and what the invoices must show.
pub struct Produced {
    pub expected: BTreeMap<(String, String), Decimal>,
    /// Messages written (valid + duplicates + malformed).
    pub messages: u64,
    pub valid: u64,
    pub duplicates: u64,
    pub malformed: u64,
    pub period: Period,
}

/// Produces `events` valid events (2% duplicates, 0.2% malformed, 1,000 customers,
/// event times over the last 3 days) with `seed`.
pub fn produce(brokers: &str, topic: &str, events: u64, seed: u64, dir: &Path) -> Produced {
    let end = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap();
    let start: DateTime<Utc> = end - TimeDelta::days(3);
    let expected_path = dir.join(format!("expected-{topic}.jsonl"));
    let out = tally()
        .args(["produce", "--brokers", brokers, "--topic", topic, "--catalog", CATALOG])
        .args(["--events", &events.to_string(), "--customers", "1000", "--duplicates-per-mille", "20"])
        .args(["--malformed-per-mille", "2", "--seed", &seed.to_string()])
        .args(["--start", &start.to_rfc3339(), "--end", &end.to_rfc3339()])
        .arg("--expected")
        .arg(&expected_path)
        .output()
        .expect("tally produce");
    let summary = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{summary}");
    let number = |suffix: &str| -> u64 {
        summary
            .split([',', '\n', ':'])
            .find_map(|part| part.trim().strip_suffix(suffix).and_then(|n| n.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no {suffix:?} count in {summary:?}"))
    };
    let (valid, duplicates, malformed) = (number(" valid"), number(" duplicates"), number(" malformed"));
    Produced {
        expected: expected(&expected_path),
        messages: valid + duplicates + malformed,
        valid,
        duplicates,
        malformed,
        period: Period::new(start, end).unwrap(),
    }
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

/// How to start one `tally ingest`.
pub struct WorkerSpec<'a> {
    pub brokers: &'a str,
    pub topic: &'a str,
    pub dead_letter_topic: &'a str,
    pub clickhouse: &'a str,
    pub database: &'a str,
    pub group: &'a str,
    pub instance_id: Option<&'a str>,
    /// More arguments (batch sizes, Kafka properties).
    pub extra: &'a [&'a str],
    /// Its stderr is appended here.
    pub log: &'a Path,
}

/// A running `tally ingest`, killed if the test ends (or fails) while it runs, so no
/// worker outlives its test.
pub struct Worker(Child);

impl std::ops::Deref for Worker {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Worker {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub fn start_worker(spec: &WorkerSpec<'_>) -> Worker {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(spec.log).expect("worker log");
    let mut command = tally();
    command
        .args(["ingest", "--brokers", spec.brokers, "--group", spec.group, "--topic", spec.topic])
        .args(["--dead-letter-topic", spec.dead_letter_topic, "--catalog", CATALOG])
        .args(["--clickhouse", spec.clickhouse, "--database", spec.database])
        .args(spec.extra)
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(id) = spec.instance_id {
        command.args(["--instance-id", id]);
    }
    Worker(command.spawn().expect("starting tally ingest"))
}

/// SIGTERM, then waits for the exit.
pub fn terminate(child: &mut Child) -> ExitStatus {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill -TERM");
    assert!(status.success());
    child.wait().expect("waiting for the worker")
}

/// How often `needle` occurs in the log now.
pub fn log_count(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log).unwrap_or_default().matches(needle).count()
}

/// Waits until `needle` occurs more than `before` times in the log.
pub fn wait_for_log(log: &Path, needle: &str, before: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let now = log_count(log, needle);
        if now > before {
            return now;
        }
        assert!(Instant::now() < deadline, "no {needle:?} within {within:?}; see {}", log.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub async fn open_store(url: &str, database: &str) -> ClickHouseStore {
    let config = ClickHouseConfig { url: url.to_owned(), database: database.to_owned(), ..Default::default() };
    ClickHouseStore::open(&config).await.expect("opening the store")
}

/// Per (customer, meter): what the store aggregates for the period, one item per meter.
pub async fn billed(store: &ClickHouseStore, period: Period) -> BTreeMap<(String, String), Decimal> {
    let catalog = Catalog::load(Path::new(CATALOG)).unwrap();
    let items: Vec<UsageItem> = catalog
        .meters()
        .iter()
        .map(|m| UsageItem { meter: m.clone(), filter: BTreeMap::new(), group_by: vec![] })
        .collect();
    let query = UsageQuery { period, customer: None::<CustomerId>, customers: None, items };
    let rows = store.aggregate(&query).await.expect("aggregate");
    rows.into_iter()
        .map(|r| ((r.customer.to_string(), query.items[r.item].meter.key.to_string()), r.quantity.normalize()))
        .collect()
}

/// Polls until the store bills exactly `expected` or `within` passes; returns the last read.
pub async fn wait_until_billed(
    store: &ClickHouseStore,
    period: Period,
    expected: &BTreeMap<(String, String), Decimal>,
    within: Duration,
) -> BTreeMap<(String, String), Decimal> {
    let deadline = Instant::now() + within;
    loop {
        let got = billed(store, period).await;
        if &got == expected || Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Fails with the first differences when the store does not bill exactly `expected`.
pub fn assert_billed_exactly(
    got: &BTreeMap<(String, String), Decimal>,
    expected: &BTreeMap<(String, String), Decimal>,
    log: &Path,
) {
    let differing: Vec<_> = expected.iter().filter(|(k, v)| got.get(*k) != Some(*v)).take(5).collect();
    assert!(differing.is_empty(), "first differences (expected): {differing:?}; worker log in {}", log.display());
    assert_eq!(got.len(), expected.len(), "no customer or meter billed beyond the expected ones");
}

/// One number from the store.
pub async fn count(store: &ClickHouseStore, sql: &str) -> u64 {
    store.client().query(sql).fetch_one::<u64>().await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The `messages=N` of the worker's last "stopped" line.
pub fn messages_read(log: &Path) -> u64 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let line =
        text.lines().rev().find(|l| l.contains("ingest worker stopped")).expect("a stopped line in the worker log");
    let start = line.find("messages=").expect("messages=") + "messages=".len();
    line[start..].split(' ').next().unwrap().parse().expect("a number")
}
