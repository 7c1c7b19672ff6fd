//! The HTTP API of `tally run` (embedded mode) through real HTTP requests: every
//! endpoint against every kind of caller (no token, a wrong token, each role), what
//! the endpoints answer after real events and a real close, and clear 4xx errors that
//! change nothing for malformed requests.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// One HTTP/1.0 request with an optional bearer token; returns (status, headers, body).
fn request(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let content_type =
        if body.trim_start().starts_with('[') { "application/cloudevents-batch+json" } else { "application/json" };
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: tally\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Bytes, not text: a PDF answer is not UTF-8 (its head and text bodies are).
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let response = String::from_utf8_lossy(&bytes).into_owned();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn tally(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tally")).current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn event(id: &str, time: &str, model: &str, tokens: u64) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "api-test", "type": "llm.tokens", "subject": "acme",
        "time": time, "data": {"tokens": tokens, "model": model, "direction": "input"}})
}

/// The subscription's first period: from 20 days ago (midnight UTC) for a month, so
/// that its events are inside the late window and it can be closed with `--now`.
fn period() -> (DateTime<Utc>, DateTime<Utc>) {
    let start = (Utc::now() - TimeDelta::days(20)).duration_trunc(TimeDelta::days(1)).unwrap();
    (start, start.checked_add_months(chrono::Months::new(1)).unwrap())
}

fn at(days: i64, hours: i64) -> String {
    (period().0 + TimeDelta::days(days) + TimeDelta::hours(hours)).to_rfc3339()
}

fn usage_path(group_by: &str) -> String {
    let (start, end) = period();
    let (start, end) = (start.to_rfc3339().replace('+', "%2B"), end.to_rfc3339().replace('+', "%2B"));
    format!("/v1/customers/acme/usage?meter=llm_tokens&from={start}&to={end}{group_by}")
}

/// Every endpoint, with the role it needs: (method, path, body, role).
fn endpoints() -> Vec<(&'static str, String, String, &'static str)> {
    vec![
        ("POST", "/v1/events".into(), event("m1", &at(0, 1), "gpt-4o", 1).to_string(), "ingest"),
        ("GET", "/v1/customers".into(), String::new(), "read"),
        ("POST", "/v1/customers".into(), r#"{"id": "matrix"}"#.into(), "admin"),
        ("PATCH", "/v1/customers/acme".into(), r#"{"colour": "red"}"#.into(), "admin"),
        ("POST", "/v1/subscriptions".into(), r#"{"id": "matrix"}"#.into(), "admin"),
        ("PATCH", "/v1/subscriptions/sub-acme".into(), r#"{"colour": "red"}"#.into(), "admin"),
        ("GET", "/v1/customers/acme".into(), String::new(), "read"),
        ("GET", usage_path(""), String::new(), "read"),
        ("GET", "/v1/customers/acme/invoice-preview".into(), String::new(), "read"),
        ("GET", "/v1/subscriptions".into(), String::new(), "read"),
        ("GET", "/v1/subscriptions/sub-acme".into(), String::new(), "read"),
        ("GET", "/v1/invoices".into(), String::new(), "read"),
        ("GET", "/v1/invoices/no-such-invoice".into(), String::new(), "read"),
        ("GET", "/v1/invoices/no-such-invoice/lines/1/explain".into(), String::new(), "read"),
        ("POST", "/v1/invoices/no-such-invoice/void".into(), String::new(), "admin"),
        (
            "POST",
            "/v1/invoices/no-such-invoice/credit-notes".into(),
            r#"{"amount": "1", "reason": "r"}"#.into(),
            "admin",
        ),
        ("GET", "/v1/invoices/no-such-invoice/payments".into(), String::new(), "read"),
        (
            "POST",
            "/v1/invoices/no-such-invoice/payments".into(),
            r#"{"amount": "1", "date": "2026-11-01", "reference": "r"}"#.into(),
            "admin",
        ),
        ("GET", "/v1/receivables/overdue".into(), String::new(), "read"),
        ("GET", "/v1/receivables/aging".into(), String::new(), "read"),
        ("GET", "/v1/usage/unbilled?from=2026-11-01T00:00:00Z".into(), String::new(), "read"),
        ("GET", "/v1/customers/acme/statement?from=2026-11-01&to=2026-11-30".into(), String::new(), "read"),
        ("GET", "/v1/customers/acme/balance".into(), String::new(), "read"),
        (
            "POST",
            "/v1/customers/nobody/payments".into(),
            r#"{"amount": "1", "date": "2026-11-01", "reference": "r"}"#.into(),
            "admin",
        ),
        ("POST", "/v1/customers/nobody/payments/r/reversal".into(), r#"{"reason": "bounced"}"#.into(), "admin"),
        (
            "POST",
            "/v1/customers/nobody/refunds".into(),
            r#"{"payment": "r", "reference": "f", "amount": "1"}"#.into(),
            "admin",
        ),
        ("POST", "/v1/invoices/no-such-invoice/write-off".into(), r#"{"reason": "r"}"#.into(), "admin"),
        ("POST", "/v1/invoices/no-such-invoice/rebill".into(), String::new(), "admin"),
        ("GET", "/v1/exports/xero?from=2026-11-01&to=2026-11-30".into(), String::new(), "read"),
        ("GET", "/v1/reports?from=2026-10-01&to=2026-11-30&format=xlsx".into(), String::new(), "read"),
        ("GET", "/v1/rates".into(), String::new(), "read"),
        ("POST", "/v1/rates".into(), "Date,USD,JPY,\n2026-11-30,1.0512,160.12,\n".into(), "admin"),
    ]
}

#[test]
fn every_endpoint_authenticates_and_answers_on_the_embedded_store() {
    every_endpoint(&["--embedded", "tally.db"], "[store.embedded]\npath = \"tally.db\"\n");
}

/// The same requests with the store in ClickHouse (events through the embedded intake).
#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_authenticates_and_answers_on_clickhouse() {
    let db = tally_tests::TestDb::new().await;
    let url = tally_tests::clickhouse_url();
    let config = format!(
        "[store]\nkind = \"clickhouse\"\n[store.clickhouse]\nurl = \"{url}\"\ndatabase = \"{}\"\ncompression = \"none\"\n",
        db.name()
    );
    tokio::task::block_in_place(|| every_endpoint(&["--clickhouse", &url, "--database", db.name()], &config));
}

/// Every endpoint against every kind of caller, then what each answers after real
/// events, a close, a void, payments; `store` are the CLI's store arguments and
/// `store_config` the same store as configuration.
fn every_endpoint(store: &[&str], store_config: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let catalog = common::sample_catalog();
    let catalog = catalog.to_str().unwrap();
    tally(
        d,
        &[
            &["customers", "create", "--id", "acme", "--name", "Acme AI", "--currency", "USD", "--timezone", "UTC"][..],
            &store,
        ]
        .concat(),
    );
    tally(
        d,
        &[
            &["customers", "create", "--id", "beta", "--name", "Beta", "--currency", "USD", "--timezone", "UTC"][..],
            &store,
        ]
        .concat(),
    );
    tally(
        d,
        &[
            &["subscriptions", "create", "--id", "sub-acme", "--customer", "acme", "--plan", "starter"][..],
            &["--start", &period().0.to_rfc3339(), "--catalog", catalog],
            &store,
        ]
        .concat(),
    );
    let (api, metrics) = (common::free_port(), common::free_port());
    let config = format!(
        "catalog = {catalog:?}\n{store_config}[http]\nlisten = \"{api}\"\nmax_body_bytes = 65536\n\
         [issuer]\nname = \"Tally Test Ltd\"\n[metrics]\nlisten = \"{metrics}\"\n[invoicer]\nenabled = false\n{}",
        common::tokens_toml()
    );
    std::fs::write(d.join("api.toml"), config).unwrap();
    let running = common::Running::start(d, "api.toml");
    common::wait_for_port(api);
    let (ingest, read, admin) =
        (Some(common::token("ingest")), Some(common::token("read")), Some(common::token("admin")));

    // The OpenAPI document is served as checked in, and documents exactly the
    // endpoints exercised here (each of which is routed: none answers "no such route").
    let (status, _, served) = request(api, "GET", "/openapi.json", None, "");
    assert_eq!(status, 200);
    let checked_in =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tally-api/openapi.json")).unwrap();
    assert_eq!(json_of(&served), json_of(&checked_in));
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in json_of(&served)["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut exercised: Vec<(String, String)> = endpoints()
        .iter()
        .map(|(method, path, _, _)| {
            let path = path.split('?').next().unwrap();
            let template = ["sub-acme", "no-such-invoice", "acme", "nobody"]
                .iter()
                .fold(path.to_owned(), |p, id| p.replace(id, "{id}"));
            let template = template
                .replace("/payments/r/", "/payments/{reference}/")
                .replace("/exports/xero", "/exports/{format}");
            (method.to_string(), template.replace("/lines/1/", "/lines/{line}/"))
        })
        .collect();
    documented.sort();
    exercised.sort();
    assert_eq!(documented, exercised, "openapi.json and the endpoints tested");

    // The matrix: no token and a wrong token get 401, a role without the right 403,
    // the right role neither. Refused requests change nothing (checked below: m1 is
    // stored once, by the ingest token).
    for (method, path, body, needs) in endpoints() {
        let path = path.as_str();
        for token in [None, Some("tly_wrong"), Some("")] {
            let (status, head, answer) = request(api, method, path, token, &body);
            assert_eq!(status, 401, "{method} {path} with {token:?}: {answer}");
            assert_eq!(json_of(&answer)["code"], "unauthorized");
            assert!(head.contains("www-authenticate: bearer"), "{head}");
        }
        for (role, token) in common::TOKENS {
            let (status, _, answer) = request(api, method, path, Some(token), &body);
            let allowed = role == "admin" || role == needs;
            if allowed {
                assert!(status != 401 && status != 403, "{method} {path} as {role}: {status} {answer}");
            } else {
                assert_eq!(status, 403, "{method} {path} as {role}: {answer}");
                assert_eq!(json_of(&answer)["code"], "forbidden");
            }
        }
    }

    // October's events, over HTTP with the ingest token.
    let batch = json!([
        event("e1", &at(1, 10), "gpt-4o", 1_500_000),
        event("e2", &at(2, 10), "gpt-4o", 500_000),
        event("e3", &at(3, 10), "llama-3-70b", 250_000),
        event("e1", &at(1, 10), "gpt-4o", 1_500_000),
    ]);
    let (status, _, answer) = request(api, "POST", "/v1/events", ingest, &batch.to_string());
    assert_eq!(status, 202, "{answer}");
    assert_eq!(json_of(&answer)["accepted"], 4, "{answer}");

    // Usage, exact, by model (m1 from the matrix counts once although admin sent it too).
    let path = usage_path("&group_by=model");
    let (status, _, answer) = request(api, "GET", &path, read, "");
    assert_eq!(status, 200, "{answer}");
    let usage = json_of(&answer);
    let groups: Vec<(String, String)> = usage["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["dimensions"]["model"].as_str().unwrap().to_owned(), g["quantity"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(groups, [("gpt-4o".to_owned(), "2000001".to_owned()), ("llama-3-70b".to_owned(), "250000".to_owned())]);

    // Accounts.
    let (_, _, answer) = request(api, "GET", "/v1/customers", read, "");
    let ids: Vec<String> =
        json_of(&answer).as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().into()).collect();
    assert_eq!(ids, ["acme", "beta"]);
    let (_, _, answer) = request(api, "GET", "/v1/subscriptions?customer=acme", read, "");
    assert_eq!(json_of(&answer)[0]["id"], "sub-acme");
    let (status, _, answer) = request(api, "GET", "/v1/customers/nobody", read, "");
    assert_eq!((status, json_of(&answer)["code"].as_str()), (404, Some("not_found")));

    // The preview bills the period so far (nothing stored).
    let (status, _, answer) = request(api, "GET", "/v1/customers/acme/invoice-preview", read, "");
    assert_eq!(status, 200, "{answer}");
    let preview = json_of(&answer);
    assert!(preview["invoices"].as_array().unwrap().len() == 1, "{preview}");

    // Close the period through the CLI on the same store (with its clock set after the
    // period's end), then read the invoice over HTTP.
    let now = (period().1 + TimeDelta::hours(2)).to_rfc3339();
    let closed = tally(d, &[&["invoice", "close", "--now", &now, "--catalog", catalog][..], &store].concat());
    assert!(closed.contains("issued 1 invoices"), "{closed}");
    let (status, _, answer) = request(api, "GET", "/v1/invoices?customer=acme&state=issued", read, "");
    assert_eq!(status, 200, "{answer}");
    let listed = json_of(&answer);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let number = listed[0]["number"].as_str().unwrap().to_owned();
    let from_cli: Value =
        serde_json::from_str(&tally(d, &[&["invoice", "show", "--id", &number][..], &store].concat())).unwrap();
    let (_, _, answer) = request(api, "GET", &format!("/v1/invoices/{number}"), read, "");
    assert_eq!(json_of(&answer), from_cli, "the API gives the stored invoice");
    let (status, head, page) = request(api, "GET", &format!("/v1/invoices/{number}?format=html"), read, "");
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(page.contains("Tally Test Ltd") && page.contains(&number) && page.contains("Acme AI"), "{page}");
    let (status, head, pdf) = request(api, "GET", &format!("/v1/invoices/{number}?format=pdf"), read, "");
    assert_eq!(status, 200, "{pdf}");
    assert!(head.contains("content-type: application/pdf") && pdf.starts_with("%PDF-"), "{head}");
    // The evidence behind the GPT-4o input line: by day, by dimension, the events.
    let lines = from_cli["lines"].as_array().unwrap();
    let position = 1 + lines.iter().position(|l| l["key"] == "gpt4o_input").unwrap();
    let (status, _, answer) = request(api, "GET", &format!("/v1/invoices/{number}/lines/{position}/explain"), read, "");
    assert_eq!(status, 200, "{answer}");
    let explained = json_of(&answer);
    assert_eq!(explained["billed_quantity"], "2000001", "{explained}");
    assert_eq!(explained["events_quantity"], "2000001", "{explained}");
    assert_eq!(explained["filter"], json!({"model": "gpt-4o", "direction": "input"}));
    let day = |d: i64| (period().0 + TimeDelta::days(d)).date_naive().to_string();
    assert_eq!(
        explained["by_day"],
        json!([{"date": day(0), "quantity": "1"}, {"date": day(1), "quantity": "1500000"}, {"date": day(2), "quantity": "500000"}])
    );
    assert_eq!(explained["by_dimension"], json!([{"dimensions": {}, "quantity": "2000001"}]));
    let ids: Vec<&str> =
        explained["sample_events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["m1", "e1", "e2"], "the line's events, oldest first, each once");
    // The CLI shows the same evidence (one library call under both).
    let line = position.to_string();
    let explain = ["invoice", "explain", "--id", &number, "--line", &line, "--catalog", catalog];
    let from_cli: Value = serde_json::from_str(&tally(d, &[&explain[..], &["--json"], &store].concat())).unwrap();
    assert_eq!(from_cli, explained);
    let table = tally(d, &[&explain[..], &store].concat());
    assert!(table.contains("the stored events add up to 2000001") && table.contains("m1"), "{table}");
    for (line, status, code) in [("0", 400, "invalid_parameter"), ("99", 404, "not_found")] {
        let (got, _, answer) = request(api, "GET", &format!("/v1/invoices/{number}/lines/{line}/explain"), read, "");
        assert_eq!((got, json_of(&answer)["code"].as_str()), (status, Some(code)), "{answer}");
    }
    let (_, _, answer) = request(api, "GET", "/v1/invoices?state=draft", read, "");
    assert_eq!(json_of(&answer), json!([]));

    // Void with a revision, as admin: a credit note and a revised invoice.
    let (status, _, answer) =
        request(api, "POST", &format!("/v1/invoices/{number}/void"), admin, r#"{"revise": true}"#);
    assert_eq!(status, 200, "{answer}");
    let voided = json_of(&answer);
    assert!(voided["credit_note"]["number"].as_str().unwrap().starts_with("CN-"), "{voided}");
    assert!(voided["revision"]["number"].as_str().unwrap().starts_with("INV-"), "{voided}");
    let (status, _, answer) = request(api, "POST", &format!("/v1/invoices/{number}/void"), admin, "");
    assert_eq!((status, json_of(&answer)["code"].as_str()), (409, Some("not_voidable")), "{answer}");
    let (_, _, answer) = request(api, "GET", "/v1/invoices?customer=acme", read, "");
    let states: Vec<(String, String)> = json_of(&answer)
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["document"].as_str().unwrap().to_owned(), i["state"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(states.len(), 3, "{states:?}");
    let (_, _, answer) = request(api, "GET", "/v1/invoices?customer=acme&document=credit_note", read, "");
    let notes = json_of(&answer);
    assert_eq!(notes.as_array().unwrap().len(), 1, "{notes}");
    assert_eq!(notes[0]["number"], voided["credit_note"]["number"]);
    assert!(
        states.contains(&("credit_note".into(), "issued".into()))
            && states.contains(&("invoice".into(), "void".into()))
    );

    // Payments and receivables: the revision is owed, due 30 days after issue.
    let revised = voided["revision"]["number"].as_str().unwrap().to_owned();
    let (_, _, answer) = request(api, "GET", &format!("/v1/invoices/{revised}"), read, "");
    let total: Decimal = json_of(&answer)["total"].as_str().unwrap().parse().unwrap();
    assert!(total > Decimal::ONE, "{answer}");
    let today = Utc::now().date_naive();
    let pay = |reference: &str, amount: &str| {
        json!({"amount": amount, "date": today.to_string(), "reference": reference}).to_string()
    };
    let payments = format!("/v1/invoices/{revised}/payments");
    let (status, _, answer) = request(api, "POST", &format!("/v1/invoices/{number}/payments"), admin, &pay("w0", "1"));
    assert_eq!((status, json_of(&answer)["code"].as_str()), (409, Some("not_payable")), "a voided invoice: {answer}");
    let (status, _, answer) = request(api, "POST", &payments, admin, &pay("wire-1", "1.00"));
    assert_eq!(status, 201, "{answer}");
    assert_eq!(json_of(&answer)["outstanding"].as_str().unwrap().parse::<Decimal>().unwrap(), total - Decimal::ONE);
    let (status, _, answer) = request(api, "POST", &payments, admin, &pay("wire-1", "1.00"));
    assert_eq!((status, json_of(&answer)["recorded"].as_bool()), (200, Some(false)), "the same reference: {answer}");
    let (status, _, answer) = request(api, "POST", &payments, admin, &pay("wire-1", "2.00"));
    assert_eq!((status, json_of(&answer)["code"].as_str()), (409, Some("reference_conflict")), "{answer}");
    let tomorrow = (today + chrono::Days::new(1)).to_string();
    let ahead = json!({"amount": "1.00", "date": tomorrow, "reference": "wire-x"}).to_string();
    let (status, _, answer) = request(api, "POST", &payments, admin, &ahead);
    assert_eq!((status, json_of(&answer)["code"].as_str()), (400, Some("invalid_body")), "dated ahead: {answer}");
    let (status, _, answer) = request(api, "POST", &payments, admin, &pay("wire-y", "0.005"));
    assert_eq!((status, json_of(&answer)["code"].as_str()), (400, Some("invalid_body")), "below a cent: {answer}");
    // Part of it given back (a dispute): a credit note of 0.50, once.
    let notes = format!("/v1/invoices/{revised}/credit-notes");
    let half = r#"{"amount": "0.50", "reason": "GPU outage on the 3rd", "memo": "ticket 81"}"#;
    let (status, _, answer) = request(api, "POST", &notes, admin, half);
    assert_eq!(status, 201, "{answer}");
    let credited = json_of(&answer);
    assert!(credited["credit_note"]["number"].as_str().unwrap().starts_with("CN-"), "{credited}");
    assert_eq!(credited["invoice"], revised.as_str());
    assert_eq!(credited["amount"], "0.50");
    let owed = total - Decimal::ONE - Decimal::new(50, 2);
    assert_eq!(credited["outstanding"].as_str().unwrap().parse::<Decimal>().unwrap(), owed, "{credited}");
    let (status, _, again) = request(api, "POST", &notes, admin, half);
    assert_eq!(status, 200, "the same credit again: {again}");
    assert_eq!(json_of(&again)["credit_note"], credited["credit_note"]);
    for (body, status, code) in [
        (r#"{"lines": [99], "reason": "r"}"#, 409, "not_creditable"),
        (r#"{"amount": "1000000000", "reason": "r"}"#, 409, "not_creditable"),
        (r#"{"amount": "0.005", "reason": "r"}"#, 400, "invalid_body"),
        (r#"{"amount": "1.00", "lines": [0], "reason": "r"}"#, 400, "invalid_body"),
        (r#"{"amount": "1.00", "reason": " "}"#, 409, "not_creditable"),
        (r#"{"amount": "1.00"}"#, 400, "invalid_body"),
    ] {
        let (got, _, answer) = request(api, "POST", &notes, admin, body);
        assert_eq!((got, json_of(&answer)["code"].as_str()), (status, Some(code)), "{body}: {answer}");
    }
    let (status, _, answer) = request(api, "POST", &format!("/v1/invoices/{number}/credit-notes"), admin, half);
    assert_eq!((status, json_of(&answer)["code"].as_str()), (409, Some("not_creditable")), "voided: {answer}");
    let due = today + chrono::Days::new(30);
    let late = due + chrono::Days::new(1);
    let (_, _, answer) = request(api, "GET", &format!("/v1/receivables/overdue?as_of={due}"), read, "");
    assert_eq!(json_of(&answer)["invoices"], json!([]), "due today is not overdue");
    let (_, _, answer) = request(api, "GET", &format!("/v1/receivables/overdue?as_of={late}&customer=acme"), read, "");
    let overdue = json_of(&answer)["invoices"].clone();
    assert_eq!(overdue.as_array().unwrap().len(), 1, "{overdue}");
    assert_eq!((overdue[0]["number"].as_str(), overdue[0]["days_overdue"].as_i64()), (Some(revised.as_str()), Some(1)));
    assert_eq!(overdue[0]["outstanding"].as_str().unwrap().parse::<Decimal>().unwrap(), owed);
    for (as_of, bucket) in [
        (today, "current"),
        (late, "1-30"),
        (due + chrono::Days::new(45), "31-60"),
        (due + chrono::Days::new(91), "90+"),
    ] {
        let (_, _, answer) = request(api, "GET", &format!("/v1/receivables/aging?as_of={as_of}"), read, "");
        let aging = json_of(&answer);
        let usd = aging["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == "USD").unwrap().clone();
        for b in usd["buckets"].as_array().unwrap() {
            let amount: Decimal = b["outstanding"].as_str().unwrap().parse().unwrap();
            let want = if b["bucket"] == bucket { owed } else { Decimal::ZERO };
            assert_eq!(amount, want, "{as_of}: {usd}");
        }
    }
    // More than is owed: the invoice is paid and the rest is the customer's credit.
    let (status, _, answer) =
        request(api, "POST", &payments, admin, &pay("wire-3", &(owed + Decimal::new(500, 2)).to_string()));
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        (json_of(&answer)["outstanding"].as_str(), json_of(&answer)["credit"].as_str()),
        (Some("0.00"), Some("5.00"))
    );
    let (_, _, answer) = request(api, "GET", &format!("/v1/receivables/aging?customer=acme&as_of={late}"), read, "");
    let usd =
        json_of(&answer)["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == "USD").unwrap().clone();
    assert_eq!((usd["outstanding"].as_str(), usd["unapplied_credit"].as_str()), (Some("0.00"), Some("5.00")), "{usd}");
    let (_, _, answer) = request(api, "GET", &payments, read, "");
    let listed = json_of(&answer);
    assert_eq!(
        (listed["outstanding"].as_str(), listed["payments"].as_array().unwrap().len()),
        (Some("0.00"), 3),
        "{listed}"
    );
    assert_eq!(listed["credited"], "0.50", "{listed}");
    let by_note = listed["payments"].as_array().unwrap().iter().find(|p| p["source"] == "credit_note").unwrap();
    assert_eq!(by_note["reference"], credited["credit_note"]["number"], "named by number: {listed}");
    let (_, _, answer) = request(api, "GET", &format!("/v1/receivables/overdue?as_of={late}"), read, "");
    assert_eq!(json_of(&answer)["invoices"], json!([]), "paid in full");
    customer_account(api, admin, read, &revised, &number, today);

    // Accounts written over HTTP (admin), validated like the CLI.
    let (status, _, answer) = request(
        api,
        "POST",
        "/v1/customers",
        admin,
        r#"{"id": "gamma", "name": "Gamma GmbH", "currency": "EUR", "timezone": "Europe/Berlin", "billing_details": {"vat": "DE1"}}"#,
    );
    assert_eq!(status, 201, "{answer}");
    assert_eq!(json_of(&answer)["timezone"], "Europe/Berlin");
    let sub = json!({"id": "sub-gamma", "customer": "gamma", "plan": "pro_eu", "start": at(0, 0)}).to_string();
    let (status, _, answer) = request(api, "POST", "/v1/subscriptions", admin, &sub);
    assert_eq!(status, 201, "{answer}");
    let (status, _, answer) = request(api, "POST", "/v1/subscriptions", admin, &sub);
    assert_eq!((status, json_of(&answer)["code"].as_str()), (409, Some("exists")), "{answer}");
    let change = json!({"change_plan": {"plan": "pro", "at": at(5, 0)}}).to_string();
    let (status, _, answer) = request(api, "PATCH", "/v1/subscriptions/sub-gamma", admin, &change);
    assert_eq!(status, 400, "USD plan for a EUR customer: {answer}");
    assert!(json_of(&answer)["message"].as_str().unwrap().contains("phases[1].plan"), "{answer}");
    let (status, _, answer) =
        request(api, "PATCH", "/v1/subscriptions/sub-gamma", admin, &json!({"end": at(9, 0)}).to_string());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        json_of(&answer)["end"].as_str().map(|e| e.parse::<DateTime<Utc>>().unwrap()),
        Some(at(9, 0).parse().unwrap())
    );
    let (status, _, answer) = request(api, "PATCH", "/v1/subscriptions/sub-gamma", admin, r#"{"end": null}"#);
    assert_eq!((status, json_of(&answer)["end"].clone()), (200, Value::Null), "{answer}");
    let (status, _, answer) = request(api, "PATCH", "/v1/customers/gamma", admin, r#"{"name": "Gamma AG"}"#);
    assert_eq!((status, json_of(&answer)["name"].as_str()), (200, Some("Gamma AG")), "{answer}");
    let from_cli: Value =
        serde_json::from_str(&tally(d, &[&["customers", "show", "--id", "gamma"][..], &store].concat())).unwrap();
    assert_eq!(from_cli["name"], "Gamma AG", "stored");
    // An end dated inside an invoiced period: refused, naming the invoice (issue 18).
    let (_, _, answer) = request(api, "GET", &format!("/v1/invoices/{revised}"), read, "");
    let start: DateTime<Utc> = json_of(&answer)["period"]["start"].as_str().unwrap().parse().unwrap();
    let inside = json!({"end": (start + chrono::TimeDelta::days(1)).to_rfc3339()}).to_string();
    let (status, _, answer) = request(api, "PATCH", "/v1/subscriptions/sub-acme", admin, &inside);
    assert_eq!((status, json_of(&answer)["code"].as_str()), (409, Some("issued_periods")), "{answer}");
    assert!(json_of(&answer)["message"].as_str().unwrap().contains(&revised), "{answer}");
    let (_, _, answer) = request(api, "GET", "/v1/subscriptions/sub-acme", read, "");
    assert_eq!(json_of(&answer)["end"], Value::Null, "not changed: {answer}");

    // Malformed requests: clear 4xx, JSON, naming the field; nothing changes.
    let bad: [(&str, &str, Option<&str>, &str, u16, &str, &str); 27] = [
        ("GET", "/v1/invoices?colour=red", read, "", 400, "invalid_parameter", "colour"),
        ("GET", "/v1/invoices?state=paid", read, "", 400, "invalid_parameter", "state"),
        ("GET", "/v1/invoices?from=yesterday", read, "", 400, "invalid_parameter", "from"),
        (
            "GET",
            "/v1/customers/acme/usage?meter=nope&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            read,
            "",
            400,
            "invalid_parameter",
            "meter",
        ),
        (
            "GET",
            "/v1/customers/acme/usage?meter=llm_tokens&from=2026-11-01T00:00:00Z&to=2026-10-01T00:00:00Z",
            read,
            "",
            400,
            "invalid_parameter",
            "to",
        ),
        ("GET", "/v1/customers/acme/usage?meter=llm_tokens", read, "", 400, "invalid_parameter", "from"),
        ("GET", "/v1/invoices/x?format=xml", read, "", 400, "invalid_parameter", "format"),
        ("GET", "/v1/usage/unbilled?from=last-week", read, "", 400, "invalid_parameter", "from"),
        (
            "POST",
            "/v1/customers/acme/payments",
            admin,
            r#"{"amount": "1.00", "date": "2000-01-01", "reference": "old"}"#,
            400,
            "invalid_body",
            "date",
        ),
        ("POST", "/v1/invoices/x/void", admin, "{\"revise\": \"yes\"}", 400, "invalid_body", "revise"),
        (
            "POST",
            "/v1/customers",
            admin,
            r#"{"id": "x", "name": "X", "currency": "USD", "timezone": "Mars/Olympus"}"#,
            400,
            "invalid_parameter",
            "timezone",
        ),
        (
            "POST",
            "/v1/customers",
            admin,
            r#"{"id": "x", "name": "X", "currency": "DOLLARS", "timezone": "UTC"}"#,
            400,
            "invalid_parameter",
            "currency",
        ),
        (
            "POST",
            "/v1/customers",
            admin,
            r#"{"id": "x", "name": "X", "currency": "USD", "timezone": "UTC", "colour": 1}"#,
            400,
            "invalid_body",
            "colour",
        ),
        (
            "POST",
            "/v1/customers",
            admin,
            r#"{"id": "x", "name": 5, "currency": "USD", "timezone": "UTC"}"#,
            400,
            "invalid_body",
            "name",
        ),
        (
            "POST",
            "/v1/subscriptions",
            admin,
            r#"{"id": "s", "customer": "acme", "plan": "gold", "start": "2026-11-01T00:00:00Z"}"#,
            400,
            "invalid_parameter",
            "phases[0].plan",
        ),
        (
            "POST",
            "/v1/subscriptions",
            admin,
            r#"{"id": "s", "customer": "acme", "plan": "pro", "start": "soon"}"#,
            400,
            "invalid_body",
            "start",
        ),
        ("PATCH", "/v1/customers/nobody", admin, r#"{"name": "N"}"#, 404, "not_found", "nobody"),
        (
            "POST",
            "/v1/invoices/x/payments",
            admin,
            r#"{"amount": "-5", "date": "2026-11-01", "reference": "r"}"#,
            400,
            "invalid_body",
            "amount",
        ),
        (
            "POST",
            "/v1/invoices/x/payments",
            admin,
            r#"{"amount": "5", "date": "soon", "reference": "r"}"#,
            400,
            "invalid_body",
            "date",
        ),
        ("GET", "/v1/receivables/aging?as_of=later", read, "", 400, "invalid_parameter", "as_of"),
        ("GET", "/v1/nothing-here", read, "", 404, "not_found", "route"),
        ("GET", "/v1/reports?from=2026-11-30&to=2026-11-01", read, "", 400, "invalid_parameter", "before"),
        ("GET", "/v1/reports?from=2026-11-01", read, "", 400, "invalid_parameter", "to"),
        ("GET", "/v1/exports/sage?from=2026-11-01&to=2026-11-30", read, "", 404, "not_found", "sage"),
        (
            "POST",
            "/v1/rates",
            admin,
            "date,base,quote,rate\n2026-11-31,USD,JPY,1\n",
            400,
            "invalid_parameter",
            "line 2",
        ),
        (
            "GET",
            "/v1/reports?from=2026-11-01&to=2026-11-30&format=csv&table=nope",
            read,
            "",
            400,
            "invalid_parameter",
            "table",
        ),
        ("POST", "/v1/events", ingest, "[]", 400, "empty_batch", "no event"),
    ];
    for (method, path, token, body, want, code, names) in bad {
        let (status, _, answer) = request(api, method, path, token, body);
        assert_eq!(status, want, "{method} {path}: {answer}");
        let answer = json_of(&answer);
        assert_eq!(answer["code"], code, "{method} {path}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains(names), "{method} {path}: {answer}");
    }
    // The books over HTTP: a JSON report of the range, one import file by name, the rates loaded.
    let (status, _, answer) = request(api, "GET", "/v1/reports?from=2026-10-01&to=2026-12-31", read, "");
    assert_eq!(status, 200, "{answer}");
    let report = json_of(&answer);
    assert!(report["billed_by_customer"].is_array() && report["to"] == "2026-12-31", "{report}");
    let (status, head, answer) =
        request(api, "GET", "/v1/exports/xero?from=2026-10-01&to=2026-12-31&file=xero-invoices.csv", read, "");
    assert_eq!(status, 200, "{answer}");
    assert!(head.contains("content-type: text/csv") && answer.starts_with("*ContactName,"), "{head}{answer}");
    let (_, _, answer) = request(api, "GET", "/v1/rates", read, "");
    assert!(
        json_of(&answer).as_array().unwrap().iter().any(|r| r["quote"] == "JPY" && r["rate"] == "160.12"),
        "{answer}"
    );
    let big = json!(vec![event("big", &at(4, 0), "gpt-4o", 1); 400]).to_string();
    let (status, _, answer) = request(api, "POST", "/v1/events", ingest, &big);
    assert_eq!((status, json_of(&answer)["code"].as_str()), (413, Some("body_too_large")), "{answer}");
    let (_, _, answer) = request(api, "GET", &path, read, "");
    assert_eq!(json_of(&answer)["groups"], usage["groups"], "refused requests stored nothing");

    running.stop();
}

/// Kafka mode: events sent over HTTP are produced to the topic (answered once the
/// broker has them), consumed by the worker of the same process into ClickHouse, and
/// read back through the API; a rejected event is answered as such and nothing of it
/// is billed.
#[tokio::test(flavor = "multi_thread")]
async fn kafka_mode_produces_http_events_and_reads_them_back_from_clickhouse() {
    let db = tally_tests::TestDb::new().await;
    let (topic, dead_letters) = (tally_tests::TestTopic::new(2).await, tally_tests::TestTopic::new(1).await);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let catalog = common::sample_catalog();
    let catalog = catalog.to_str().unwrap();
    let url = tally_tests::clickhouse_url();
    let store = ["--clickhouse", url.as_str(), "--database", db.name()];
    tokio::task::block_in_place(|| {
        tally(
            d,
            &[
                &["customers", "create", "--id", "acme", "--name", "Acme AI", "--currency", "USD", "--timezone", "UTC"]
                    [..],
                &store,
            ]
            .concat(),
        );
        let start = period().0.to_rfc3339();
        let subscribe = ["subscriptions", "create", "--id", "sub-acme", "--customer", "acme", "--plan", "starter"];
        tally(d, &[&subscribe[..], &["--start", &start, "--catalog", catalog], &store].concat());
    });
    let (api, metrics) = (common::free_port(), common::free_port());
    let config = format!(
        "catalog = {catalog:?}\n[store]\nkind = \"clickhouse\"\n[store.clickhouse]\nurl = \"{url}\"\ndatabase = \"{}\"\ncompression = \"none\"\n\
         [ingest]\nsource = \"kafka\"\nbatch_max_wait = \"100ms\"\n[ingest.kafka]\nbrokers = \"{}\"\ntopics = [\"{}\"]\ndead_letter_topic = \"{}\"\ngroup = \"{}\"\n\
         [http]\nlisten = \"{api}\"\ntokens_file = \"tokens.toml\"\n[metrics]\nlisten = \"{metrics}\"\n[invoicer]\nenabled = false\n",
        db.name(),
        tally_tests::kafka_brokers(),
        topic.name(),
        dead_letters.name(),
        tally_tests::unique_name("api"),
    );
    std::fs::write(d.join("kafka.toml"), config).unwrap();
    // The tokens from a separate file (http.tokens_file), as a mounted secret gives them.
    std::fs::write(d.join("tokens.toml"), common::tokens_toml().replace("[[http.tokens]]", "[[tokens]]")).unwrap();
    let running = common::Running::start(d, "kafka.toml");
    let (ingest, read) = (Some(common::token("ingest")), Some(common::token("read")));
    tokio::task::block_in_place(|| {
        common::wait_for_port(api);
        let mut negative = event("k4", &at(2, 0), "gpt-4o", 1);
        negative["data"]["tokens"] = json!(-5);
        let batch = json!([
            event("k1", &at(1, 0), "gpt-4o", 700),
            event("k2", &at(1, 1), "gpt-4o", 300),
            event("k3", &at(1, 2), "llama-3-70b", 50),
            negative,
            event("k1", &at(1, 0), "gpt-4o", 700),
        ]);
        let (status, _, answer) = request(api, "POST", "/v1/events", ingest, &batch.to_string());
        assert_eq!(status, 202, "{answer}");
        let answer = json_of(&answer);
        assert_eq!((answer["accepted"].as_u64(), answer["rejected"].as_u64()), (Some(4), Some(1)), "{answer}");
        assert_eq!(answer["results"][3]["reason"], "negative_value");
        // The rejected one is kept in rejected_events (and the dead-letter topic).
        let reasons: Vec<String> = tokio::runtime::Handle::current()
            .block_on(db.client().query("SELECT reason FROM rejected_events WHERE id = 'k4'").fetch_all())
            .unwrap();
        assert_eq!(reasons, ["negative_value"]);
        assert_eq!(request(api, "GET", "/v1/customers/acme", read, "").0, 200);

        let path = usage_path("&group_by=model");
        let want = json!([
            { "dimensions": { "model": "gpt-4o" }, "quantity": "1000" },
            { "dimensions": { "model": "llama-3-70b" }, "quantity": "50" },
        ]);
        let started = Instant::now();
        loop {
            let (status, _, answer) = request(api, "GET", &path, read, "");
            assert_eq!(status, 200, "{answer}");
            if json_of(&answer)["groups"] == want {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "usage never became {want}: {answer}");
            std::thread::sleep(Duration::from_millis(200));
        }

        // Closed in ClickHouse, the invoice's GPT-4o line is explained by its events.
        let now = (period().1 + TimeDelta::hours(2)).to_rfc3339();
        let closed = tally(d, &[&["invoice", "close", "--now", &now, "--catalog", catalog][..], &store].concat());
        assert!(closed.contains("issued 1 invoices"), "{closed}");
        let (_, _, answer) = request(api, "GET", "/v1/invoices?customer=acme", read, "");
        let invoice = json_of(&answer)[0].clone();
        let lines = invoice["lines"].as_array().unwrap();
        let position = 1 + lines.iter().position(|l| l["key"] == "gpt4o_input").unwrap();
        let path = format!("/v1/invoices/{}/lines/{position}/explain", invoice["number"].as_str().unwrap());
        let (status, _, answer) = request(api, "GET", &path, read, "");
        assert_eq!(status, 200, "{answer}");
        let explained = json_of(&answer);
        assert_eq!(
            (explained["billed_quantity"].as_str(), explained["events_quantity"].as_str()),
            (Some("1000"), Some("1000"))
        );
        let day = (period().0 + TimeDelta::days(1)).date_naive().to_string();
        assert_eq!(explained["by_day"], json!([{"date": day, "quantity": "1000"}]));
        assert_eq!(explained["by_dimension"], json!([{"dimensions": {}, "quantity": "1000"}]));
        let ids: Vec<&str> =
            explained["sample_events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["k1", "k2"], "each event once although k1 was sent twice");
    });
    running.stop();
}

/// With `http.tls_cert` and `http.tls_key` the API serves HTTPS (checked with curl and
/// the certificate as its only trust root); plain HTTP on that port gets no answer.
#[test]
fn the_api_serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    std::fs::write(d.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(d.join("key.pem"), certified.key_pair.serialize_pem()).unwrap();
    let catalog = common::sample_catalog();
    let (api, metrics) = (common::free_port(), common::free_port());
    let config = format!(
        "catalog = {:?}\n[store.embedded]\npath = \"tally.db\"\n[http]\nlisten = \"{api}\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n\
         [metrics]\nlisten = \"{metrics}\"\n[invoicer]\nenabled = false\n{}",
        catalog.to_str().unwrap(),
        common::tokens_toml()
    );
    std::fs::write(d.join("tls.toml"), config).unwrap();
    let running = common::Running::start(d, "tls.toml");
    common::wait_for_port(api);
    let curl = |scheme: &str| {
        Command::new("curl")
            .current_dir(d)
            .args(["-sS", "--max-time", "10", "--cacert", "cert.pem", "-H"])
            .arg(format!("Authorization: Bearer {}", common::token("read")))
            .arg(format!("{scheme}://{api}/v1/customers"))
            .output()
            .expect("curl (installed by deploy/local/services up)")
    };
    let https = curl("https");
    assert!(https.status.success(), "{}", String::from_utf8_lossy(&https.stderr));
    assert_eq!(String::from_utf8_lossy(&https.stdout).trim(), "[]");
    let plain = curl("http");
    assert!(
        !plain.status.success() || !String::from_utf8_lossy(&plain.stdout).contains('['),
        "plain HTTP must not be served on the HTTPS port"
    );
    running.stop();
}

/// The customer's account over HTTP, as billing staff use it after the payments above:
/// balance, a refund of part of the credit (once), a payment charged back, a write-off,
/// a payment on the account, and the statement as JSON, CSV and HTML, the CSV and the
/// HTML read back with Python's own parsers.
fn customer_account(
    api: std::net::SocketAddr,
    admin: Option<&str>,
    read: Option<&str>,
    revised: &str,
    voided: &str,
    today: chrono::NaiveDate,
) {
    let d = |v: &Value| v.as_str().unwrap().parse::<Decimal>().unwrap();
    let balance = || {
        let (status, _, answer) = request(api, "GET", "/v1/customers/acme/balance", read, "");
        assert_eq!(status, 200, "{answer}");
        json_of(&answer)["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == "USD").unwrap().clone()
    };
    let before = balance();
    assert_eq!((d(&before["outstanding"]), d(&before["unapplied_credit"])), (Decimal::ZERO, Decimal::new(500, 2)));
    assert_eq!(d(&before["balance"]), Decimal::new(-500, 2), "in credit: {before}");

    let refund = r#"{"payment": "wire-3", "reference": "RF-1", "amount": "2.00"}"#;
    let (status, _, answer) = request(api, "POST", "/v1/customers/acme/refunds", admin, refund);
    assert_eq!(status, 201, "{answer}");
    let (status, _, answer) = request(api, "POST", "/v1/customers/acme/refunds", admin, refund);
    assert_eq!((status, json_of(&answer)["refunded"].as_bool()), (200, Some(false)), "once: {answer}");
    let too_much = r#"{"payment": "wire-3", "reference": "RF-2", "amount": "99.00"}"#;
    let (status, _, answer) = request(api, "POST", "/v1/customers/acme/refunds", admin, too_much);
    assert_eq!(status / 100, 4, "more than the credit: {answer}");
    assert_eq!(d(&balance()["unapplied_credit"]), Decimal::new(300, 2));

    // wire-3 is charged back: what it paid is owed again; the refund stays paid out.
    let (status, _, answer) =
        request(api, "POST", "/v1/customers/acme/payments/wire-3/reversal", admin, r#"{"reason": "charged back"}"#);
    assert_eq!((status, json_of(&answer)["reversed"].as_bool()), (200, Some(true)), "{answer}");
    let after = balance();
    let owed = d(&after["outstanding"]);
    assert!(owed > Decimal::ZERO, "{after}");
    assert_eq!(after["open_invoices"][0]["number"], revised, "{after}");

    // A payment on the account (no invoice named) goes to the oldest open one.
    let pay = json!({"amount": "1.00", "date": today.to_string(), "reference": "acct-1"}).to_string();
    let (status, _, answer) = request(api, "POST", "/v1/customers/acme/payments", admin, &pay);
    assert_eq!(status, 201, "{answer}");
    assert_eq!(json_of(&answer)["allocated"][0]["number"], revised, "{answer}");
    let owed = owed - Decimal::ONE;
    assert_eq!(d(&balance()["outstanding"]), owed);

    // The rest is written off; the voided invoice's period is billed by its revision.
    let (status, _, answer) =
        request(api, "POST", &format!("/v1/invoices/{revised}/write-off"), admin, r#"{"reason": "uncollectible"}"#);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(json_of(&answer)["written_off"].as_str().map(|s| s.parse::<Decimal>().unwrap()), Some(owed));
    assert_eq!(d(&balance()["outstanding"]), Decimal::ZERO);
    let (status, _, answer) = request(api, "POST", &format!("/v1/invoices/{voided}/rebill"), admin, "");
    assert_eq!((status, json_of(&answer)["code"].as_str()), (409, Some("not_rebillable")), "{answer}");

    // The statement: JSON, CSV and HTML say the same.
    let from = (today - chrono::Days::new(400)).to_string();
    let path = |format: &str| format!("/v1/customers/acme/statement?from={from}&to={today}&format={format}");
    let (status, _, answer) = request(api, "GET", &path("json"), read, "");
    assert_eq!(status, 200, "{answer}");
    let statement = json_of(&answer);
    assert_eq!(statement["closing_balance"], balance()["balance"], "{statement}");
    let kinds: Vec<&str> = statement["lines"].as_array().unwrap().iter().map(|l| l["kind"].as_str().unwrap()).collect();
    for kind in ["invoice", "credit_note", "payment", "payment_reversal", "refund", "write_off"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let (status, head, csv) = request(api, "GET", &path("csv"), read, "");
    assert!(status == 200 && head.contains("text/csv"), "{head}");
    let (status, head, html) = request(api, "GET", &path("html"), read, "");
    assert!(status == 200 && head.contains("text/html"), "{head}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("statement.csv"), csv.as_bytes()).unwrap();
    std::fs::write(dir.path().join("statement.html"), html.as_bytes()).unwrap();
    // Python's csv module and html.parser: the rows add up from the opening balance
    // to the closing one, and the page's table ends with the same closing balance.
    let script = r#"
import csv, sys
from decimal import Decimal
from html.parser import HTMLParser
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
opening, closing = Decimal(rows[0]["balance"]), Decimal(rows[-1]["balance"])
assert rows[0]["kind"] == "opening_balance" and rows[-1]["kind"] == "closing_balance", rows
total = sum(Decimal(r["amount"]) for r in rows[1:-1])
assert opening + total == closing, (opening, total, closing)
class Cells(HTMLParser):
    def __init__(self):
        super().__init__(); self.cells = []; self.inside = False
    def handle_starttag(self, tag, attrs):
        if tag == "td": self.inside = True; self.cells.append("")
    def handle_endtag(self, tag):
        if tag == "td": self.inside = False
    def handle_data(self, data):
        if self.inside: self.cells[-1] += data
page = Cells(); page.feed(open(sys.argv[2], encoding="utf-8").read())
last = page.cells[page.cells.index("Closing balance") + 2]
assert Decimal(last.split()[0]) == closing, (last, closing)
print(len(rows) - 2, closing)
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.path().join("statement.csv"))
        .arg(dir.path().join("statement.html"))
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(printed.trim(), format!("{} {}", kinds.len(), statement["closing_balance"].as_str().unwrap()));
}
