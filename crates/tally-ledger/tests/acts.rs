//! The acts of issue #18's findings, one by one, on the ledger itself.

use chrono::{NaiveDate, TimeDelta};
use rust_decimal::Decimal;
use tally_domain::{Currency, CustomerId};
use tally_ledger::plan::{self, Context};
use tally_ledger::{Book, Entry, LedgerError, Source, Statement};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn ctx(currency: &str, on: &str) -> Context {
    Context {
        customer: CustomerId::new("acme"),
        currency: currency.parse::<Currency>().unwrap(),
        day: day(on),
        today: day("2026-12-01"),
        recorded_at: day(on).and_hms_opt(9, 0, 0).unwrap().and_utc(),
        memo: String::new(),
    }
}

/// Runs an act on the book of `entries` and appends what it returns.
fn append(entries: &mut Vec<Entry>, act: impl FnOnce(&Book) -> Result<Vec<Entry>, LedgerError>) {
    let new = act(&Book::all(entries.iter())).unwrap();
    entries.extend(new);
}

#[test]
fn a_void_with_revision_keeps_the_payment_and_the_reference_counts_once() {
    let mut e = Vec::new();
    let c = ctx("USD", "2026-11-01");
    append(&mut e, |b| plan::invoice(b, &c, "inv-4", "INV-000004", d("5500.00"), day("2026-12-01")));
    let paid = ctx("USD", "2026-11-10");
    append(&mut e, |b| plan::payment(b, &paid, "ACH-acme-1", d("3000.00"), &[]));
    let v = ctx("USD", "2026-11-20");
    let revision = Some(("inv-4/r1", "INV-000009", d("5500.00"), day("2026-12-20")));
    append(&mut e, |b| plan::void(b, &v, "inv-4", ("cn-1", "CN-000001"), revision));
    let book = Book::all(&e);
    assert_eq!(book.invoice("inv-4").unwrap().owed, Decimal::ZERO, "the voided invoice owes nothing");
    assert_eq!(book.invoice("inv-4/r1").unwrap().owed, d("2500.00"), "the revision owes what is left");
    assert_eq!(book.balance(&c.customer, c.currency), d("2500.00"), "the customer owes 2500, not 5500");
    assert_eq!(
        book.allocations_to(&c.customer, "inv-4/r1"),
        vec![(Source::Payment("ACH-acme-1".into()), d("3000.00"))]
    );
    // The same bank line again: nothing new; with another amount: refused.
    assert!(plan::payment(&book, &paid, "ACH-acme-1", d("3000.00"), &[]).unwrap().is_empty());
    let again = plan::payment(&book, &paid, "ACH-acme-1", d("2500.00"), &["inv-4/r1".into()]);
    assert!(matches!(again, Err(LedgerError::Reference { .. })), "{again:?}");
    // A void without revision leaves the money as credit.
    let mut e2 = e[..2].to_vec();
    append(&mut e2, |b| plan::void(b, &v, "inv-4", ("cn-1", "CN-000001"), None));
    let book = Book::all(&e2);
    assert_eq!(book.unapplied(&c.customer, c.currency), d("3000.00"));
    assert_eq!(book.balance(&c.customer, c.currency), d("-3000.00"), "a credit balance");
}

#[test]
fn amounts_are_held_to_the_minor_unit_and_payments_are_not_dated_ahead() {
    let e: Vec<Entry> = Vec::new();
    let book = Book::all(&e);
    for (currency, amount) in [("EUR", "10.005"), ("JPY", "0.5"), ("USD", "-1"), ("USD", "0")] {
        let r = plan::payment(&book, &ctx(currency, "2026-11-10"), "r", d(amount), &[]);
        assert!(matches!(r, Err(LedgerError::Amount { .. })), "{currency} {amount}: {r:?}");
    }
    assert!(plan::payment(&book, &ctx("KWD", "2026-11-10"), "r", d("1.005"), &[]).is_ok(), "KWD has 3 decimals");
    for reference in ["", "  ", "ACH\u{0}1", "ACH\u{1b}[31m"] {
        let r = plan::payment(&book, &ctx("USD", "2026-11-10"), reference, d("1"), &[]);
        assert!(matches!(r, Err(LedgerError::Invalid { field: "reference", .. })), "{reference:?}: {r:?}");
    }
    let r = plan::payment(&book, &ctx("USD", "2027-06-01"), "r", d("1"), &[]);
    assert!(matches!(r, Err(LedgerError::Date { field: "received_on", .. })), "{r:?}");
}

#[test]
fn aging_as_of_a_day_counts_only_what_was_dated_by_then() {
    let mut e = Vec::new();
    let c = ctx("USD", "2026-09-01");
    append(&mut e, |b| plan::invoice(b, &c, "inv-1", "INV-1", d("100.00"), day("2026-10-01")));
    append(&mut e, |b| plan::payment(b, &ctx("USD", "2026-11-20"), "wire", d("100.00"), &[]));
    let before = Book::as_of(&e, day("2026-11-01")).aging(None, day("2026-11-01"));
    assert_eq!(before[0].owed(), d("100.00"), "the payment of Nov 20 is not in the aging of Nov 1");
    assert_eq!(before[0].buckets[2], (d("100.00"), 1), "31 days past due");
    let after = Book::as_of(&e, day("2026-11-30")).aging(None, day("2026-11-30"));
    assert!(after.is_empty(), "nothing owed and no credit left: {after:?}");
}

#[test]
fn a_reversal_reopens_what_the_payment_paid_and_a_refund_comes_out_of_credit() {
    let mut e = Vec::new();
    let c = ctx("USD", "2026-11-01");
    append(&mut e, |b| plan::invoice(b, &c, "inv-1", "INV-1", d("60.00"), day("2026-12-01")));
    append(&mut e, |b| plan::payment(b, &ctx("USD", "2026-11-02"), "chk-7", d("100.00"), &[]));
    assert_eq!(Book::all(&e).unapplied(&c.customer, c.currency), d("40.00"), "overpaid: credit, not an error");
    let refund =
        plan::refund(&Book::all(&e), &ctx("USD", "2026-11-03"), &Source::Payment("chk-7".into()), "rf-1", d("50"));
    assert!(matches!(refund, Err(LedgerError::Refused(_))), "only the 40 not allocated can be refunded");
    append(&mut e, |b| plan::refund(b, &ctx("USD", "2026-11-03"), &Source::Payment("chk-7".into()), "rf-1", d("40")));
    append(&mut e, |b| plan::reverse_payment(b, &ctx("USD", "2026-11-05"), "chk-7", "bounced"));
    let book = Book::all(&e);
    assert_eq!(book.invoice("inv-1").unwrap().owed, d("60.00"), "the invoice owes again");
    assert_eq!(
        book.balance(&c.customer, c.currency),
        d("100.00"),
        "60 owed and the 40 refunded out of money that never came"
    );
    let statement = Statement::of(&e, &c.customer, c.currency, day("2026-11-01"), day("2026-11-30"));
    assert_eq!(statement.opening, Decimal::ZERO);
    let kinds: Vec<(&str, String)> = statement.lines.iter().map(|l| (l.kind, l.amount.to_string())).collect();
    assert_eq!(
        kinds,
        [
            ("invoice", "60.00".into()),
            ("payment", "-100.00".into()),
            ("refund", "40.00".into()),
            ("payment_reversal", "100.00".into())
        ]
        .map(|(k, a): (&str, String)| (k, a))
    );
    assert_eq!(statement.closing, d("100.00"));
    let _ = TimeDelta::days(1);
}
