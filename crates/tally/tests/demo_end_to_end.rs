//! `tally demo` end to end: a small month through the embedded pipeline, its invoice
//! totals checked against totals computed here, independently, from the events it
//! generated; then the same month through Kafka and ClickHouse (the real services),
//! which must give identical invoices.
//!
//! Independent means: the events file is read back here, duplicates are dropped by
//! `(source, id)`, malformed events are recognised by hand, quantities are summed per
//! charge with the catalog's filters and groups applied here. Only the pure rating
//! engine is shared with the pipeline (prices applied to those quantities); what is
//! checked is everything between the generator and the rating: decoding, dedupe,
//! storing, aggregating, periods and invoice composition.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use tally_domain::{Aggregation, Catalog, Dimensions, Period};
use tally_rating::ChargeUsage;
use tally_tests::{clickhouse_url, kafka_brokers, TestDb, TestTopic};

const ARGS: [&str; 8] = ["--events", "30000", "--customers", "45", "--seed", "7", "--month", "2026-10"];

fn demo(out: &Path, env: &[(&str, String)], events_file: Option<&Path>) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
    command.arg("demo").args(ARGS).arg("--out").arg(out).env("TALLY__CATALOG", common::sample_catalog());
    if let Some(file) = events_file {
        command.arg("--events-file").arg(file);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "demo failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    for heading in ["Revenue by plan", "Revenue by meter", "Top customers", "invoices (JSON, HTML and PDF)"] {
        assert!(stdout.contains(heading), "{heading} missing from:\n{stdout}");
    }
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// Every invoice the demo wrote, by number.
fn invoices(out: &Path) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(out.join("invoices")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let invoice: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert!(path.with_extension("html").exists(), "{} has no HTML twin", path.display());
            assert!(path.with_extension("pdf").exists(), "{} has no PDF twin", path.display());
            all.insert(invoice["number"].as_str().unwrap().to_owned(), invoice);
        }
    }
    all
}

/// The events as this test understands them: valid ones once each, and how many were not.
struct Events {
    valid: Vec<Value>,
    distinct: usize,
    malformed: usize,
}

fn read_events(path: &Path) -> Events {
    let (mut valid, mut malformed, mut seen) = (Vec::new(), 0, HashSet::new());
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            malformed += 1;
            continue;
        };
        let time_ok = event["time"].as_str().is_some_and(|t| t.parse::<DateTime<Utc>>().is_ok());
        let negative = event["data"].as_object().unwrap().values().any(|v| v.as_f64().is_some_and(|n| n < 0.0));
        if event["id"].as_str().is_none() || !time_ok || negative {
            malformed += 1;
            continue;
        }
        if seen.insert((event["source"].to_string(), event["id"].to_string())) {
            valid.push(event);
        }
    }
    Events { distinct: valid.len(), valid, malformed }
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())
}

/// Per charge of `plan`: its groups and quantities over one customer's events in `period`.
fn usage(catalog: &Catalog, plan: &str, events: &[&Value], period: &Period) -> ChargeUsage {
    let mut out = ChargeUsage::new();
    for charge in &catalog.plan(plan).unwrap().charges {
        let meter = catalog.meter(charge.meter.as_str()).unwrap();
        let mut sums: BTreeMap<Dimensions, Decimal> = BTreeMap::new();
        let mut uniques: BTreeMap<Dimensions, BTreeSet<String>> = BTreeMap::new();
        for e in events {
            let time: DateTime<Utc> = e["time"].as_str().unwrap().parse().unwrap();
            if e["type"] != meter.event_type.as_str() || time < period.start() || time >= period.end() {
                continue;
            }
            let data = &e["data"];
            if !charge.filter.iter().all(|(k, v)| data.get(k).map(text).as_deref() == Some(v.as_str())) {
                continue;
            }
            let groups: Dimensions =
                charge.group_by.iter().filter_map(|g| data.get(g).map(|v| (g.clone(), text(v)))).collect();
            let value = meter.value.as_deref().and_then(|path| data.get(path));
            match (meter.aggregation, value) {
                (Aggregation::Count, _) => *sums.entry(groups).or_default() += Decimal::ONE,
                (Aggregation::UniqueCount, Some(v)) => {
                    uniques.entry(groups).or_default().insert(text(v));
                }
                (Aggregation::Sum, Some(v)) => *sums.entry(groups).or_default() += text(v).parse::<Decimal>().unwrap(),
                (Aggregation::Sum | Aggregation::UniqueCount, None) => {}
                (other, _) => panic!("the demo catalog uses sum, count and unique_count, not {other:?}"),
            }
        }
        let rows: Vec<(Dimensions, Decimal)> = if meter.aggregation == Aggregation::UniqueCount {
            uniques.into_iter().map(|(g, set)| (g, Decimal::from(set.len()))).collect()
        } else {
            sums.into_iter().collect()
        };
        if !rows.is_empty() {
            out.insert(charge.key.to_string(), rows);
        }
    }
    out
}

/// Checks every invoice against the rating of independently summed usage.
fn reconcile(catalog: &Catalog, events: &Events, invoices: &BTreeMap<String, Value>) {
    let mut by_customer: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for e in &events.valid {
        by_customer.entry(e["subject"].as_str().unwrap()).or_default().push(e);
    }
    let mut usage_lines = 0;
    for (number, invoice) in invoices {
        assert_eq!(invoice["state"], "issued", "{number}");
        let customer = invoice["customer"].as_str().unwrap();
        let period: Period = serde_json::from_value(invoice["period"].clone()).unwrap();
        let lines = invoice["lines"].as_array().unwrap();
        let plan = lines[0]["plan"].as_str().unwrap();
        let mine = by_customer.get(customer).map_or(&[][..], Vec::as_slice);
        let usage = usage(catalog, plan, mine, &period);
        let rated = tally_rating::rate_charges(catalog, plan, &period, None, &usage).unwrap();
        // Usage lines: same key, groups, quantity and amount as the independent rating.
        let got: Vec<(String, Value, Decimal, Decimal)> = lines
            .iter()
            .filter(|l| l["kind"] == "usage")
            .map(|l| {
                let q: Decimal = l["quantity"].as_str().unwrap().parse().unwrap();
                let a: Decimal = l["amount"].as_str().unwrap().parse().unwrap();
                (
                    l["key"].as_str().unwrap().to_owned(),
                    l.get("dimensions").cloned().unwrap_or(Value::Object(Default::default())),
                    q.normalize(),
                    a,
                )
            })
            .collect();
        let want: Vec<(String, Value, Decimal, Decimal)> = rated
            .lines
            .iter()
            .filter_map(|l| {
                let u = l.usage.as_ref()?;
                Some((
                    l.key.to_string(),
                    serde_json::to_value(&u.dimensions).unwrap(),
                    u.quantity.normalize(),
                    l.amount,
                ))
            })
            .collect();
        assert_eq!(got, want, "{number} ({customer}, {plan}): usage lines");
        usage_lines += got.len();
        // The total: the closed month as rated (fees, usage, minimum true-up) plus next
        // month's fees in advance.
        let advance: Decimal = catalog.plan(plan).unwrap().fees.iter().map(|f| f.amount).sum();
        let total: Decimal = invoice["total"].as_str().unwrap().parse().unwrap();
        assert_eq!(total, rated.total + advance, "{number} ({customer}, {plan}): total");
    }
    assert!(usage_lines > invoices.len() * 3, "usage lines were checked ({usage_lines})");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_bills_what_was_generated_and_kafka_clickhouse_bills_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let events_file = dir.path().join("events.ndjson");
    let embedded_out = dir.path().join("embedded");
    let embedded = tokio::task::block_in_place(|| demo(&embedded_out, &[], Some(&events_file)));

    let catalog = Catalog::load(&common::sample_catalog()).unwrap();
    let events = read_events(&events_file);
    let from_embedded = invoices(&embedded_out);
    assert_eq!(from_embedded.len(), 45, "one invoice per customer");
    let numbers: Vec<&String> = from_embedded.keys().collect();
    let gapless: Vec<String> = (1..=45).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, gapless.iter().collect::<Vec<_>>(), "numbers without gaps");
    assert_eq!(embedded["events"]["distinct"], events.distinct, "events billed once each");
    assert_eq!(embedded["events"]["rejected"], events.malformed, "malformed events rejected");
    assert!(embedded["messages"]["duplicates"].as_u64().unwrap() > 0, "the demo sends duplicates on purpose");
    reconcile(&catalog, &events, &from_embedded);
    // The summary adds up to the invoices.
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for invoice in from_embedded.values() {
        *totals.entry(invoice["currency"].as_str().unwrap().to_owned()).or_default() +=
            invoice["total"].as_str().unwrap().parse::<Decimal>().unwrap();
    }
    for (currency, total) in &totals {
        assert_eq!(embedded["totals"][currency].as_str().unwrap().parse::<Decimal>().unwrap(), *total, "{currency}");
    }

    // The same month through Kafka into ClickHouse.
    let db = TestDb::new().await;
    let (usage_topic, dead_letters) = (TestTopic::new(3).await, TestTopic::new(1).await);
    let env = [
        ("TALLY__STORE__KIND", "clickhouse".to_owned()),
        ("TALLY__STORE__CLICKHOUSE__URL", clickhouse_url()),
        ("TALLY__STORE__CLICKHOUSE__DATABASE", db.name().to_owned()),
        ("TALLY__STORE__CLICKHOUSE__COMPRESSION", "none".to_owned()),
        ("TALLY__INGEST__SOURCE", "kafka".to_owned()),
        ("TALLY__INGEST__KAFKA__BROKERS", kafka_brokers()),
        ("TALLY__INGEST__KAFKA__TOPICS", usage_topic.name().to_owned()),
        ("TALLY__INGEST__KAFKA__DEAD_LETTER_TOPIC", dead_letters.name().to_owned()),
        ("TALLY__HTTP__ENABLED", "false".to_owned()),
    ];
    let kafka_out = dir.path().join("kafka");
    let kafka = tokio::task::block_in_place(|| demo(&kafka_out, &env, None));
    assert!(
        kafka.to_string().contains("\"events\"") && kafka["events"] == embedded["events"],
        "same events: {} vs {}",
        kafka["events"],
        embedded["events"]
    );
    let from_kafka = invoices(&kafka_out);
    assert_eq!(from_kafka.keys().collect::<Vec<_>>(), from_embedded.keys().collect::<Vec<_>>());
    for (number, invoice) in &from_embedded {
        assert_eq!(&from_kafka[number], invoice, "{number}: identical in both modes");
    }
    assert_eq!(kafka["totals"], embedded["totals"]);
    assert_eq!(kafka["revenue_by_plan"], embedded["revenue_by_plan"]);

    // A second demo on the same database is refused, naming what to do.
    let again = Command::new(env!("CARGO_BIN_EXE_tally"))
        .arg("demo")
        .args(ARGS)
        .arg("--out")
        .arg(dir.path().join("again"))
        .env("TALLY__CATALOG", common::sample_catalog())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("database of its own"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// On a machine without a CJK font the demo still runs: the invoices of its Tokyo
/// customers (Japanese legal names) get no PDF, the demo says how many and why, and
/// every other invoice has its PDF.
#[test]
fn without_a_cjk_font_the_demo_names_the_pdfs_it_could_not_make() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("no-cjk.toml");
    std::fs::write(&config, "[documents]\nfonts = []\n").unwrap();
    let out = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_tally"))
        .arg("demo")
        .args(ARGS)
        .arg("--out")
        .arg(&out)
        .arg("--config")
        .arg(&config)
        .env("TALLY__CATALOG", common::sample_catalog())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("have no PDF") && stderr.contains("fonts-noto-cjk"), "{stderr}");
    let (mut with, mut without) = (0, 0);
    for entry in std::fs::read_dir(out.join("invoices")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            if path.with_extension("pdf").exists() {
                with += 1;
            } else {
                without += 1;
                // Only a Tokyo customer's: its page prints the Japanese legal name.
                let page = std::fs::read_to_string(path.with_extension("html")).unwrap();
                assert!(page.contains("株式会社"), "{} has no PDF", path.display());
            }
        }
    }
    assert!(with > 0 && without > 0, "{with} with a PDF, {without} without");
    assert!(stderr.contains(&format!("{without} invoices have no PDF")), "{stderr}");
}
