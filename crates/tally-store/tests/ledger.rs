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

contract!(
    entries_are_appended_once_and_read_back_exactly,
    totals_are_the_books_on_every_day,
    a_close_sized_append_is_checked_and_stored_once
);

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

/// A few hundred acts over three customers and two currencies (invoices, partial and
/// over-payments, credit notes, voids with and without revision, reversals, refunds,
/// write-offs, days passing), then on every day and for each customer and all: what the
/// store adds up is what the book of the same entries says.
async fn totals_are_the_books_on_every_day(store: &impl LedgerStore) {
    let customers = ["acme", "o'brien?", "tokyo"];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut all: Vec<Entry> = Vec::new();
    let mut day: NaiveDate = "2026-01-01".parse().unwrap();
    let (mut invoices, mut payments, mut counter) = (Vec::<(usize, String)>::new(), Vec::<(usize, String)>::new(), 0);
    for _ in 0..300 {
        let who = next(3) as usize;
        let currency = if who == 2 { "JPY" } else { "USD" };
        let amount = |units: u64| -> Decimal {
            if currency == "JPY" {
                Decimal::from(units * 100)
            } else {
                Decimal::new(units as i64 * 100 + 5, 2)
            }
        };
        let mut c = ctx(customers[who], currency, &day.to_string());
        c.today = day;
        counter += 1;
        let book = Book::all(&all);
        let done = match next(9) {
            0 | 1 => {
                let id = format!("inv-{counter}");
                let due = day + chrono::TimeDelta::days(30);
                invoices.push((who, id.clone()));
                plan::invoice(&book, &c, &id, &format!("INV-{counter:06}"), amount(next(50) + 1), due)
            }
            2 | 3 => {
                let reference = format!("pay|{counter}");
                payments.push((who, reference.clone()));
                plan::payment(&book, &c, &reference, amount(next(40) + 1), &[])
            }
            4 => match invoices.iter().filter(|(w, _)| *w == who).last() {
                Some((_, inv)) => plan::credit_note(
                    &book,
                    &c,
                    inv,
                    (&format!("cn-{counter}"), &format!("CN-{counter:06}")),
                    amount(next(10) + 1),
                    "dispute",
                ),
                None => Ok(Vec::new()),
            },
            5 => match payments.iter().filter(|(w, _)| *w == who).nth(next(3) as usize) {
                Some((_, reference)) => plan::reverse_payment(&book, &c, reference, "bounced"),
                None => Ok(Vec::new()),
            },
            6 => match payments.iter().filter(|(w, _)| *w == who).last() {
                Some((_, reference)) => plan::refund(
                    &book,
                    &c,
                    &tally_ledger::Source::Payment(reference.clone()),
                    &format!("rf-{counter}"),
                    amount(1),
                ),
                None => Ok(Vec::new()),
            },
            7 => match invoices.iter().filter(|(w, _)| *w == who).nth(next(4) as usize) {
                Some((_, inv)) if next(2) == 0 => plan::write_off(&book, &c, inv, "uncollectible"),
                Some((_, inv)) => {
                    let rev = format!("{inv}/r{counter}");
                    let revision = (rev.as_str(), "INV-R", amount(next(20) + 1), day + chrono::TimeDelta::days(30));
                    let revision = if next(2) == 0 { Some(revision) } else { None };
                    plan::void(&book, &c, inv, (&format!("{inv}/credit"), &format!("CN-V{counter}")), revision)
                }
                None => Ok(Vec::new()),
            },
            _ => {
                day += chrono::TimeDelta::days(next(20) as i64);
                Ok(Vec::new())
            }
        };
        // Acts the ledger refuses (a reversal twice, a refund of credit already used)
        // append nothing, as in the product.
        if let Ok(new) = done {
            all.extend(new);
        }
    }
    assert!(all.len() > 200, "a real mix of entries: {}", all.len());
    // Appended in pieces, the way acts arrive.
    for part in all.chunks(37) {
        store.append_entries(part).await.unwrap();
    }
    // A source below zero (a payment reversed after part of it was refunded) is in the mix.
    let mut left: std::collections::HashMap<(String, tally_ledger::Source), Decimal> = Default::default();
    for e in &all {
        if let Some((source, change)) = e.gives() {
            *left.entry((e.customer.to_string(), source)).or_default() += change;
        }
    }
    assert!(left.values().any(|l| *l < Decimal::ZERO), "no source below zero");
    let kinds: std::collections::BTreeSet<&str> = all.iter().map(|e| e.kind_name()).collect();
    assert_eq!(kinds.len(), 8, "every kind of entry: {kinds:?}");
    let first: NaiveDate = "2025-12-31".parse().unwrap();
    let mut checked = 0;
    let mut when = first;
    while when <= day + chrono::TimeDelta::days(100) {
        let book = Book::as_of(&all, when);
        assert_eq!(store.totals(when, None).await.unwrap(), book.totals(None, when), "all on {when}");
        for who in customers {
            let who = CustomerId::new(who);
            assert_eq!(store.totals(when, Some(&who)).await.unwrap(), book.totals(Some(&who), when), "{who} on {when}");
        }
        checked += 1;
        when += chrono::TimeDelta::days(17);
    }
    assert!(checked > 10);
    let end = store.totals(day, None).await.unwrap();
    assert!(!end.open.is_empty() && !end.credit.is_empty() && end.balances.len() == 3, "{end:?}");
}

/// Entries written before their effects were stored (ledger migration 5): the defaults
/// the migration gives the new columns derive them from the kind, so old entries add
/// up like new ones; and copies of entries (not merged away yet) count once.
#[tokio::test(flavor = "multi_thread")]
async fn on_clickhouse_entries_written_before_the_effects_add_up() {
    let (store, db) = both_stores::clickhouse().await;
    let c = ctx("acme", "USD", "2026-11-01");
    let mut all =
        plan::invoice(&Book::default(), &c, "inv-1", "INV-1", "100.00".parse().unwrap(), "2026-12-01".parse().unwrap())
            .unwrap();
    all.extend(plan::payment(&Book::all(&all), &c, "pay|\"1\"", "130.00".parse().unwrap(), &[]).unwrap());
    all.extend(
        plan::refund(
            &Book::all(&all),
            &c,
            &tally_ledger::Source::Payment("pay|\"1\"".into()),
            "rf-1",
            "10.00".parse().unwrap(),
        )
        .unwrap(),
    );
    all.extend(
        plan::invoice(&Book::all(&all), &c, "inv-2", "INV-2", "50.00".parse().unwrap(), "2026-12-01".parse().unwrap())
            .unwrap(),
    );
    all.extend(
        plan::credit_note(&Book::all(&all), &c, "inv-2", ("cn-1", "CN-1"), "5.00".parse().unwrap(), "dispute").unwrap(),
    );
    all.extend(plan::write_off(&Book::all(&all), &c, "inv-2", "small").unwrap());
    all.extend(
        plan::invoice(&Book::all(&all), &c, "inv-3", "INV-3", "70.00".parse().unwrap(), "2026-12-01".parse().unwrap())
            .unwrap(),
    );
    all.extend(plan::payment(&Book::all(&all), &c, "pay-2", "30.00".parse().unwrap(), &[]).unwrap());
    assert_eq!(all.len(), 11, "{all:#?}");
    for e in &all {
        let kind = serde_json::to_string(&e.kind).unwrap();
        let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
        let sql = format!(
            "INSERT INTO {}.ledger_entries (entry_id, customer, currency, effective, recorded_at_ms, amount, kind, memo) \
             VALUES ({}, 'acme', 'USD', '{}', 0, {}, {}, '')",
            db.name(),
            quote(&e.id),
            e.effective,
            e.amount,
            quote(&kind)
        );
        db.client().query(&sql.replace('?', "??")).execute().await.unwrap();
    }
    let day: NaiveDate = "2026-12-31".parse().unwrap();
    let got = store.totals(day, None).await.unwrap();
    assert_eq!(got, Book::all(&all).totals(None, day));
    assert_eq!(
        got.balances.values().copied().sum::<Decimal>(),
        "20.00".parse::<Decimal>().unwrap(),
        "220 invoiced, 160 paid, 10 refunded, 5 credited, 45 written off"
    );
    assert_eq!(got.open.len(), 1, "{got:?}");
    assert_eq!(
        got.open[0].owed,
        "40.00".parse::<Decimal>().unwrap(),
        "INV-3: 70 less 30 paid (credit is not applied by itself)"
    );
    // Two writers appending the same entries at once leave copies until the parts
    // merge: every copy counts once.
    let copy = format!("INSERT INTO {0}.ledger_entries SELECT * FROM {0}.ledger_entries", db.name());
    db.client().query(&copy).execute().await.unwrap();
    let rows: u64 =
        db.client().query(&format!("SELECT count() FROM {}.ledger_entries", db.name())).fetch_one().await.unwrap();
    assert_eq!(rows, 22, "each entry twice");
    assert_eq!(store.totals(day, None).await.unwrap(), got, "copies counted once");
    let one = CustomerId::new("acme");
    assert_eq!(store.totals(day, Some(&one)).await.unwrap(), got);
}

/// One append of 20,000 customers' invoices (what a close writes): the check for ids
/// stored already must not become one query over the server's size limit (a single
/// `IN` list of 20,000 customers is about 600 KiB); appended again, nothing is new.
async fn a_close_sized_append_is_checked_and_stored_once(store: &impl LedgerStore) {
    let due: NaiveDate = "2026-12-31".parse().unwrap();
    let entries: Vec<Entry> = (0..20_000)
        .flat_map(|i| {
            let c = ctx(&format!("customer-with-a-long-id-{i:06}"), "USD", "2026-11-30");
            plan::invoice(
                &Book::default(),
                &c,
                &format!("sub-{i:06}@1793491200000"),
                &format!("INV-{i:06}"),
                "9.00".parse().unwrap(),
                due,
            )
            .unwrap()
        })
        .collect();
    // A third of them first, spread over every chunk's range of customers: the check
    // must find exactly those among the 20,000 (an id is looked for within its chunk's
    // customers, and other customers inside that range must not hide or add one).
    let third: Vec<Entry> = entries.iter().step_by(3).cloned().collect();
    assert_eq!(store.append_entries(&third).await.unwrap(), 6_667);
    assert_eq!(store.append_entries(&entries).await.unwrap(), 13_333, "only the ones not stored yet");
    assert_eq!(store.append_entries(&entries).await.unwrap(), 0, "appended again: nothing new");
    let day: NaiveDate = "2026-12-01".parse().unwrap();
    assert_eq!(store.totals(day, None).await.unwrap().open.len(), 20_000);
}
