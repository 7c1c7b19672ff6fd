//! Load test of `POST /v1/events` on loopback (issue 9): a release `tally run` in
//! embedded mode (its own store in a temporary directory), fed batches of events over
//! several keep-alive connections; prints sustained events/s (every event answered as
//! durable) as one JSON line. Bounded in count, and in time (fails after 10 minutes).
//!
//!   cargo build --release -p tally && cargo bench -p tally-benches --bench http_events
//!   TALLY_BENCH_EVENTS=1000000 TALLY_BENCH_BATCH=1000 TALLY_BENCH_CONNECTIONS=4 cargo bench ...

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const TOKEN: &str = "tly_bench_ingest";

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
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = std::env::var("TALLY_BIN").map(PathBuf::from).unwrap_or_else(|_| root.join("target/release/tally"));
    assert!(bin.exists(), "{} missing: cargo build --release -p tally first", bin.display());
    let dir = std::env::temp_dir().join(format!("tally-bench-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let hash = {
        let out =
            Command::new(&bin).args(["token", "hash"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut child = out;
        child.stdin.take().unwrap().write_all(TOKEN.as_bytes()).unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_owned()
    };
    let config = format!(
        "catalog = {:?}\n[store.embedded]\npath = \"tally.db\"\n[http]\nlisten = \"{addr}\"\n[metrics]\nenabled = false\n\
         [invoicer]\nenabled = false\n[log]\nlevel = \"warn\"\n[[http.tokens]]\nname = \"bench\"\nrole = \"ingest\"\nsha256 = \"{hash}\"\n",
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
    let accepted: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..connections)
            .map(|c| {
                let bodies = &bodies;
                scope.spawn(move || {
                    let connection = TcpStream::connect(addr).unwrap();
                    connection.set_nodelay(true).unwrap();
                    let mut stream = BufReader::new(connection);
                    let mut accepted = 0;
                    for body in bodies.iter().skip(c).step_by(connections) {
                        assert!(started.elapsed() < Duration::from_secs(600), "over the 10-minute bound");
                        let (status, answer) = post(&mut stream, body);
                        assert_eq!(status, 202, "{answer}");
                        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
                        accepted += answer["accepted"].as_u64().unwrap() as usize;
                    }
                    accepted
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
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
        })
    );
}
