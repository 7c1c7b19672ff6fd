//! Subscription changes dated inside periods already invoiced (issue 18, findings 2 and
//! 3), on both stores: a plan change back-dated into an issued, paid month, and an end
//! dated inside an issued month whose next fee was billed in advance. Each is refused,
//! naming the invoices, unless revised; revised, every period is billed once, on the
//! plan it had, the fees billed in advance are corrected, the payment moves to the
//! revision, and the customer's balance is what the usage and the prorated fees come
//! to, worked out here from the catalog's prices and the day counts.

mod common;

use common::{ok, run};

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tally_domain::{Catalog, Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::embedded::EmbeddedStore;
use tally_store::{AccountStore, IncomingEvent, UsageStore};
use tally_tests::{clickhouse_url, TestDb};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The months of the scenario: `p[0]` to `p[3]`, the four months before this one.
fn months() -> Vec<DateTime<Utc>> {
    let this = Utc::now().date_naive().with_day(1).unwrap();
    (1..=4)
        .rev()
        .map(|back| this.checked_sub_months(Months::new(back)).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc())
        .collect()
}

fn days_in(month: DateTime<Utc>) -> i64 {
    (month.date_naive().checked_add_months(Months::new(1)).unwrap() - month.date_naive()).num_days()
}

fn tokens(id: &str, time: DateTime<Utc>, n: u64) -> IncomingEvent {
    let catalog = Catalog::load(&common::sample_catalog()).unwrap();
    let decoder = Decoder::new(&catalog, DecodeRules { late_window: None, ..Default::default() });
    let event = json!({
        "specversion": "1.0", "id": id, "source": "corrections", "type": "llm.tokens", "subject": "shift",
        "time": time.to_rfc3339(), "data": { "model": "gpt-4o", "direction": "input", "tokens": n }
    });
    IncomingEvent { event: decoder.decode(event.to_string().as_bytes(), Utc::now()).unwrap().event, origin: None }
}

async fn load(store: &(impl UsageStore + AccountStore)) {
    let p = months();
    let customer = Customer {
        id: CustomerId::new("shift"),
        name: "Shift AI".into(),
        currency: "USD".parse().unwrap(),
        timezone: "UTC".parse().unwrap(),
        billing_details: BTreeMap::new(),
    };
    store.put_customers(&[customer]).await.unwrap();
    let subscription = Subscription {
        id: SubscriptionId::new("sub-shift"),
        customer: CustomerId::new("shift"),
        start: p[0],
        end: None,
        anchor: p[0].date_naive(),
        phases: vec![Phase { plan: PlanKey::new("starter"), from: p[0] }],
    };
    store.put_subscriptions(&[subscription]).await.unwrap();
    let events =
        [tokens("e1", p[1] + TimeDelta::days(4), 2_000_000), tokens("e2", p[1] + TimeDelta::days(24), 2_000_000)];
    store.insert_events(&events).await.unwrap();
}

fn documents(store: &[String]) -> Vec<Value> {
    ok(store, &["invoice", "list", "--json"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The fee of `days` of a `month_days` month at 49.00, rounded to the cent.
fn pro_fee(days: i64, month_days: i64) -> Decimal {
    (d("49.00") * Decimal::from(days) / Decimal::from(month_days)).round_dp(2)
}

fn check(store: &[String]) {
    let p = months();
    let catalog = common::sample_catalog();
    let catalog = catalog.to_str().unwrap();
    let at = |t: DateTime<Utc>| t.to_rfc3339();
    ok(store, &["invoice", "close", "--now", &at(p[2] + TimeDelta::days(2)), "--catalog", catalog]);
    let docs = documents(store);
    assert_eq!(docs.len(), 2, "{docs:?}");
    let second = docs.iter().find(|x| x["period"]["start"] == at(p[1]).replace("+00:00", "Z")).unwrap().clone();
    let number = second["number"].as_str().unwrap().to_owned();
    assert_eq!(second["total"], "10.00", "4M tokens on Starter at 2.50 per million");
    let paid_on = (p[2] + TimeDelta::days(3)).date_naive().to_string();
    let pay = ["payments", "record", "--customer", "shift", "--reference", "ACH-9", "--amount", "10.00", "--date"];
    ok(store, &[&pay[..], &[&paid_on, "--invoice", &number]].concat());

    // Finding 2: a plan change dated inside the issued, paid month is refused...
    let change_at = at(p[1] + TimeDelta::days(19));
    let change = ["subscriptions", "update", "--id", "sub-shift", "--change-plan", "pro", "--at"];
    let change: Vec<&str> = [&change[..], &[change_at.as_str(), "--catalog", catalog]].concat();
    let out = run(store, &change);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&number) && err.contains("--revise"), "{err}");
    assert_eq!(documents(store).len(), 2, "nothing changed");
    // ... and revised when asked: the month billed again on the plans it had.
    let out = run(store, &[&change[..], &["--revise"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let told = String::from_utf8_lossy(&out.stderr);
    assert!(told.contains(&format!("voided {number} with credit note CN-")), "{told}");
    let docs = documents(store);
    let revision = docs.iter().find(|x| x["revises"] == second["id"]).unwrap().clone();
    let d1 = days_in(p[1]);
    let f1 = pro_fee(d1 - 19, d1);
    let amounts = |doc: &Value, kind: &str| -> Vec<(String, String)> {
        doc["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["kind"] == kind && l["amount"] != "0.00")
            .map(|l| (l["plan"].as_str().unwrap().to_owned(), l["amount"].as_str().unwrap().to_owned()))
            .collect()
    };
    assert_eq!(
        amounts(&revision, "usage"),
        vec![("starter".into(), "5.00".into()), ("pro".into(), "2.50".into())],
        "e1 on Starter; e2 on Pro, less its 1M included: {revision}"
    );
    assert_eq!(revision["total"].as_str().map(d), Some(d("7.50") + f1 + d("49.00")), "{revision}");

    // The next month closes with nothing billed twice: no late usage, no fee again.
    ok(store, &["invoice", "close", "--now", &at(p[3] + TimeDelta::days(2)), "--catalog", catalog]);
    let docs = documents(store);
    let third = docs
        .iter()
        .find(|x| x["period"]["start"] == at(p[2]).replace("+00:00", "Z") && x["state"] == "issued")
        .unwrap()
        .clone();
    assert!(amounts(&third, "late_usage").is_empty(), "the change's usage was billed by the revision: {third}");
    assert_eq!(third["total"], "49.00", "only the next month's fee in advance: {third}");
    let third_number = third["number"].as_str().unwrap().to_owned();

    // Finding 3: an end inside that issued month, whose next fee was billed in advance.
    let end = ["subscriptions", "update", "--id", "sub-shift", "--end"];
    let end_at = at(p[2] + TimeDelta::days(14));
    let end: Vec<&str> = [&end[..], &[end_at.as_str(), "--catalog", catalog]].concat();
    let out = run(store, &end);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains(&third_number));
    let out = run(store, &[&end[..], &["--revise"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let docs = documents(store);
    let ended = docs.iter().find(|x| x["revises"] == third["id"]).unwrap().clone();
    let d2 = days_in(p[2]);
    let f2 = pro_fee(14, d2);
    // The month's fee billed in advance (49.00, by the first revision) comes down to
    // 14 days of it; the next month's fee is cancelled with the voided invoice.
    assert_eq!(ended["total"].as_str().map(d), Some(f2 - d("49.00")), "{ended}");

    // What the customer owes: the usage and the fees of the days on Pro, less the
    // payment. Nothing lost, nothing twice.
    let today = Utc::now().date_naive().to_string();
    let aging = ok(store, &["receivables", "aging", "--json", "--customer", "shift", "--as-of", &today]);
    let row: Value = serde_json::from_str(aging.lines().next().unwrap()).unwrap();
    let owed = d(row["outstanding"].as_str().unwrap()) - d(row["unapplied_credit"].as_str().unwrap());
    assert_eq!(owed, d("7.50") + f1 + f2 - d("10.00"), "{row}\n{docs:#?}");
    let from = p[0].date_naive().to_string();
    let statement = ok(
        store,
        &["receivables", "statement", "--customer", "shift", "--from", &from, "--to", &today, "--format", "json"],
    );
    let statement: Value = serde_json::from_str(&statement).unwrap();
    assert_eq!(statement["closing_balance"].as_str().map(d), Some(owed), "{statement}");
    let _: NaiveDate = today.parse().unwrap();
}

#[test]
fn changes_inside_issued_periods_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    tokio::runtime::Runtime::new().unwrap().block_on(load(&EmbeddedStore::open(&path).unwrap()));
    check(&["--embedded".to_owned(), path.to_str().unwrap().to_owned()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_inside_issued_periods_on_clickhouse() {
    let db = TestDb::new().await;
    let config = ClickHouseConfig { url: clickhouse_url(), database: db.name().to_owned(), ..Default::default() };
    load(&ClickHouseStore::open(&config).await.unwrap()).await;
    let store = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    tokio::task::spawn_blocking(move || check(&store)).await.unwrap();
}
