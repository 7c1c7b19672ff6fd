//! Invoice cases through the stores, on both: a plan change mid-month (usage rated per
//! plan part, the fee prorated) and a Berlin customer whose month has a DST change
//! (745 hours, bounded by local midnights, events placed by local time); an Enterprise
//! subscription started on the 17th commits to 15/31 of the month's minimum.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

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

fn tokens(id: &str, customer: &str, time: &str, n: u64) -> IncomingEvent {
    let catalog = Catalog::load(&common::sample_catalog()).unwrap();
    let decoder = Decoder::new(&catalog, DecodeRules { late_window: None, ..Default::default() });
    let event = json!({
        "specversion": "1.0", "id": id, "source": "cases", "type": "llm.tokens", "subject": customer, "time": time,
        "data": { "model": "gpt-4o", "direction": "input", "tokens": n }
    });
    IncomingEvent {
        event: decoder.decode(&serde_json::to_vec(&event).unwrap(), t("2026-11-03T00:00:00Z")).unwrap().event,
        origin: None,
    }
}

async fn load(store: &(impl UsageStore + AccountStore)) {
    let customer = |id: &str, zone: &str| Customer {
        id: CustomerId::new(id),
        name: id.into(),
        currency: "USD".parse().unwrap(),
        timezone: zone.parse().unwrap(),
        billing_details: BTreeMap::new(),
    };
    store
        .put_customers(&[customer("switch", "UTC"), customer("berlin", "Europe/Berlin"), customer("ent", "UTC")])
        .await
        .unwrap();
    let ent = Subscription {
        id: SubscriptionId::new("sub-ent"),
        customer: CustomerId::new("ent"),
        start: t("2026-10-17T00:00:00Z"),
        end: None,
        anchor: "2026-10-01".parse().unwrap(),
        phases: vec![Phase { plan: PlanKey::new("enterprise"), from: t("2026-10-17T00:00:00Z") }],
    };
    let switch = Subscription {
        id: SubscriptionId::new("sub-switch"),
        customer: CustomerId::new("switch"),
        start: t("2026-10-01T00:00:00Z"),
        end: None,
        anchor: "2026-10-01".parse().unwrap(),
        phases: vec![
            Phase { plan: PlanKey::new("starter"), from: t("2026-10-01T00:00:00Z") },
            Phase { plan: PlanKey::new("pro"), from: t("2026-10-16T00:00:00Z") },
        ],
    };
    let berlin = Subscription {
        id: SubscriptionId::new("sub-berlin"),
        customer: CustomerId::new("berlin"),
        start: t("2026-09-30T22:00:00Z"),
        end: None,
        anchor: "2026-10-01".parse().unwrap(),
        phases: vec![Phase { plan: PlanKey::new("pro"), from: t("2026-09-30T22:00:00Z") }],
    };
    store.put_subscriptions(&[switch, berlin, ent]).await.unwrap();
    store
        .insert_events(&[
            tokens("s1", "switch", "2026-10-10T12:00:00Z", 2_000_000), // starter: 2.50 per million
            tokens("s2", "switch", "2026-10-20T12:00:00Z", 2_000_000), // pro: 1M included, then 2.50
            tokens("b1", "berlin", "2026-09-30T22:30:00Z", 3_000_000), // Oct 1, 00:30 in Berlin: October
            tokens("b2", "berlin", "2026-10-31T23:30:00Z", 9_000_000), // Nov 1, 00:30 in Berlin: November
        ])
        .await
        .unwrap();
}

fn check(store: &[String]) {
    let close = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["invoice", "close", "--now", "2026-11-03T00:00:00Z", "--catalog"])
        .arg(common::sample_catalog())
        .args(store)
        .output()
        .unwrap();
    assert!(close.status.success(), "{}", String::from_utf8_lossy(&close.stderr));
    let list =
        Command::new(env!("CARGO_BIN_EXE_tally")).args(["invoice", "list", "--json"]).args(store).output().unwrap();
    let invoices: BTreeMap<String, Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|i| (i["subscription"].as_str().unwrap().to_owned(), i))
        .collect();
    let lines = |i: &Value| -> Vec<(String, String, String, String)> {
        i["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["amount"] != "0.00")
            .map(|l| {
                let s = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
                (s("kind"), s("plan"), l["service_period"]["start"].as_str().unwrap().to_owned(), s("amount"))
            })
            .collect()
    };
    let line = |kind: &str, plan: &str, start: &str, amount: &str| {
        (kind.to_owned(), plan.to_owned(), start.to_owned(), amount.to_owned())
    };

    let switch = &invoices["sub-switch"];
    assert_eq!(
        lines(switch),
        vec![
            line("fee", "pro", "2026-10-16T00:00:00Z", "25.29"), // 49.00 * 16 / 31 days, from the 16th
            line("usage", "starter", "2026-10-01T00:00:00Z", "5.00"),
            line("usage", "pro", "2026-10-16T00:00:00Z", "2.50"),
            line("fee", "pro", "2026-11-01T00:00:00Z", "49.00"),
        ]
    );
    assert_eq!(switch["total"], "81.79");

    let berlin = &invoices["sub-berlin"];
    assert_eq!(
        berlin["period"],
        json!({ "start": "2026-09-30T22:00:00Z", "end": "2026-10-31T23:00:00Z" }),
        "745 local hours"
    );
    let usage: Vec<&Value> = berlin["lines"].as_array().unwrap().iter().filter(|l| l["key"] == "gpt4o_input").collect();
    assert_eq!(usage[0]["quantity"], "3000000", "only the event of October in Berlin");
    assert_eq!(usage[0]["amount"], "5.00", "3M less 1M included at 2.50");
    assert_eq!(berlin["total"], "103.00");

    // 15 of October's 31 days on Enterprise: 5,000.00 * 15 / 31 = 2,419.35 committed,
    // less the 500.00 support fee (not prorated) of the same days (issue 18, finding 9).
    let ent = &invoices["sub-ent"];
    let true_up: Vec<&Value> =
        ent["lines"].as_array().unwrap().iter().filter(|l| l["kind"] == "minimum_commitment").collect();
    assert_eq!(true_up.len(), 1, "{ent}");
    assert_eq!(true_up[0]["amount"], "1919.35", "{ent}");
    assert_eq!(true_up[0]["service_period"]["start"], "2026-10-17T00:00:00Z");
}

#[test]
fn plan_change_and_dst_month_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    tokio::runtime::Runtime::new().unwrap().block_on(load(&EmbeddedStore::open(&path).unwrap()));
    check(&["--embedded".to_owned(), path.to_str().unwrap().to_owned()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_change_and_dst_month_on_clickhouse() {
    let db = TestDb::new().await;
    let config = ClickHouseConfig { url: clickhouse_url(), database: db.name().to_owned(), ..Default::default() };
    load(&ClickHouseStore::open(&config).await.unwrap()).await;
    let args = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    tokio::task::spawn_blocking(move || check(&args)).await.unwrap();
}
