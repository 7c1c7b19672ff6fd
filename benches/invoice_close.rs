//! Closing one month on ClickHouse (issue 6): every customer on the sample catalog's
//! `starter` plan (4 usage charges, one grouped by GPU type), a month of generated AI
//! usage, then `tally_invoicer::close` timed alone: the set-based usage query, composing
//! every invoice, and writing invoices and lines.
//!
//! Run: `deploy/local/services up && cargo bench -p tally-benches --bench invoice_close`
//! Size: `TALLY_BENCH_EVENTS` (default 10,000,000), `TALLY_BENCH_CUSTOMERS` (100,000).
//! `TALLY_BENCH_KEEP_DATABASE=1` keeps the loaded database for queries by hand.
//! `TALLY_BENCH_DATABASE=NAME` loads into that database, or, when it holds events
//! already (a kept one), skips the load and empties what a close writes (invoices,
//! their lines, the ledger, the lease), so a change to the close is measured again
//! in seconds instead of a minute's load; the database is kept.
//! Results: docs/benchmarks.md. The allocator is the `tally` binary's (mimalloc).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use tally_domain::{Catalog, Customer, CustomerId, Period, Phase, PlanKey, Subscription, SubscriptionId};
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_ingest::generate::{GenerateConfig, Generator};
use tally_invoicer::CloseOptions;
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::{AccountStore, IncomingEvent, UsageStore};
use tally_tests::{clickhouse_url, unique_name};

// As the `tally` binary (crates/tally/src/main.rs): the close's own figures depend on
// the allocator (a third of its client-side samples were in glibc's malloc and free).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("a timestamp")
}

fn main() {
    let events = env_u64("TALLY_BENCH_EVENTS", 10_000_000);
    let customers = env_u64("TALLY_BENCH_CUSTOMERS", 100_000) as u32;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/catalog.toml");
    let catalog = Catalog::load(std::path::Path::new(path)).expect("the sample catalog");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let named = std::env::var("TALLY_BENCH_DATABASE").ok();
    let database = named.clone().unwrap_or_else(|| unique_name("tally_bench_close"));
    let config = ClickHouseConfig { url: clickhouse_url(), database: database.clone(), ..Default::default() };
    let store = runtime.block_on(ClickHouseStore::open(&config)).expect("ClickHouse (deploy/local/services up)");
    let (start, end) = (t("2026-10-01T00:00:00Z"), t("2026-11-01T00:00:00Z"));

    // The close runs the day after the month; events are judged as of then.
    let now = t("2026-11-02T00:00:00Z");
    let loading = Instant::now();
    let stored: u64 = runtime
        .block_on(store.client().query("SELECT count() FROM usage_events").fetch_one())
        .expect("counting stored events");
    if stored > 0 {
        for table in ["invoices", "invoice_lines", "ledger_entries", "leases"] {
            runtime
                .block_on(store.client().query(&format!("TRUNCATE TABLE {table}")).execute())
                .expect("emptying what the last close wrote");
        }
        eprintln!("{stored} events already in {database}: not loaded again");
    } else {
        load(&runtime, &store, &catalog, events, customers, (start, end), now);
    }
    let loaded = loading.elapsed();
    let options = CloseOptions {
        now,
        grace: TimeDelta::hours(1),
        number_prefix: "INV-".into(),
        late_window: TimeDelta::days(35),
        payment_terms: TimeDelta::days(30),
        reporting: None,
    };
    close(&runtime, &store, &catalog, &options, (events, customers), loaded, Period::new(start, end).expect("October"));
    if named.is_some() || std::env::var_os("TALLY_BENCH_KEEP_DATABASE").is_some() {
        eprintln!("kept the bench database {database} (drop it with DROP DATABASE {database})");
        return;
    }
    runtime
        .block_on(store.client().query(&format!("DROP DATABASE {database}")).execute())
        .expect("dropping the bench database");
}

/// A month of generated usage, and `customers` customers each subscribed to `starter`.
fn load(
    runtime: &tokio::runtime::Runtime,
    store: &ClickHouseStore,
    catalog: &Catalog,
    events: u64,
    customers: u32,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) {
    let generate = GenerateConfig {
        seed: 6,
        events,
        customers,
        duplicates_per_mille: 0,
        malformed_per_mille: 0,
        start,
        end,
        source: "bench".into(),
    };
    let decoder = Decoder::new(catalog, DecodeRules { late_window: None, ..Default::default() });
    let mut batch = Vec::with_capacity(100_000);
    for message in Generator::new(generate, catalog) {
        batch.push(IncomingEvent { event: decoder.decode(&message.payload, now).expect("valid").event, origin: None });
        if batch.len() == 100_000 {
            runtime.block_on(store.insert_events(&batch)).expect("insert");
            batch.clear();
        }
    }
    runtime.block_on(store.insert_events(&batch)).expect("insert");
    let accounts: Vec<(Customer, Subscription)> = (0..customers)
        .map(|i| {
            let id = CustomerId::new(format!("customer-{i:06}"));
            let customer = Customer {
                id: id.clone(),
                name: format!("Customer {i}"),
                currency: "USD".parse().expect("USD"),
                timezone: chrono_tz::Tz::UTC,
                billing_details: BTreeMap::new(),
            };
            let subscription = Subscription {
                id: SubscriptionId::new(format!("sub-{i:06}")),
                customer: id,
                start,
                end: None,
                anchor: start.date_naive(),
                phases: vec![Phase { plan: PlanKey::new("starter"), from: start }],
            };
            (customer, subscription)
        })
        .collect();
    let (all_customers, subscriptions): (Vec<_>, Vec<_>) = accounts.into_iter().unzip();
    runtime.block_on(store.put_customers(&all_customers)).expect("customers");
    runtime.block_on(store.put_subscriptions(&subscriptions)).expect("subscriptions");
}

/// Compacts the month, closes it (timed), closes it again (nothing to do) and prints
/// the figures as one JSON line.
fn close(
    runtime: &tokio::runtime::Runtime,
    store: &ClickHouseStore,
    catalog: &Catalog,
    options: &CloseOptions,
    (events, customers): (u64, u32),
    loaded: std::time::Duration,
    month: Period,
) {
    // A kept database compacted by an earlier run is one part per partition already;
    // compacting it again would only rewrite it (7 s of server work before each run).
    let compacting = Instant::now();
    let split: u64 = runtime
        .block_on(
            store
                .client()
                .query(
                    "SELECT count() FROM (SELECT partition FROM system.parts WHERE database = currentDatabase() \
                     AND table = 'usage_events' AND active GROUP BY partition HAVING count() > 1)",
                )
                .fetch_one(),
        )
        .expect("counting parts");
    if split > 0 {
        runtime.block_on(store.compact(&month)).expect("compact");
    }
    let compacted = compacting.elapsed();
    let closing = Instant::now();
    let summary = runtime.block_on(tally_invoicer::close(store, catalog, options)).expect("close");
    let closed = closing.elapsed();
    let again = Instant::now();
    let second = runtime.block_on(tally_invoicer::close(store, catalog, options)).expect("close again");
    let reclosed = again.elapsed();
    assert_eq!(summary.issued.len(), customers as usize);
    assert_eq!(second.already_closed, customers as usize);
    println!(
        "{{\"events\":{events},\"subscriptions\":{customers},\"load_s\":{:.1},\"compact_s\":{:.2},\"close_s\":{:.2},\"invoices\":{},\"second_close_s\":{:.2},\"issued_total\":{:?},\"phases_s\":{:?}}}",
        loaded.as_secs_f64(),
        compacted.as_secs_f64(),
        closed.as_secs_f64(),
        summary.issued.len(),
        reclosed.as_secs_f64(),
        summary.issued_total.iter().map(|(c, t)| format!("{t} {c}")).collect::<Vec<_>>(),
        summary.phases.iter().map(|(name, s)| format!("{name}: {:.2}", s.as_secs_f64())).collect::<Vec<_>>()
    );
}
