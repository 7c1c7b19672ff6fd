//! Two invoice closes at once (issue 19, finding 7): on ClickHouse both used to report
//! "issued 60 invoices" and wrote each invoice twice under the same number. A close
//! holds the store's close lease: the second waits for the first, then finds every
//! period closed already. Each report says what that close issued; every invoice is
//! written once, with a number of its own. On both stores.

mod common;

use std::collections::BTreeMap;
use std::process::Output;

use chrono::{DateTime, Datelike, Months, TimeDelta, Utc};
use tally_domain::{Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::embedded::EmbeddedStore;
use tally_store::{AccountStore, InvoiceFilter, InvoiceStore};
use tally_tests::{clickhouse_url, TestDb};

const SUBSCRIPTIONS: usize = 60;

fn last_month() -> DateTime<Utc> {
    let this = Utc::now().date_naive().with_day(1).unwrap();
    this.checked_sub_months(Months::new(1)).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc()
}

async fn load(store: &impl AccountStore) {
    let start = last_month();
    let customers: Vec<Customer> = (0..SUBSCRIPTIONS)
        .map(|i| Customer {
            id: CustomerId::new(format!("c{i:02}")),
            name: format!("Customer {i}"),
            currency: "USD".parse().unwrap(),
            timezone: "UTC".parse().unwrap(),
            billing_details: BTreeMap::new(),
        })
        .collect();
    store.put_customers(&customers).await.unwrap();
    let subscriptions: Vec<Subscription> = customers
        .iter()
        .map(|c| Subscription {
            id: SubscriptionId::new(format!("sub-{}", c.id)),
            customer: c.id.clone(),
            start,
            end: Some(start + TimeDelta::days(3)),
            anchor: start.date_naive(),
            phases: vec![Phase { plan: PlanKey::new("daily"), from: start }],
        })
        .collect();
    store.put_subscriptions(&subscriptions).await.unwrap();
}

/// Two `tally invoice close` at once; their outputs.
fn two_closes(dir: &std::path::Path, store: &[String]) -> (Output, Output) {
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .current_dir(dir)
            .args(["invoice", "close", "--catalog", "catalog.toml"])
            .args(store)
            .env_remove("TALLY_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    (a.wait_with_output().unwrap(), b.wait_with_output().unwrap())
}

fn issued(out: &Output) -> usize {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    text.strip_prefix("issued ").and_then(|t| t.split(' ').next()).unwrap().parse().unwrap()
}

/// Two closes at once on `store` (the catalog written into `dir`); each reports its
/// own invoices: together, each of the 3 x 60 once.
async fn closes_report_their_own(dir: &std::path::Path, store: Vec<String>) {
    std::fs::write(dir.join("catalog.toml"), common::DAILY_CATALOG).unwrap();
    let dir = dir.to_owned();
    let (a, b) = tokio::task::spawn_blocking(move || two_closes(&dir, &store)).await.unwrap();
    let (x, y) = (issued(&a), issued(&b));
    assert_eq!((x + y, x.min(y)), (3 * SUBSCRIPTIONS, 0), "one close issues all, the other none: {x} and {y}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_closes_on_clickhouse_issue_each_invoice_once() {
    let db = TestDb::new().await;
    let config = ClickHouseConfig { url: clickhouse_url(), database: db.name().to_owned(), ..Default::default() };
    load(&ClickHouseStore::open(&config).await.unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    closes_report_their_own(dir.path(), store).await;
    // Every issued invoice row written once (no FINAL: copies would show), each number once.
    let row: (u64, u64) = db
        .client()
        .query("SELECT count(), uniqExact(number) FROM invoices WHERE state = 'issued'")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(row, ((3 * SUBSCRIPTIONS) as u64, (3 * SUBSCRIPTIONS) as u64));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_closes_on_the_embedded_store_issue_each_invoice_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    load(&EmbeddedStore::open(&path).unwrap()).await;
    let store = vec!["--embedded".to_owned(), path.display().to_string()];
    closes_report_their_own(dir.path(), store).await;
    let reopened = EmbeddedStore::open(&path).unwrap();
    let invoices = reopened
        .invoices(&InvoiceFilter { state: Some(tally_domain::InvoiceState::Issued), ..Default::default() })
        .await
        .unwrap();
    let numbers: std::collections::BTreeSet<_> = invoices.iter().map(|i| i.number.clone()).collect();
    assert_eq!((invoices.len(), numbers.len()), (3 * SUBSCRIPTIONS, 3 * SUBSCRIPTIONS));
}
