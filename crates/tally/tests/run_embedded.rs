//! `tally run` in embedded mode, as an operator runs it: a config file, events from a
//! file, from HTTP (one event, a batch, NDJSON) and from stdin, all counted on
//! `/metrics`; SIGTERM ends the process cleanly; then an invoicer-only `tally run`
//! closes the days on its schedule, and the invoices bill exactly what was sent.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{DurationRound, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};

mod common;

const CATALOG: &str = common::DAILY_CATALOG;

/// One HTTP/1.1 request with the ingest token; returns (status, body).
fn http(addr: SocketAddr, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
    common::request(addr, method, path, Some(common::token("ingest")), content_type, body.as_bytes())
}

fn metric(addr: SocketAddr, name: &str) -> Option<f64> {
    common::metric(addr, name)
}

fn wait_for(what: &str, ok: impl FnMut() -> bool) {
    common::wait_for(what, ok)
}

fn event(id: &str, time: &str, tokens: i64) -> String {
    json!({"specversion": "1.0", "id": id, "source": "test", "type": "llm.tokens", "subject": "acme",
        "time": time, "data": {"tokens": tokens}})
    .to_string()
}

fn tally(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
    command.current_dir(dir).env_remove("TALLY_LOG");
    command
}

fn stop(running: common::Running) -> String {
    let log = running.stop();
    assert!(log.contains("SIGTERM: finishing what is in hand") && log.contains("stopped"), "{log}");
    log
}

#[test]
fn run_ingests_files_http_and_stdin_then_invoices_on_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("catalog.toml"), CATALOG).unwrap();
    let today = Utc::now().duration_trunc(TimeDelta::days(1)).unwrap();
    let start = (today - TimeDelta::days(2)).to_rfc3339();
    let at = |days: i64, hour: i64| (today - TimeDelta::days(days) + TimeDelta::hours(hour)).to_rfc3339();
    let store = ["--embedded", "tally.db"];
    for args in [
        &["customers", "create", "--id", "acme", "--name", "Acme", "--currency", "USD", "--timezone", "UTC"][..],
        &[
            "subscriptions",
            "create",
            "--id",
            "sub-acme",
            "--customer",
            "acme",
            "--plan",
            "daily",
            "--start",
            &start,
            "--catalog",
            "catalog.toml",
        ],
    ] {
        let out = tally(d).args(args).args(store).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    // Two days ago: 100 + 20 from the file (one of them twice), a rejected one.
    let file = [
        event("f1", &at(2, 1), 100),
        event("f2", &at(2, 5), 20),
        event("f1", &at(2, 1), 100),
        event("f3", &at(2, 6), -4),
    ];
    std::fs::write(d.join("events.ndjson"), file.join("\n") + "\n").unwrap();
    let (api, metrics) = (common::free_port(), common::free_port());
    let config = format!(
        "catalog = \"catalog.toml\"\n[store.embedded]\npath = \"tally.db\"\n[ingest]\nfiles = [\"events.ndjson\"]\n\
         [http]\nlisten = \"{api}\"\nmax_body_bytes = 4096\n[metrics]\nlisten = \"{metrics}\"\n[invoicer]\nenabled = false\n{}",
        common::tokens_toml()
    );
    std::fs::write(d.join("ingest.toml"), config).unwrap();
    let shown = tally(d).args(["config", "show", "--config", "ingest.toml"]).output().unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains(&format!("listen = \"{api}\"")));
    let running = common::Running::start(d, "ingest.toml");
    wait_for("/metrics", || TcpStream::connect(metrics).is_ok());
    wait_for("the file", || metric(metrics, "tally_ingest_messages_total") == Some(4.0));

    // Yesterday, over HTTP: one event; a batch with a bad one; NDJSON.
    let (status, body) = http(api, "POST", "/v1/events", "application/cloudevents+json", &event("h1", &at(1, 2), 3));
    assert_eq!((status, body.trim()), (202, r#"{"accepted":1,"rejected":0}"#));
    let batch = format!("[{}, {}, {{\"specversion\": \"1.0\"}}]", event("h2", &at(1, 3), 4), event("h1", &at(1, 2), 3));
    let (status, body) = http(api, "POST", "/v1/events", "application/cloudevents-batch+json", &batch);
    assert_eq!(status, 202, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((body["accepted"].as_u64(), body["rejected"].as_u64()), (Some(2), Some(1)), "{body}");
    assert_eq!(body["results"][2]["status"], "rejected");
    assert!(body["results"][2]["message"].as_str().unwrap().contains("id"), "{body}");
    let lines = format!("{}\r\n\n{}\n", event("h3", &at(1, 4), 5), event("h4", &at(1, 5), 6));
    let (status, _) = http(api, "POST", "/v1/events", "application/x-ndjson", &lines);
    assert_eq!(status, 202);
    // Refusals that store nothing.
    let refusals = [
        ("application/cloudevents+json", event("bad", &at(1, 6), -1), 400, "negative_value"),
        ("application/cloudevents-batch+json", "{\"not\": \"an array\"}".to_owned(), 400, "invalid_batch"),
        ("application/cloudevents-batch+json", "[]".to_owned(), 400, "empty_batch"),
        ("text/csv", "a,b".to_owned(), 415, "unsupported_media_type"),
        (
            "application/cloudevents-batch+json",
            format!("[{}]", vec![event("big", &at(1, 7), 1); 40].join(",")),
            413,
            "body_too_large",
        ),
    ];
    for (content_type, body, want, code) in refusals {
        let (status, answer) = http(api, "POST", "/v1/events", content_type, &body);
        assert_eq!(status, want, "{content_type}: {answer}");
        assert!(answer.contains(code), "{content_type}: {answer}");
    }
    assert_eq!(
        metric(metrics, "tally_ingest_events_total"),
        Some(8.0),
        "3 file + 5 HTTP valid events written (duplicates included)"
    );
    assert_eq!(metric(metrics, "tally_ingest_rejected_events_total{reason=\"negative_value\"}"), Some(2.0));
    stop(running);

    // Stdin, one-shot: no server role, exits at the end of its input.
    let config = "catalog = \"catalog.toml\"\n[store.embedded]\npath = \"tally.db\"\n[ingest]\nstdin = true\n\
                  [http]\nenabled = false\n[metrics]\nenabled = false\n[invoicer]\nenabled = false\n";
    std::fs::write(d.join("stdin.toml"), config).unwrap();
    let mut child =
        tally(d).args(["run", "--config", "stdin.toml"]).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let input = format!("{}\n{}\n", event("s1", &at(1, 8), 7), event("h4", &at(1, 5), 6));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && log.contains("input=\"stdin\" messages=2 accepted=2"), "{log}");

    // The invoicer alone, every second: the two closed days, issued once each.
    let metrics = common::free_port();
    let config = format!(
        "catalog = \"catalog.toml\"\n[store.embedded]\npath = \"tally.db\"\n[ingest]\nenabled = false\n[http]\nenabled = false\n\
         [metrics]\nlisten = \"{metrics}\"\n[invoicer]\nevery = \"1s\"\ngrace = \"1s\"\n"
    );
    std::fs::write(d.join("invoicer.toml"), config).unwrap();
    let running = common::Running::start(d, "invoicer.toml");
    wait_for("/metrics", || TcpStream::connect(metrics).is_ok());
    wait_for("two invoice runs", || {
        metric(metrics, "tally_invoicer_runs_total{outcome=\"ok\"}").is_some_and(|n| n >= 2.0)
    });
    assert_eq!(metric(metrics, "tally_invoicer_invoices_issued_total"), Some(2.0));
    stop(running);

    let listed = tally(d).args(["invoice", "list", "--json"]).args(store).output().unwrap();
    let invoices: Vec<Value> =
        String::from_utf8_lossy(&listed.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let tokens: Vec<Decimal> = invoices
        .iter()
        .map(|i| {
            i["lines"].as_array().unwrap().iter().find(|l| l["kind"] == "usage").unwrap()["quantity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    // Two days ago: 100 + 20; yesterday: 3 + 4 + 5 + 6 (HTTP) + 7 (stdin); duplicates once.
    assert_eq!(tokens, [Decimal::from(120), Decimal::from(25)], "{invoices:#?}");
    assert_eq!(invoices[1]["total"], "0.25");
}
