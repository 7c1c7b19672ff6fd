//! `tally invoice close` on both stores, with a month of generated AI usage: one
//! invoice per subscription and period however often and however concurrently it runs,
//! gapless numbers, customers in Tokyo billed on their local month, and every usage
//! line reconciled with the raw events summed independently (not through the store).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use tally_domain::{Catalog, Customer, CustomerId, Period, Phase, PlanKey, Subscription, SubscriptionId};
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_ingest::generate::{GenerateConfig, Generator, Kind};
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::embedded::EmbeddedStore;
use tally_store::{AccountStore, IncomingEvent, UsageStore};
use tally_tests::{clickhouse_url, TestDb};

const CUSTOMERS: u32 = 120;
const TOKYO: u32 = 10; // the first ten customers bill in Asia/Tokyo

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn catalog() -> Catalog {
    Catalog::load(&common::sample_catalog()).unwrap()
}

/// October 2026 of AI usage: (valid events' JSON, every message's bytes).
fn october() -> (Vec<Value>, Vec<Vec<u8>>) {
    let config = GenerateConfig {
        seed: 2026,
        events: 15_000,
        customers: CUSTOMERS,
        duplicates_per_mille: 30,
        malformed_per_mille: 0,
        start: t("2026-10-01T00:00:00Z"),
        end: t("2026-11-01T00:00:00Z"),
        source: "invoice-test".into(),
    };
    let mut valid = Vec::new();
    let mut all = Vec::new();
    for message in Generator::new(config, &catalog()) {
        if message.kind == Kind::Valid {
            valid.push(serde_json::from_slice(&message.payload).unwrap());
        }
        all.push(message.payload);
    }
    (valid, all)
}

async fn load(store: &(impl UsageStore + AccountStore), messages: &[Vec<u8>]) {
    let decoder = Decoder::new(&catalog(), DecodeRules { late_window: None, ..Default::default() });
    let now = t("2026-11-02T00:00:00Z");
    let events: Vec<IncomingEvent> =
        messages.iter().map(|m| IncomingEvent { event: decoder.decode(m, now).unwrap().event, origin: None }).collect();
    for chunk in events.chunks(5_000) {
        store.insert_events(chunk).await.unwrap();
    }
    for i in 0..CUSTOMERS {
        let id = format!("customer-{i:06}");
        let tokyo = i < TOKYO;
        let zone = if tokyo { "Asia/Tokyo" } else { "UTC" };
        let customer = Customer {
            id: CustomerId::new(&id),
            name: if i == 0 { "Müller & <Söhne>, GmbH".to_owned() } else { format!("Customer {i}") },
            currency: "USD".parse().unwrap(),
            timezone: zone.parse().unwrap(),
            billing_details: BTreeMap::new(),
        };
        store.put_customer(&customer).await.unwrap();
        let start = if tokyo { t("2026-09-30T15:00:00Z") } else { t("2026-10-01T00:00:00Z") };
        let subscription = Subscription {
            id: SubscriptionId::new(format!("sub-{i:06}")),
            customer: CustomerId::new(&id),
            start,
            end: None,
            anchor: "2026-10-01".parse().unwrap(),
            phases: vec![Phase { plan: PlanKey::new("pro"), from: start }],
        };
        store.put_subscription(&subscription).await.unwrap();
    }
}

fn tally(args: &[&str], store: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
    command.args(args).args(store).arg("--catalog").arg(common::sample_catalog());
    command
}

/// Per charge key: the charge's quantity over `period` computed from one customer's
/// raw events, with the catalog's filter and aggregation applied by hand.
fn independent(events: &[(DateTime<Utc>, &Value)], period: &Period) -> BTreeMap<String, Decimal> {
    let catalog = catalog();
    let plan = catalog.plan("pro").unwrap();
    let mut out = BTreeMap::new();
    for charge in &plan.charges {
        let meter = catalog.meter(charge.meter.as_str()).unwrap();
        let mut sum = Decimal::ZERO;
        let mut unique = BTreeSet::new();
        for (time, e) in events {
            let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            if e["type"] != meter.event_type.as_str() || *time < period.start() || *time >= period.end() {
                continue;
            }
            if !charge.filter.iter().all(|(k, v)| e["data"].get(k).map(text).as_deref() == Some(v.as_str())) {
                continue;
            }
            match (meter.aggregation, &meter.value) {
                (tally_domain::Aggregation::Count, _) => sum += Decimal::ONE,
                (tally_domain::Aggregation::UniqueCount, Some(path)) => {
                    unique.insert(text(&e["data"][path.as_str()]));
                }
                (_, Some(path)) => sum += text(&e["data"][path.as_str()]).parse::<Decimal>().unwrap(),
                _ => unreachable!(),
            }
        }
        let quantity =
            if meter.aggregation == tally_domain::Aggregation::UniqueCount { Decimal::from(unique.len()) } else { sum };
        out.insert(charge.key.to_string(), quantity.normalize());
    }
    out
}

fn close_and_reconcile(store: &[String], events: &[Value]) {
    let now = ["--now", "2026-11-02T00:00:00Z"];
    let close = || tally(&[&["invoice", "close"][..], &now[..]].concat(), store).spawn().unwrap();
    // Two invoicers at once, then a third after them.
    let (mut a, mut b) = (close(), close());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let third = tally(&[&["invoice", "close"][..], &now[..]].concat(), store).output().unwrap();
    assert!(third.status.success());
    assert_eq!(
        String::from_utf8_lossy(&third.stdout).trim(),
        format!("issued 0 invoices (nothing), 0 drafts, {CUSTOMERS} periods closed already")
    );

    let listed =
        Command::new(env!("CARGO_BIN_EXE_tally")).args(["invoice", "list", "--json"]).args(store).output().unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let invoices: Vec<Value> =
        String::from_utf8_lossy(&listed.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(invoices.len(), CUSTOMERS as usize, "one invoice per subscription and period");
    let numbers: BTreeSet<String> = invoices.iter().map(|i| i["number"].as_str().unwrap().to_owned()).collect();
    let expected_numbers: BTreeSet<String> = (1..=CUSTOMERS).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected_numbers, "numbers without gaps or repeats");

    let mut by_customer: BTreeMap<&str, Vec<(DateTime<Utc>, &Value)>> = BTreeMap::new();
    for e in events {
        let time = e["time"].as_str().unwrap().parse().unwrap();
        by_customer.entry(e["subject"].as_str().unwrap()).or_default().push((time, e));
    }
    let mut usage_lines = 0;
    for invoice in &invoices {
        assert_eq!(invoice["state"], "issued");
        let customer = invoice["customer"].as_str().unwrap();
        let period: Period = serde_json::from_value(invoice["period"].clone()).unwrap();
        let tokyo = customer < format!("customer-{TOKYO:06}").as_str();
        let start = if tokyo { t("2026-09-30T15:00:00Z") } else { t("2026-10-01T00:00:00Z") };
        assert_eq!(period.start(), start, "{customer}: the local month");
        let want = independent(by_customer.get(customer).map_or(&[][..], Vec::as_slice), &period);
        for line in invoice["lines"].as_array().unwrap().iter().filter(|l| l["kind"] == "usage") {
            let key = line["key"].as_str().unwrap();
            let got: Decimal = line["quantity"].as_str().unwrap().parse().unwrap();
            assert_eq!(got.normalize(), want[key], "{customer} {key}");
            usage_lines += 1;
        }
        // The first invoice bills October's fee and November's in advance.
        let fees: Vec<&str> = invoice["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["kind"] == "fee")
            .map(|l| l["amount"].as_str().unwrap())
            .collect();
        assert_eq!(fees, ["49.00", "49.00"], "{customer}");
    }
    assert!(usage_lines >= CUSTOMERS as usize * 7, "every charge of every invoice was checked");
    outputs_open_cleanly(store, &invoices);
    preview_shows_november_to_date(store);
    let busy = invoices
        .iter()
        .filter(|i| i["total"].as_str().unwrap().parse::<Decimal>().unwrap() > Decimal::from(98))
        .count();
    assert!(busy > 0, "some customers used more than what pro includes");
}

/// Mid-November, a preview is November's invoice so far: no November fee (October's
/// invoice billed it in advance), December's fee ahead; nothing is stored.
fn preview_shows_november_to_date(store: &[String]) {
    let out = tally(&["invoice", "preview", "--customer", "customer-000050", "--now", "2026-11-15T00:00:00Z"], store)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let previews: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(previews.len(), 1);
    let preview = &previews[0];
    assert_eq!(preview["period"]["start"], "2026-11-01T00:00:00Z");
    assert_eq!(preview["state"], "draft");
    let fees: Vec<&str> = preview["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "fee")
        .map(|l| l["service_period"]["start"].as_str().unwrap())
        .collect();
    assert_eq!(fees, ["2026-12-01T00:00:00Z"], "only December's fee, in advance");
    let listed =
        Command::new(env!("CARGO_BIN_EXE_tally")).args(["invoice", "list", "--json"]).args(store).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), CUSTOMERS as usize, "a preview stores nothing");
}

/// The HTML page escapes what it prints; the CSV lines add up to the invoice totals.
fn outputs_open_cleanly(store: &[String], invoices: &[Value]) {
    let first = invoices.iter().find(|i| i["customer"] == "customer-000000").unwrap();
    let number = first["number"].as_str().unwrap();
    let page = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["invoice", "show", "--id", number, "--format", "html"])
        .args(store)
        .output()
        .unwrap();
    assert!(page.status.success(), "{}", String::from_utf8_lossy(&page.stderr));
    let page = String::from_utf8(page.stdout).unwrap();
    assert!(page.contains(&format!("<h1>Invoice {number}</h1>")), "{page}");
    assert!(page.contains("Müller &amp; &lt;Söhne&gt;, GmbH"), "the name is escaped, UTF-8 kept");
    assert!(
        page.contains("<td>Billing period</td><td>10/01/2026 – 10/31/2026 (Asia/Tokyo)</td>"),
        "dates in the customer's zone, written as its locale (en-US, none given) writes them"
    );
    let total: Decimal = first["total"].as_str().unwrap().parse().unwrap();
    let shown = tally_domain::Locale::default().money(total, "USD".parse().unwrap());
    assert!(page.contains(&format!("<tr class=\"strong\"><td>Total</td><td class=\"n\">{shown}</td></tr>")), "{page}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["invoice", "export", "--lines", "--output", path.to_str().unwrap()])
        .args(store)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "a BOM so Excel reads UTF-8");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.contains("\r\n"), "CRLF line ends");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        *sums.entry(record[column("invoice_number")].to_owned()).or_default() +=
            record[column("amount")].parse::<Decimal>().unwrap();
        rows += 1;
    }
    let all_lines: usize = invoices.iter().map(|i| i["lines"].as_array().unwrap().len()).sum();
    assert_eq!(rows, all_lines);
    for invoice in invoices {
        let total: Decimal = invoice["total"].as_str().unwrap().parse().unwrap();
        assert_eq!(sums[invoice["number"].as_str().unwrap()], total, "the lines add up to the total");
    }
}

/// Three events for October arrive after October was issued.
fn late_october_events() -> Vec<IncomingEvent> {
    let decoder = Decoder::new(&catalog(), DecodeRules { late_window: None, ..Default::default() });
    (0..3)
        .map(|i| {
            let json = serde_json::json!({
                "specversion": "1.0", "id": format!("late-{i}"), "source": "invoice-test", "type": "llm.tokens",
                "subject": "customer-000050", "time": "2026-10-20T12:00:00Z",
                "data": { "model": "gpt-4o", "direction": "output", "tokens": 1_000_000 }
            });
            let bytes = serde_json::to_vec(&json).unwrap();
            IncomingEvent { event: decoder.decode(&bytes, t("2026-11-10T00:00:00Z")).unwrap().event, origin: None }
        })
        .collect()
}

/// After the late events: November's close bills them on November's invoice, October's stays as issued.
fn late_usage_is_billed_on_the_next_invoice(store: &[String], october_before: &Value) {
    let out = tally(&["invoice", "close", "--now", "2026-12-02T00:00:00Z"], store).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["invoice", "list", "--json", "--subscription", "sub-000050"])
        .args(store)
        .output()
        .unwrap();
    let invoices: Vec<Value> =
        String::from_utf8_lossy(&listed.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(invoices.len(), 2);
    assert_eq!(&invoices[0], october_before, "an issued invoice never changes");
    let late: Vec<&Value> =
        invoices[1]["lines"].as_array().unwrap().iter().filter(|l| l["kind"] == "late_usage").collect();
    assert_eq!(late.len(), 1, "{:#}", invoices[1]);
    assert_eq!(late[0]["key"], "gpt4o_output");
    assert_eq!(late[0]["quantity"], "3000000");
    assert_eq!(late[0]["amount"], "30.00", "3M output tokens at 10.00 per million");
    assert_eq!(late[0]["service_period"]["start"], "2026-10-01T00:00:00Z");
}

/// A dispute on October: void it with a credit note and a revision. The late usage
/// already billed on November is not billed again, so the revision equals the original.
fn void_and_revise(store: &[String], october: &Value) {
    let number = october["number"].as_str().unwrap();
    let out = tally(&["invoice", "void", "--id", number, "--revise"], store).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with(&format!("voided {number} with credit note CN-000001; revised as INV-")), "{said}");
    let again = tally(&["invoice", "void", "--id", number], store).output().unwrap();
    assert!(!again.status.success(), "a void invoice cannot be voided again");

    let listed = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["invoice", "list", "--json", "--subscription", "sub-000050"])
        .args(store)
        .output()
        .unwrap();
    let docs: Vec<Value> =
        String::from_utf8_lossy(&listed.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let find =
        |pred: &dyn Fn(&Value) -> bool| docs.iter().find(|d| pred(d)).cloned().unwrap_or_else(|| panic!("{docs:#?}"));
    let original = find(&|d| d["id"] == october["id"]);
    assert_eq!((original["state"].as_str(), original["number"].as_str()), (Some("void"), Some(number)));
    assert_eq!(original["lines"], october["lines"], "voiding changes no line");
    let note = find(&|d| d["document"] == "credit_note");
    assert_eq!(note["credits"], october["id"]);
    let total = |d: &Value| d["total"].as_str().unwrap().parse::<Decimal>().unwrap();
    assert_eq!(total(&note), -total(october));
    let revision = find(&|d| d["revises"] == october["id"]);
    assert_eq!(revision["state"], "issued");
    assert_eq!(total(&revision), total(october), "the late usage stays on November's invoice");
}

fn october_invoice(store: &[String]) -> Value {
    let listed = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["invoice", "list", "--json", "--subscription", "sub-000050"])
        .args(store)
        .output()
        .unwrap();
    serde_json::from_str(String::from_utf8_lossy(&listed.stdout).lines().next().unwrap()).unwrap()
}

#[test]
fn closing_october_on_the_embedded_store() {
    let (events, messages) = october();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = EmbeddedStore::open(&path).unwrap();
        load(&store, &messages).await;
    });
    let args = ["--embedded".to_owned(), path.to_str().unwrap().to_owned()];
    close_and_reconcile(&args, &events);
    let october = october_invoice(&args);
    runtime
        .block_on(async { EmbeddedStore::open(&path).unwrap().insert_events(&late_october_events()).await.unwrap() });
    late_usage_is_billed_on_the_next_invoice(&args, &october);
    void_and_revise(&args, &october);
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_october_on_clickhouse() {
    let (events, messages) = october();
    let db = TestDb::new().await;
    let config = ClickHouseConfig { url: clickhouse_url(), database: db.name().to_owned(), ..Default::default() };
    let store = ClickHouseStore::open(&config).await.unwrap();
    load(&store, &messages).await;
    let args = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    let run = args.clone();
    let october = tokio::task::spawn_blocking(move || {
        close_and_reconcile(&run, &events);
        october_invoice(&run)
    })
    .await
    .unwrap();
    store.insert_events(&late_october_events()).await.unwrap();
    tokio::task::spawn_blocking(move || {
        late_usage_is_billed_on_the_next_invoice(&args, &october);
        void_and_revise(&args, &october);
    })
    .await
    .unwrap();
}
