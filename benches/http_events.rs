//! Load test of `POST /v1/events` on loopback (issue 9): a release `tally run` in
//! embedded mode (its own store in a temporary directory), fed batches of events over
//! several keep-alive connections; prints sustained events/s (every event answered as
//! durable) as one JSON line. Bounded in count, and in time (fails after 10 minutes).
//!
//!   cargo build --release -p tally && cargo bench -p tally-benches --bench http_events
//!   TALLY_BENCH_EVENTS=1000000 TALLY_BENCH_BATCH=1000 TALLY_BENCH_CONNECTIONS=4 cargo bench ...
//!
//! With `TALLY_BENCH_READERS=8`, that many read clients ask for usage and for an
//! unknown invoice number in a loop while the events go in (issue 17: with every store
//! call behind one SQLite connection, 8 readers raised the ingest latency from 5 ms to
//! 2.5 s median); the ingest requests' median and worst latency are printed. With
//! `TALLY_BENCH_INVOICES=100000` the store holds that many issued invoices first (the
//! attack's store: an unknown invoice number was then looked up by reading them all).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const TOKEN: &str = "tly_bench_ingest";
const READ_TOKEN: &str = "tly_bench_read";

/// One GET on a keep-alive connection; returns the status.
fn get(stream: &mut BufReader<TcpStream>, path: &str) -> u16 {
    let request = format!("GET {path} HTTP/1.1\r\nHost: tally\r\nAuthorization: Bearer {READ_TOKEN}\r\n\r\n");
    stream.get_mut().write_all(request.as_bytes()).unwrap();
    read_response(stream).0
}

/// `count` issued one-line invoices of 1,000 customers over the last months.
fn fill_invoices(path: &std::path::Path, count: usize) {
    use tally_store::InvoiceStore;
    let store = tally_store::embedded::EmbeddedStore::open(path).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let start = chrono::Utc::now() - chrono::TimeDelta::days(400);
    let records: Vec<tally_store::InvoiceRecord> = (0..count)
        .map(|i| {
            let from = start + chrono::TimeDelta::hours(i as i64 / 1000);
            tally_store::InvoiceRecord {
                id: format!("sub-{:04}@{i}", i % 1000),
                number: None,
                customer: tally_domain::CustomerId::new(format!("customer-{:04}", i % 1000)),
                subscription: tally_domain::SubscriptionId::new(format!("sub-{:04}", i % 1000)),
                period: tally_domain::Period::new(from, from + chrono::TimeDelta::hours(1)).unwrap(),
                currency: "USD".into(),
                state: tally_domain::InvoiceState::Issued,
                total: rust_decimal::Decimal::new(4900, 2),
                issued_at: Some(from + chrono::TimeDelta::hours(2)),
                body: "{}".into(),
                lines: Vec::new(),
                reporting: None,
            }
        })
        .collect();
    for chunk in records.chunks(10_000) {
        runtime.block_on(store.put_invoices(chunk, "INV-")).unwrap();
    }
}

fn hash_of(bin: &std::path::Path, token: &str) -> String {
    let mut child =
        Command::new(bin).args(["token", "hash"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(token.as_bytes()).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_owned()
}

/// Sends one request on a keep-alive connection; returns (status, body).
fn post(stream: &mut BufReader<TcpStream>, body: &str) -> (u16, String) {
    // One write per request (several small writes meet Nagle's algorithm and delayed
    // ACKs: 40 ms stalls that measured the client, not the server).
    let request = format!(
        "POST /v1/events HTTP/1.1\r\nHost: tally\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/cloudevents-batch+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.get_mut().write_all(request.as_bytes()).unwrap();
    read_response(stream)
}

fn read_response(stream: &mut BufReader<TcpStream>) -> (u16, String) {
    let (mut status, mut length) = (0, 0);
    let mut line = String::new();
    loop {
        line.clear();
        stream.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some(code) = l.strip_prefix("HTTP/1.1 ") {
            status = code[..3].parse().unwrap();
        } else if let Some(n) = l.to_ascii_lowercase().strip_prefix("content-length: ") {
            length = n.parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

fn main() {
    let (events, batch, connections) =
        (env("TALLY_BENCH_EVENTS", 200_000), env("TALLY_BENCH_BATCH", 1_000), env("TALLY_BENCH_CONNECTIONS", 4));
    let readers = env("TALLY_BENCH_READERS", 0);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = std::env::var("TALLY_BIN").map(PathBuf::from).unwrap_or_else(|_| root.join("target/release/tally"));
    assert!(bin.exists(), "{} missing: cargo build --release -p tally first", bin.display());
    let dir = std::env::temp_dir().join(format!("tally-bench-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (hash, read_hash) = (hash_of(&bin, TOKEN), hash_of(&bin, READ_TOKEN));
    let invoices = env("TALLY_BENCH_INVOICES", 0);
    if invoices > 0 {
        fill_invoices(&dir.join("tally.db"), invoices);
    }
    let config = format!(
        "catalog = {:?}\n[store.embedded]\npath = \"tally.db\"\n[http]\nlisten = \"{addr}\"\n[metrics]\nenabled = false\n\
         [invoicer]\nenabled = false\n[log]\nlevel = \"warn\"\n[[http.tokens]]\nname = \"bench\"\nrole = \"ingest\"\nsha256 = \"{hash}\"\n\
         [[http.tokens]]\nname = \"bench-read\"\nrole = \"read\"\nsha256 = \"{read_hash}\"\n",
        root.join("config/catalog.toml").display().to_string()
    );
    std::fs::write(dir.join("bench.toml"), config).unwrap();
    let mut server = Command::new(&bin)
        .current_dir(&dir)
        .args(["run", "--config", "bench.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "tally run did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The bodies, made before the clock starts: llm.tokens events over the last day.
    let now = chrono::Utc::now();
    let bodies: Vec<String> = (0..events.div_ceil(batch))
        .map(|b| {
            let items: Vec<String> = (b * batch..((b + 1) * batch).min(events))
                .map(|i| {
                    let time = (now - chrono::TimeDelta::seconds((i % 86_400) as i64)).to_rfc3339();
                    format!(
                        r#"{{"specversion":"1.0","id":"e{i}","source":"bench","type":"llm.tokens","subject":"customer-{:04}","time":"{time}","data":{{"tokens":{},"model":"gpt-4o","direction":"input"}}}}"#,
                        i % 1000,
                        100 + i % 900
                    )
                })
                .collect();
            format!("[{}]", items.join(","))
        })
        .collect();
    let started = Instant::now();
    let done = std::sync::atomic::AtomicBool::new(false);
    let latencies = std::sync::Mutex::new(Vec::new());
    let reads = std::sync::atomic::AtomicUsize::new(0);
    let (from, to) =
        ((now - chrono::TimeDelta::days(2)).format("%Y-%m-%dT%H:%M:%SZ"), now.format("%Y-%m-%dT%H:%M:%SZ"));
    let usage = format!("/v1/customers/customer-0001/usage?meter=llm_tokens&from={from}&to={to}&group_by=model");
    let accepted: usize = std::thread::scope(|scope| {
        for _ in 0..readers {
            let (done, reads, usage) = (&done, &reads, &usage);
            scope.spawn(move || {
                let mut stream = BufReader::new(TcpStream::connect(addr).unwrap());
                stream.get_mut().set_nodelay(true).unwrap();
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    assert_eq!(get(&mut stream, usage), 200);
                    assert_eq!(get(&mut stream, "/v1/invoices/INV-999999"), 404);
                    reads.fetch_add(2, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
        let handles: Vec<_> = (0..connections)
            .map(|c| {
                let (bodies, latencies) = (&bodies, &latencies);
                scope.spawn(move || {
                    let connection = TcpStream::connect(addr).unwrap();
                    connection.set_nodelay(true).unwrap();
                    let mut stream = BufReader::new(connection);
                    let mut accepted = 0;
                    for body in bodies.iter().skip(c).step_by(connections) {
                        assert!(started.elapsed() < Duration::from_secs(600), "over the 10-minute bound");
                        let sent = Instant::now();
                        let (status, answer) = post(&mut stream, body);
                        latencies.lock().unwrap().push(sent.elapsed().as_secs_f64());
                        assert_eq!(status, 202, "{answer}");
                        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
                        accepted += answer["accepted"].as_u64().unwrap() as usize;
                    }
                    accepted
                })
            })
            .collect();
        let accepted = handles.into_iter().map(|h| h.join().unwrap()).sum();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        accepted
    });
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort_by(f64::total_cmp);
    let ms = |q: f64| (latencies[((latencies.len() - 1) as f64 * q) as usize] * 10_000.0).round() / 10.0;
    let seconds = started.elapsed().as_secs_f64();
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(accepted, events, "every event answered as accepted");
    println!(
        "{}",
        serde_json::json!({
            "events": events, "batch": batch, "connections": connections,
            "seconds": (seconds * 100.0).round() / 100.0, "events_per_s": (events as f64 / seconds).round(),
            "readers": readers, "reads": reads.into_inner(),
            "ingest_request_ms": { "p50": ms(0.5), "p99": ms(0.99), "max": ms(1.0) },
        })
    );
}
