//! Usage that no invoice will bill (issue 18, finding 11), on both stores, through
//! `tally invoice unbilled` and the API's `GET /v1/usage/unbilled` logic: events of an
//! unknown customer id, before a subscription's start, after its end, of a customer
//! with no subscription, and of a model no charge of the plan prices, each reported
//! with its reason and exact quantity; billed usage is not reported.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tally_domain::{Catalog, Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::embedded::EmbeddedStore;
use tally_store::{AccountStore, IncomingEvent, UsageStore};
use tally_tests::{clickhouse_url, TestDb};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn tokens(id: &str, customer: &str, time: &str, model: &str, n: u64) -> IncomingEvent {
    let catalog = Catalog::load(&common::sample_catalog()).unwrap();
    let decoder = Decoder::new(&catalog, DecodeRules { late_window: None, ..Default::default() });
    let event = json!({
        "specversion": "1.0", "id": id, "source": "unbilled", "type": "llm.tokens", "subject": customer, "time": time,
        "data": { "model": model, "direction": "input", "tokens": n }
    });
    IncomingEvent { event: decoder.decode(event.to_string().as_bytes(), t(time)).unwrap().event, origin: None }
}

fn subscription(id: &str, customer: &str, plan: &str, start: &str, end: Option<&str>) -> Subscription {
    Subscription {
        id: SubscriptionId::new(id),
        customer: CustomerId::new(customer),
        start: t(start),
        end: end.map(t),
        anchor: "2026-11-01".parse().unwrap(),
        phases: vec![Phase { plan: PlanKey::new(plan), from: t(start) }],
    }
}

async fn load(store: &(impl UsageStore + AccountStore)) {
    let customer = |id: &str| Customer {
        id: CustomerId::new(id),
        name: id.into(),
        currency: "USD".parse().unwrap(),
        timezone: "UTC".parse().unwrap(),
        billing_details: BTreeMap::new(),
    };
    store.put_customers(&["late", "ended", "odd", "none"].map(customer)).await.unwrap();
    store
        .put_subscriptions(&[
            subscription("sub-late", "late", "pro", "2026-11-10T00:00:00Z", None),
            subscription("sub-ended", "ended", "pro", "2026-10-01T00:00:00Z", Some("2026-11-20T00:00:00Z")),
            subscription("sub-odd", "odd", "pro", "2026-10-01T00:00:00Z", None),
        ])
        .await
        .unwrap();
    store
        .insert_events(&[
            tokens("g1", "ghost", "2026-11-03T10:00:00Z", "gpt-4o", 1_000_000),
            tokens("g2", "ghost", "2026-11-04T10:00:00Z", "gpt-4o", 500_000),
            tokens("l1", "late", "2026-11-05T10:00:00Z", "gpt-4o", 2_000_000), // before its start
            tokens("l2", "late", "2026-11-15T10:00:00Z", "gpt-4o", 3_000_000), // billed
            tokens("e1", "ended", "2026-11-12T10:00:00Z", "gpt-4o", 4_000_000), // billed
            tokens("e2", "ended", "2026-11-25T10:00:00Z", "gpt-4o", 5_000_000), // after its end
            tokens("o1", "odd", "2026-11-06T10:00:00Z", "claude-3", 6_000_000), // no charge prices it
            tokens("o2", "odd", "2026-11-07T10:00:00Z", "gpt-4o", 7_000_000),  // billed
            tokens("n1", "none", "2026-11-08T10:00:00Z", "gpt-4o", 8_000_000), // no subscription
            tokens("x1", "odd", "2026-12-02T10:00:00Z", "claude-3", 9_000_000), // outside the range asked
        ])
        .await
        .unwrap();
}

fn check(store: &[String]) {
    let out = common::tally()
        .args(["invoice", "unbilled", "--from", "2026-11-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z", "--json"])
        .arg("--catalog")
        .arg(common::sample_catalog())
        .args(store)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let got: Vec<(&str, &str, Option<&str>, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["customer"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
                r["plan"].as_str(),
                r["dimensions"]["model"].as_str().unwrap(),
                r["quantity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("ended", "outside_subscription", None, "gpt-4o", "5000000"),
            ("ghost", "unknown_customer", None, "gpt-4o", "1500000"),
            ("late", "outside_subscription", None, "gpt-4o", "2000000"),
            ("none", "outside_subscription", None, "gpt-4o", "8000000"),
            ("odd", "no_charge", Some("pro"), "claude-3", "6000000"),
        ],
        "{rows:#?}"
    );
    assert!(rows.iter().all(|r| r["meter"] == "llm_tokens"));
    // The table says the same.
    let out = common::tally()
        .args(["invoice", "unbilled", "--from", "2026-11-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z", "--catalog"])
        .arg(common::sample_catalog())
        .args(store)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("unknown_customer") && table.contains("model=claude-3"), "{table}");
}

#[test]
fn unbilled_usage_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    tokio::runtime::Runtime::new().unwrap().block_on(load(&EmbeddedStore::open(&path).unwrap()));
    check(&["--embedded".to_owned(), path.to_str().unwrap().to_owned()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unbilled_usage_on_clickhouse() {
    let db = TestDb::new().await;
    let config = ClickHouseConfig { url: clickhouse_url(), database: db.name().to_owned(), ..Default::default() };
    load(&ClickHouseStore::open(&config).await.unwrap()).await;
    let store = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    tokio::task::spawn_blocking(move || check(&store)).await.unwrap();
}
