//! Prices of periods already invoiced never change (issue 18, finding 6), on both
//! stores: a plan's prices edited in place are refused for the periods it priced (a
//! revision, the next close of its subscribers) with a message saying what to do; new
//! prices as a new plan, moved to with a dated plan change, bill the next period at
//! the new prices while a revision of the old period still bills the old ones.

mod common;

use common::{ok, run};

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, TimeDelta, Utc};
use serde_json::{json, Value};
use tally_domain::{Catalog, Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::embedded::EmbeddedStore;
use tally_store::{AccountStore, IncomingEvent, UsageStore};
use tally_tests::{clickhouse_url, TestDb};

/// The two months before this one.
fn months() -> [DateTime<Utc>; 3] {
    let this = Utc::now().date_naive().with_day(1).unwrap();
    let at = |back: u32| this.checked_sub_months(Months::new(back)).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    [at(2), at(1), at(0)]
}

async fn load(store: &(impl UsageStore + AccountStore)) {
    let m = months();
    let customer = Customer {
        id: CustomerId::new("px"),
        name: "Prices".into(),
        currency: "USD".parse().unwrap(),
        timezone: "UTC".parse().unwrap(),
        billing_details: BTreeMap::new(),
    };
    store.put_customers(&[customer]).await.unwrap();
    let subscription = Subscription {
        id: SubscriptionId::new("sub-px"),
        customer: CustomerId::new("px"),
        start: m[0],
        end: None,
        anchor: m[0].date_naive(),
        phases: vec![Phase { plan: PlanKey::new("pro"), from: m[0] }],
    };
    store.put_subscriptions(&[subscription]).await.unwrap();
    let catalog = Catalog::load(&common::sample_catalog()).unwrap();
    let decoder = Decoder::new(&catalog, DecodeRules { late_window: None, ..Default::default() });
    let event = |id: &str, time: DateTime<Utc>, tokens: u64| {
        let e = json!({ "specversion": "1.0", "id": id, "source": "px", "type": "llm.tokens", "subject": "px",
            "time": time.to_rfc3339(), "data": { "model": "gpt-4o", "direction": "input", "tokens": tokens } });
        IncomingEvent { event: decoder.decode(e.to_string().as_bytes(), time).unwrap().event, origin: None }
    };
    let events = [event("p1", m[0] + TimeDelta::days(5), 3_000_000), event("p2", m[1] + TimeDelta::days(5), 2_000_000)];
    store.insert_events(&events).await.unwrap();
}

fn usage_amount(doc: &Value) -> String {
    let line =
        doc["lines"].as_array().unwrap().iter().find(|l| l["key"] == "gpt4o_input" && l["kind"] == "usage").unwrap();
    line["amount"].as_str().unwrap().to_owned()
}

fn check(store: &[String]) {
    let m = months();
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string(common::sample_catalog()).unwrap();
    let start = sample.find("[[plans]]\nkey = \"pro\"\n").unwrap();
    let end = start + 1 + sample[start + 1..].find("\n[[plans]]").unwrap();
    let pro = &sample[start..end];
    let edit = |pro: &str| pro.replacen("unit_price = \"2.50\"", "unit_price = \"3.00\"", 1);
    // B: Pro's input price edited in place. C: the new price as a new plan.
    let edited = sample.replacen(pro, &edit(pro), 1);
    let added = format!("{sample}\n{}", edit(pro).replacen("key = \"pro\"", "key = \"pro_2027\"", 1));
    let (a, b, c) = (dir.path().join("a.toml"), dir.path().join("b.toml"), dir.path().join("c.toml"));
    std::fs::write(&a, &sample).unwrap();
    std::fs::write(&b, edited).unwrap();
    std::fs::write(&c, added).unwrap();
    let (a, b, c) = (a.to_str().unwrap(), b.to_str().unwrap(), c.to_str().unwrap());
    let at = |t: DateTime<Utc>| t.to_rfc3339();

    ok(store, &["invoice", "close", "--now", &at(m[1] + TimeDelta::days(2)), "--catalog", a]);
    let listed: Vec<Value> =
        ok(store, &["invoice", "list", "--json"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let first = listed[0]["number"].as_str().unwrap().to_owned();
    assert_eq!(usage_amount(&listed[0]), "5.00", "3M less 1M included at 2.50");

    // Edited in place: no revision at the new price, and no close of its subscribers.
    let out = run(store, &["invoice", "void", "--id", &first, "--revise", "--catalog", b]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains(&format!("prices changed since {first}"))
            && err.contains("--change-plan"),
        "{err}"
    );
    let shown: Value = serde_json::from_str(&ok(store, &["invoice", "show", "--id", &first])).unwrap();
    assert_eq!(shown["state"], "issued", "refused before anything changed");
    let out = run(store, &["invoice", "close", "--now", &at(m[2] + TimeDelta::days(2)), "--catalog", b]);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && said.contains("sub-px") && said.contains("plan pro"), "{said}");

    // New prices as a new plan, moved to from the next month on: billed at 3.00 there,
    // while the old month, revised, is still priced at 2.50.
    let change = ["subscriptions", "update", "--id", "sub-px", "--change-plan", "pro_2027", "--at"];
    ok(store, &[&change[..], &[&at(m[1]), "--catalog", c]].concat());
    ok(store, &["invoice", "close", "--now", &at(m[2] + TimeDelta::days(2)), "--catalog", c]);
    let docs: Vec<Value> =
        ok(store, &["invoice", "list", "--json"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let second = docs.iter().find(|d| d["number"] != first.as_str() && d["document"] == "invoice").unwrap();
    assert_eq!(usage_amount(second), "3.00", "2M less 1M included at 3.00: {second}");
    ok(store, &["invoice", "void", "--id", &first, "--revise", "--catalog", c]);
    let docs: Vec<Value> =
        ok(store, &["invoice", "list", "--json"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let revision = docs.iter().find(|d| d["revises"] == listed[0]["id"]).unwrap();
    assert_eq!(usage_amount(revision), "5.00", "the old month at its own prices: {revision}");
}

#[test]
fn prices_of_invoiced_periods_never_change_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    tokio::runtime::Runtime::new().unwrap().block_on(load(&EmbeddedStore::open(&path).unwrap()));
    check(&["--embedded".to_owned(), path.to_str().unwrap().to_owned()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn prices_of_invoiced_periods_never_change_on_clickhouse() {
    let db = TestDb::new().await;
    let config = ClickHouseConfig { url: clickhouse_url(), database: db.name().to_owned(), ..Default::default() };
    load(&ClickHouseStore::open(&config).await.unwrap()).await;
    let store = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    tokio::task::spawn_blocking(move || check(&store)).await.unwrap();
}
