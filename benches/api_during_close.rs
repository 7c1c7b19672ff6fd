//! The API's latency while `tally run` closes a big month (issue 19, item 4): a release
//! `tally run` in embedded mode on a store of `TALLY_BENCH_CUSTOMERS` (100,000)
//! customers on the sample catalog's `starter` plan with a month of generated usage
//! (`TALLY_BENCH_EVENTS`, 1,000,000). Its invoicer closes that month at start-up;
//! meanwhile one client asks `GET /v1/customers/{id}` over a keep-alive connection,
//! back to back, and the latencies of the requests answered while the close ran are
//! printed (p50, p99, max) as one JSON line, with the close's own duration.
//!
//!   cargo build --release -p tally && cargo bench -p tally-benches --bench api_during_close
//!   TALLY_BENCH_TALLY=path/to/an/older/tally   measures another build (the "before")
//!
//! Results: docs/benchmarks.md.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tally_domain::{Catalog, Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_ingest::generate::{GenerateConfig, Generator};
use tally_store::{AccountStore, IncomingEvent, UsageStore};

const READ_TOKEN: &str = "tly_bench_read";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// One GET on a keep-alive connection: (status, body).
fn get(stream: &mut BufReader<TcpStream>, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: tally\r\n{auth}\r\n");
    stream.get_mut().write_all(request.as_bytes()).unwrap();
    let mut status_line = String::new();
    stream.read_line(&mut status_line).unwrap();
    let status = status_line.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    let mut length = 0;
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn sha256_hex(text: &str) -> String {
    let out = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    out.stdin.as_ref().unwrap().write_all(text.as_bytes()).unwrap();
    let out = out.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let customers = env("TALLY_BENCH_CUSTOMERS", 100_000) as u32;
    let events = env("TALLY_BENCH_EVENTS", 1_000_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let tally =
        std::env::var("TALLY_BENCH_TALLY").map(PathBuf::from).unwrap_or_else(|_| root.join("target/release/tally"));
    assert!(tally.is_file(), "{} is missing: cargo build --release -p tally", tally.display());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tally.db");
    let catalog = Catalog::load(&root.join("config/catalog.toml")).unwrap();

    // The store: customers, subscriptions from last month's start, its usage.
    let now = Utc::now();
    let month_start: DateTime<Utc> =
        format!("{}-01T00:00:00Z", (now - TimeDelta::days(28)).format("%Y-%m")).parse().unwrap();
    let month_end: DateTime<Utc> = format!("{}-01T00:00:00Z", now.format("%Y-%m")).parse().unwrap();
    let loading = Instant::now();
    {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = tally_store::embedded::EmbeddedStore::open(&db).unwrap();
        let (accounts, subscriptions): (Vec<Customer>, Vec<Subscription>) = (0..customers)
            .map(|i| {
                let id = CustomerId::new(format!("customer-{i:06}"));
                let customer = Customer {
                    id: id.clone(),
                    name: format!("Customer {i}"),
                    currency: "USD".parse().unwrap(),
                    timezone: chrono_tz::Tz::UTC,
                    billing_details: BTreeMap::new(),
                };
                let subscription = Subscription {
                    id: SubscriptionId::new(format!("sub-{i:06}")),
                    customer: id,
                    start: month_start,
                    end: None,
                    anchor: month_start.date_naive(),
                    phases: vec![Phase { plan: PlanKey::new("starter"), from: month_start }],
                };
                (customer, subscription)
            })
            .unzip();
        runtime.block_on(store.put_customers(&accounts)).unwrap();
        runtime.block_on(store.put_subscriptions(&subscriptions)).unwrap();
        let generate = GenerateConfig {
            seed: 19,
            events,
            customers,
            duplicates_per_mille: 0,
            malformed_per_mille: 0,
            start: month_start,
            end: month_end,
            source: "bench".into(),
        };
        let decoder = Decoder::new(&catalog, DecodeRules { late_window: None, ..Default::default() });
        let mut batch = Vec::with_capacity(100_000);
        for message in Generator::new(generate, &catalog) {
            batch.push(IncomingEvent { event: decoder.decode(&message.payload, now).unwrap().event, origin: None });
            if batch.len() == 100_000 {
                runtime.block_on(store.insert_events(&batch)).unwrap();
                batch.clear();
            }
        }
        runtime.block_on(store.insert_events(&batch)).unwrap();
    }
    eprintln!(
        "store of {customers} subscriptions and {events} events ready in {:.1} s",
        loading.elapsed().as_secs_f64()
    );

    let (api, metrics) = (free_port(), free_port());
    let config = format!(
        "catalog = \"{}\"\n[store.embedded]\npath = \"{}\"\n[invoicer]\nevery = \"1h\"\ngrace = \"1s\"\n\
         [http]\nlisten = \"{api}\"\n[[http.tokens]]\nname = \"bench\"\nrole = \"read\"\nsha256 = \"{}\"\n\
         [metrics]\nlisten = \"{metrics}\"\n[log]\nlevel = \"warn\"\n",
        root.join("config/catalog.toml").display(),
        db.display(),
        sha256_hex(READ_TOKEN)
    );
    std::fs::write(dir.path().join("bench.toml"), config).unwrap();
    let mut server = Command::new(&tally)
        .args(["run", "--config"])
        .arg(dir.path().join("bench.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let connect = |addr| loop {
        if let Ok(s) = TcpStream::connect(addr) {
            s.set_nodelay(true).unwrap();
            return BufReader::new(s);
        }
        assert!(started.elapsed() < Duration::from_secs(60), "tally run did not listen");
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut client = connect(api);
    let mut probe = connect(metrics);
    // Requests until the invoicer's first run is over (its runs counter moves).
    let ran = |probe: &mut BufReader<TcpStream>| {
        let (_, text) = get(probe, "/metrics", None);
        text.lines().any(|l| l.starts_with("tally_invoicer_runs_total{") && !l.ends_with(" 0"))
    };
    let mut latencies = Vec::new();
    let mut last_probe = Instant::now();
    let close_seconds = loop {
        let sent = Instant::now();
        let (status, _) = get(&mut client, "/v1/customers/customer-000001", Some(READ_TOKEN));
        latencies.push(sent.elapsed());
        assert_eq!(status, 200);
        if last_probe.elapsed() > Duration::from_millis(100) {
            last_probe = Instant::now();
            if ran(&mut probe) {
                break started.elapsed().as_secs_f64();
            }
        }
        assert!(started.elapsed() < Duration::from_secs(600), "the close did not finish in 10 minutes");
    };
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
    latencies.sort();
    println!(
        "{}",
        serde_json::json!({
            "bench": "api_during_close",
            "tally": tally.display().to_string(),
            "subscriptions": customers,
            "events": events,
            "close_seconds": (close_seconds * 10.0).round() / 10.0,
            "requests": latencies.len(),
            "p50_ms": percentile(&latencies, 0.50),
            "p99_ms": percentile(&latencies, 0.99),
            "max_ms": percentile(&latencies, 1.0),
        })
    );
}
