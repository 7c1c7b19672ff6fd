//! Ledger entries: the same contract on the ClickHouse store and on the embedded store.
//! Entries are appended once per id and come back exactly as written (amounts to the
//! minor unit, kinds with their detail, days, memos); the embedded store refuses to
//! change or delete one.

#[macro_use]
mod both_stores;

use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use tally_domain::CustomerId;
use tally_ledger::plan::{self, Context};
use tally_ledger::{Book, Entry};
use tally_store::LedgerStore;

contract!(entries_are_appended_once_and_read_back_exactly);

fn ctx(customer: &str, currency: &str, day: &str) -> Context {
    let day: NaiveDate = day.parse().unwrap();
    Context {
        customer: CustomerId::new(customer),
        currency: currency.parse().unwrap(),
        day,
        today: "2026-12-01".parse().unwrap(),
        recorded_at: Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
        memo: "wire from Acme | ref?".into(),
    }
}

async fn entries_are_appended_once_and_read_back_exactly(store: &impl LedgerStore) {
    let mut all: Vec<Entry> = Vec::new();
    let c = ctx("a?b", "USD", "2026-11-01");
    all.extend(
        plan::invoice(
            &Book::all(&all),
            &c,
            "inv-1",
            "INV-000001",
            "5500.00".parse().unwrap(),
            "2026-12-01".parse().unwrap(),
        )
        .unwrap(),
    );
    all.extend(
        plan::payment(&Book::all(&all), &ctx("a?b", "USD", "2026-11-10"), "ACH|1", "3000.00".parse().unwrap(), &[])
            .unwrap(),
    );
    let j = ctx("tokyo", "JPY", "2026-11-02");
    all.extend(
        plan::invoice(
            &Book::all(&all),
            &j,
            "inv-2",
            "INV-000002",
            "30000".parse().unwrap(),
            "2026-12-02".parse().unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(store.append_entries(&all).await.unwrap(), 4, "invoice, payment, allocation, invoice");
    assert_eq!(store.append_entries(&all).await.unwrap(), 0, "appended again: nothing new");
    assert_eq!(store.append_entries(&[all[1].clone(), all[1].clone()]).await.unwrap(), 0);

    let back = store.entries(None).await.unwrap();
    let mut want = all.clone();
    want.sort_by(|a, b| (a.effective, &a.id).cmp(&(b.effective, &b.id)));
    let mut got = back.clone();
    got.sort_by(|a, b| (a.effective, &a.id).cmp(&(b.effective, &b.id)));
    assert_eq!(got, want, "read back exactly");
    assert_eq!(back.iter().find(|e| e.id == all[1].id).unwrap().amount.to_string(), "3000.00");
    let of_acme = store.entries(Some(&CustomerId::new("a?b"))).await.unwrap();
    assert_eq!(of_acme.len(), 3);
    let book = Book::all(&of_acme);
    assert_eq!(book.invoice("inv-1").unwrap().owed, "2500.00".parse::<Decimal>().unwrap());
    assert!(store.entries(Some(&CustomerId::new("a??b"))).await.unwrap().is_empty());
}

#[test]
fn the_embedded_store_refuses_to_change_an_entry() {
    let (store, dir) = both_stores::embedded();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let c = ctx("acme", "USD", "2026-11-01");
    let entries =
        plan::invoice(&Book::default(), &c, "inv-1", "INV-1", "10.00".parse().unwrap(), "2026-12-01".parse().unwrap())
            .unwrap();
    runtime.block_on(store.append_entries(&entries)).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("tally.db")).unwrap();
    for sql in ["UPDATE ledger_entries SET amount = '1.00'", "DELETE FROM ledger_entries"] {
        let err = conn.execute(sql, []).unwrap_err().to_string();
        assert!(err.contains("never"), "{sql}: {err}");
    }
}
