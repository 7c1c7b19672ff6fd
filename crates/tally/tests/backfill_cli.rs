//! Loading history (issue 19): `tally backfill` of three past months, most of them
//! older than the ingest late window, for two customers whose first two months were
//! issued already (with no usage). The issued months the history changes are
//! voided and revised through the ledger, the untouched ones stay as they are, the month
//! not invoiced yet is billed by the next close, and every live invoice and the
//! customers' balances reconcile with the events summed here, independently.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

const CATALOG: &str = r#"
[[meters]]
key = "tokens"
event_type = "llm.tokens"
aggregation = "sum"
value = "tokens"

[[plans]]
key = "monthly"
currency = "USD"
interval = "month"

[[plans.charges]]
key = "tokens"
meter = "tokens"
price = { model = "per_unit", unit_price = "0.001" }
"#;

/// The three months before this one.
fn months() -> Vec<DateTime<Utc>> {
    let this = Utc::now().date_naive().with_day(1).unwrap();
    (1..=3)
        .rev()
        .map(|back| this.checked_sub_months(Months::new(back)).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc())
        .collect()
}

fn event(id: &str, customer: &str, time: DateTime<Utc>, tokens: u64) -> String {
    serde_json::json!({"specversion": "1.0", "id": id, "source": "old-system", "type": "llm.tokens",
        "subject": customer, "time": time.to_rfc3339(), "data": {"tokens": tokens}})
    .to_string()
}

fn live_invoices(store: &[String]) -> BTreeMap<(String, String), Decimal> {
    common::ok(store, &["invoice", "list", "--json"])
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|i| i["state"] == "issued" && i["document"].as_str().unwrap_or("invoice") == "invoice")
        .map(|i| {
            let key =
                (i["customer"].as_str().unwrap().to_owned(), i["period"]["start"].as_str().unwrap()[..7].to_owned());
            (key, i["total"].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

#[test]
fn three_past_months_load_and_reconcile_with_the_events_through_corrections() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("catalog.toml"), CATALOG).unwrap();
    let store = vec!["--embedded".to_owned(), d.join("tally.db").display().to_string()];
    let store_and_catalog =
        [&store[..], &["--catalog".to_owned(), d.join("catalog.toml").display().to_string()]].concat();
    let ok = |args: &[&str]| common::ok(&store_and_catalog, args);
    let m = months();
    for customer in ["acme", "globex"] {
        ok(&["customers", "create", "--id", customer, "--name", customer, "--currency", "USD", "--timezone", "UTC"]);
        let start = m[0].to_rfc3339();
        let sub = format!("sub-{customer}");
        ok(&["subscriptions", "create", "--id", &sub, "--customer", customer, "--plan", "monthly", "--start", &start]);
    }
    // The first two months issued before any history arrived: nothing used.
    let before = (m[2] + TimeDelta::hours(2)).to_rfc3339();
    ok(&["invoice", "close", "--now", &before, "--grace-minutes", "60"]);
    let issued = live_invoices(&store_and_catalog);
    assert_eq!(issued.len(), 4, "{issued:?}");
    assert!(issued.values().all(Decimal::is_zero), "{issued:?}");

    // The history: acme in all three months, globex only in the month not invoiced yet;
    // one line outside the range and one duplicate, both kept out.
    let mut lines = Vec::new();
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (i, month) in m.iter().enumerate() {
        for day in [2, 11, 20] {
            let tokens = 1_000 * (i as u64 + 1) * day;
            lines.push(event(&format!("acme-{i}-{day}"), "acme", *month + TimeDelta::days(day as i64), tokens));
            *expected.entry(("acme".into(), month.format("%Y-%m").to_string())).or_default() += tokens;
        }
    }
    lines.push(event("globex-1", "globex", m[2] + TimeDelta::days(3), 5_000));
    *expected.entry(("globex".into(), m[2].format("%Y-%m").to_string())).or_default() += 5_000;
    lines.push(event("acme-0-2", "acme", m[0] + TimeDelta::days(2), 2_000));
    lines.push(event("too-old", "acme", m[0] - TimeDelta::days(1), 1));
    let mut file = (lines.join("\n") + "\n").into_bytes();
    // A line that is not UTF-8 (a Latin-1 export): refused alone, the rest loaded.
    file.extend_from_slice(b"{\"specversion\": \"1.0\", \"id\": \"caf\xe9\"}\n");
    std::fs::write(d.join("history.ndjson"), file).unwrap();
    let (from, to) = (m[0].to_rfc3339(), (m[2] + TimeDelta::days(28)).to_rfc3339());
    let backfill = || {
        let args = ["backfill", "history.ndjson", "--from", &from, "--to", &to];
        common::tally().current_dir(d).args(args).args(&store_and_catalog).output().unwrap()
    };
    let out = backfill();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    // A line outside the range and one not UTF-8: the rest loaded, each named, exit 2.
    assert_eq!(out.status.code(), Some(2), "{text}{err}");
    assert!(err.contains("outside --from/--to"), "{err}");
    assert!(err.contains("not loaded, not_utf8"), "{err}");
    assert!(text.contains("2 issued invoices of the range corrected, 2 unchanged"), "{text}");
    // Loading again changes nothing (events are kept once; nothing left to correct).
    let again = backfill();
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 issued invoices of the range corrected, 4 unchanged"));

    // The month not invoiced yet: billed by the next close.
    ok(&["invoice", "close"]);
    let live = live_invoices(&store_and_catalog);
    let mut balances: BTreeMap<String, Decimal> = BTreeMap::new();
    for month in &m {
        for customer in ["acme", "globex"] {
            let key = (customer.to_owned(), month.format("%Y-%m").to_string());
            let tokens = expected.get(&key).copied().unwrap_or(0);
            let want = Decimal::from(tokens) * Decimal::new(1, 3);
            assert_eq!(live.get(&key), Some(&want), "{key:?}: {live:?}");
            *balances.entry(customer.to_owned()).or_default() += want;
        }
    }
    // The ledger owes exactly that: the voided invoices' credit notes cancel them.
    for (customer, want) in balances {
        let (from, to) =
            ((m[0] - TimeDelta::days(1)).format("%Y-%m-%d").to_string(), Utc::now().format("%Y-%m-%d").to_string());
        let args =
            ["receivables", "statement", "--customer", &customer, "--format", "json", "--from", &from, "--to", &to];
        let shown = ok(&args);
        let statement: Value = serde_json::from_str(&shown).unwrap();
        let closing: Decimal = statement["closing_balance"].as_str().unwrap().parse().unwrap();
        assert_eq!(closing, want, "{customer}: {shown}");
    }
}
