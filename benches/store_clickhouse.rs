//! The ClickHouse store at scale, against the real server of deploy/local/services:
//! insert throughput of ~250-byte AI usage events, the time to aggregate one month
//! for 100,000 customers (every charge of the sample catalog), and what 2% duplicates
//! cost the billing query.
//!
//! Run: `deploy/local/services up && cargo bench -p tally-benches --bench store_clickhouse`
//! Size: `TALLY_BENCH_EVENTS` (default 10,000,000), `TALLY_BENCH_CUSTOMERS` (100,000).
//! Results: docs/benchmarks.md.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tally_domain::{Catalog, CustomerId, Period, UsageEvent};
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore, Compression};
use tally_store::{IncomingEvent, UsageItem, UsageQuery, UsageStore};
use tally_tests::{clickhouse_url, unique_name};

/// Events per insert (`TALLY_BENCH_CHUNK`, default 100,000).
fn chunk_size() -> usize {
    env_usize("TALLY_BENCH_CHUNK", 100_000)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator (PCG-style LCG), so every run writes the same events.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Event `i` of the benchmark month: tokens (70%), GPU usage (20%), training (10%),
/// customers skewed so that a few are large.
fn make_event(i: u64, customers: u64, start: DateTime<Utc>, rng: &mut Rng) -> IncomingEvent {
    let u = rng.below(1_000_000) as f64 / 1_000_000.0; // float-ok: picks a customer, never an amount
    let customer = ((u * u * u) * customers as f64) as u64; // float-ok: skew of customer choice
    let time = start + chrono::TimeDelta::milliseconds(rng.below(30 * 86_400_000) as i64);
    let models = ["gpt-4o", "gpt-4o-mini", "llama-3.1-70b", "claude-sonnet"];
    let gpus = ["h100", "a100", "l4"];
    let directions = ["input", "output", "cached"];
    let regions = ["eu-1", "us-1"];
    let statuses = ["completed", "failed"];
    let (event_type, data) = match rng.below(10) {
        0..=6 => (
            "llm.tokens",
            serde_json::json!({
                "model": models[rng.below(4) as usize],
                "direction": directions[rng.below(3) as usize],
                "tokens": rng.below(20_000) + 1,
            }),
        ),
        7 | 8 => (
            "gpu.usage",
            serde_json::json!({
                "gpu_type": gpus[rng.below(3) as usize],
                "region": regions[rng.below(2) as usize],
                "gpu_seconds": rng.below(3600) + 1,
                "cost_usd": format!("{}.{:04}", rng.below(10), rng.below(10_000)),
            }),
        ),
        _ => (
            "training.session",
            serde_json::json!({
                "session_id": format!("run-{}", rng.below(1_000_000)),
                "gpu_type": gpus[rng.below(3) as usize],
                "gpu_hours": format!("{}.{:02}", rng.below(48), rng.below(100)),
                "status": statuses[rng.below(2) as usize],
            }),
        ),
    };
    let event = UsageEvent::from_data(
        CustomerId::new(format!("customer-{customer:06}")),
        "gateway/eu-1",
        format!("{i:016x}"),
        event_type,
        time,
        &data.to_string(),
    )
    .expect("generated data is a JSON object");
    event.into()
}

/// Generates events on another thread in chunks; the consumer only inserts.
fn generate(total: usize, customers: u64, start: DateTime<Utc>, seed: u64) -> mpsc::Receiver<Vec<IncomingEvent>> {
    let (tx, rx) = mpsc::sync_channel(2);
    std::thread::spawn(move || {
        let mut rng = Rng(seed);
        let mut i = 0u64;
        while (i as usize) < total {
            let n = chunk_size().min(total - i as usize);
            let chunk: Vec<IncomingEvent> =
                (0..n).map(|k| make_event(i + k as u64, customers, start, &mut rng)).collect();
            i += n as u64;
            if tx.send(chunk).is_err() {
                return;
            }
        }
    });
    rx
}

/// Inserts everything the generator yields; returns (events, time spent inside inserts).
async fn load(
    store: &ClickHouseStore,
    rx: mpsc::Receiver<Vec<IncomingEvent>>,
    keep_every: Option<usize>,
) -> (usize, Duration, Vec<IncomingEvent>) {
    let mut inserted = 0;
    let mut busy = Duration::ZERO;
    let mut kept = Vec::new();
    while let Ok(chunk) = tokio::task::block_in_place(|| rx.recv()) {
        let started = Instant::now();
        store.insert_events(&chunk).await.expect("insert");
        busy += started.elapsed();
        inserted += chunk.len();
        if let Some(every) = keep_every {
            kept.extend(chunk.into_iter().step_by(every));
        }
    }
    (inserted, busy, kept)
}

/// Every distinct (meter, filter, group_by) of the sample catalog's charges.
fn catalog_items() -> Vec<UsageItem> {
    let catalog =
        Catalog::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/catalog.toml"))).unwrap();
    let mut seen = BTreeSet::new();
    let mut items = Vec::new();
    for plan in catalog.plans() {
        for charge in &plan.charges {
            let key = (charge.meter.clone(), charge.filter.clone(), charge.group_by.clone());
            if seen.insert(key) {
                let meter = catalog.meter(charge.meter.as_str()).unwrap().clone();
                items.push(UsageItem { meter, filter: charge.filter.clone(), group_by: charge.group_by.clone() });
            }
        }
    }
    items
}

async fn time_query(store: &ClickHouseStore, query: &UsageQuery, runs: usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut rows = 0;
    for _ in 0..runs {
        let started = Instant::now();
        rows = store.aggregate(query).await.expect("aggregate").len();
        best = best.min(started.elapsed());
    }
    (best, rows)
}

async fn open(name: &str) -> ClickHouseStore {
    let compression = match std::env::var("TALLY_BENCH_COMPRESSION").as_deref() {
        Ok("none") => Compression::None,
        _ => Compression::Lz4,
    };
    let config =
        ClickHouseConfig { url: clickhouse_url(), database: name.to_owned(), compression, ..Default::default() };
    ClickHouseStore::open(&config).await.expect("ClickHouse is not reachable: run deploy/local/services up")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; nothing to list.
    }
    let total = env_usize("TALLY_BENCH_EVENTS", 10_000_000);
    let customers = env_usize("TALLY_BENCH_CUSTOMERS", 100_000) as u64;
    let start: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    let period = Period::new(start, "2026-12-01T00:00:00Z".parse().unwrap()).unwrap();
    let items = catalog_items();
    let query = UsageQuery { period, customer: None, customers: None, items: items.clone() };

    if std::env::var_os("TALLY_BENCH_INSERT_ONLY").is_some() {
        let chunks: Vec<Vec<IncomingEvent>> = generate(total, customers, start, 7).into_iter().collect();
        let name = unique_name("tally_bench_insert");
        let store = open(&name).await;
        if std::env::var_os("TALLY_BENCH_NULL_ENGINE").is_some() {
            // Same columns, stores nothing: what is left is encoding, transfer and parsing.
            for sql in [
                "RENAME TABLE usage_events TO usage_events_real",
                "CREATE TABLE usage_events AS usage_events_real ENGINE = Null",
            ] {
                store.client().query(sql).execute().await.unwrap();
            }
        }
        let writers = env_usize("TALLY_BENCH_WRITERS", 1);
        let chunks = std::sync::Arc::new(chunks);
        let started = Instant::now();
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let (store, chunks) = (store.clone(), chunks.clone());
                tokio::spawn(async move {
                    for chunk in chunks.iter().skip(w).step_by(writers) {
                        store.insert_events(chunk).await.expect("insert");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let took = started.elapsed();
        println!(
            "insert only (pre-generated), {writers} writer(s): {total} events in {:.2} s: {:.0} events/s",
            took.as_secs_f64(),
            total as f64 / took.as_secs_f64()
        );
        store.client().query(&format!("DROP DATABASE {name}")).execute().await.unwrap();
        return;
    }
    if let Ok(name) = std::env::var("TALLY_BENCH_QUERY_ONLY") {
        // Times the billing query on a database kept by an earlier run (`TALLY_BENCH_KEEP=1`).
        let store = open(&name).await;
        let (took, rows) = time_query(&store, &query, 3).await;
        println!("aggregate month, all customers, {name}: {:.2} s ({rows} rows)", took.as_secs_f64());
        let one = UsageQuery { customer: Some(CustomerId::new("customer-000000")), ..query.clone() };
        let (t_one, _) = time_query(&store, &one, 3).await;
        println!("aggregate month, one (the largest) customer: {:.3} s", t_one.as_secs_f64());
        return;
    }
    let clean_name = unique_name("tally_bench_clean");
    let clean = open(&clean_name).await;
    println!(
        "server {}, {total} events, {customers} customers, {} aggregation items",
        clean.server_version().0,
        items.len()
    );
    let (n, busy, kept) = load(&clean, generate(total, customers, start, 42), Some(50)).await;
    println!(
        "insert: {n} events in {:.2} s inside insert_events: {:.0} events/s",
        busy.as_secs_f64(),
        n as f64 / busy.as_secs_f64()
    );

    let (t_parts, _) = time_query(&clean, &query, 1).await;
    println!(
        "aggregate month, all customers, clean, as inserted (several parts, FINAL): {:.2} s",
        t_parts.as_secs_f64()
    );
    let started = Instant::now();
    clean.compact(&period).await.expect("compact");
    println!("compact the month (OPTIMIZE ... FINAL): {:.2} s", started.elapsed().as_secs_f64());
    let (t_clean, rows) = time_query(&clean, &query, 3).await;
    println!("aggregate month, all customers, clean, compacted: {:.2} s ({rows} rows)", t_clean.as_secs_f64());

    // The same events plus 2% duplicates, delivered later as separate inserts (unmerged).
    let dup_name = unique_name("tally_bench_dups");
    let dups = open(&dup_name).await;
    let (_, _, _) = load(&dups, generate(total, customers, start, 42), None).await;
    let started = Instant::now();
    for chunk in kept.chunks(chunk_size()) {
        dups.insert_events(chunk).await.expect("insert duplicates");
    }
    println!("duplicates: {} re-delivered in {:.2} s", kept.len(), started.elapsed().as_secs_f64());
    let (t_dup_parts, _) = time_query(&dups, &query, 1).await;
    println!(
        "aggregate month, all customers, 2% duplicates, not compacted (FINAL): {:.2} s, {:.2}x clean as inserted",
        t_dup_parts.as_secs_f64(),
        t_dup_parts.as_secs_f64() / t_parts.as_secs_f64()
    );
    let started = Instant::now();
    dups.compact(&period).await.expect("compact");
    println!("compact the month with duplicates: {:.2} s", started.elapsed().as_secs_f64());
    let (t_dups, rows_dups) = time_query(&dups, &query, 3).await;
    println!(
        "aggregate month, all customers, 2% duplicates, compacted: {:.2} s ({rows_dups} rows), {:.2}x clean compacted",
        t_dups.as_secs_f64(),
        t_dups.as_secs_f64() / t_clean.as_secs_f64()
    );
    let same = clean.aggregate(&query).await.unwrap() == dups.aggregate(&query).await.unwrap();
    println!("results identical with and without duplicates: {same}");

    let one = UsageQuery { customer: Some(CustomerId::new("customer-000000")), ..query.clone() };
    let (t_one, _) = time_query(&clean, &one, 3).await;
    println!("aggregate month, one (the largest) customer: {:.3} s", t_one.as_secs_f64());

    if std::env::var_os("TALLY_BENCH_KEEP").is_some() {
        println!("kept databases {clean_name} and {dup_name}");
    } else {
        dups.client().query(&format!("DROP DATABASE {dup_name}")).execute().await.unwrap();
        clean.client().query(&format!("DROP DATABASE {clean_name}")).execute().await.unwrap();
    }
    assert!(same, "duplicates changed the result");
}
