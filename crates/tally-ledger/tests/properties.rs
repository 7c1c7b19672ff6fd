//! Random sequences of billing acts (issue, pay, partial pay, overpay, void with and
//! without revision, partial credit, reversal, refund, write-off, apply credit) on two
//! customers in two currencies. After every act the books close: per customer and
//! currency, what the invoices still owe equals the balance plus the unapplied credit;
//! nothing owes or holds less than zero; no payment reference counts twice; a book as
//! of a day never changes when later-dated acts are appended; an act done twice
//! appends nothing the second time.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tally_domain::{Currency, CustomerId};
use tally_ledger::plan::{self, Context};
use tally_ledger::{Book, Entry, EntryKind, Source};

#[derive(Debug, Clone)]
enum Op {
    Issue { amount: u32 },
    Pay { cents: u32, target: Option<u8> },
    Void { target: u8, revise: Option<u32> },
    Credit { target: u8, cents: u32 },
    Reverse { payment: u8 },
    Refund { cents: u32 },
    WriteOff { target: u8 },
    Apply,
    Wait { days: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u32..5_000).prop_map(|amount| Op::Issue { amount }),
        4 => (1u32..600_000, proptest::option::of(0u8..8)).prop_map(|(cents, target)| Op::Pay { cents, target }),
        2 => (0u8..8, proptest::option::of(0u32..6_000)).prop_map(|(target, revise)| Op::Void { target, revise }),
        1 => (0u8..8, 1u32..300_000).prop_map(|(target, cents)| Op::Credit { target, cents }),
        1 => (0u8..8).prop_map(|payment| Op::Reverse { payment }),
        1 => (1u32..100_000).prop_map(|cents| Op::Refund { cents }),
        1 => (0u8..8).prop_map(|target| Op::WriteOff { target }),
        1 => Just(Op::Apply),
        2 => (0u8..20).prop_map(|days| Op::Wait { days }),
    ]
}

struct World {
    entries: Vec<Entry>,
    today: NaiveDate,
    issued: Vec<(CustomerId, Currency, String)>,
    payments: Vec<(CustomerId, Currency, String)>,
    counter: u32,
}

fn usd() -> Currency {
    "USD".parse().unwrap()
}

fn jpy() -> Currency {
    "JPY".parse().unwrap()
}

impl World {
    fn ctx(&self, customer: &CustomerId, currency: Currency) -> Context {
        let recorded_at: DateTime<Utc> = self.today.and_hms_opt(12, 0, 0).unwrap().and_utc();
        Context {
            customer: customer.clone(),
            currency,
            day: self.today,
            today: self.today,
            recorded_at,
            memo: String::new(),
        }
    }

    /// Runs the act twice: the second time must append nothing.
    fn apply(&mut self, act: impl Fn(&Book) -> Result<Vec<Entry>, tally_ledger::LedgerError>) -> Vec<Entry> {
        let book = Book::all(&self.entries);
        let Ok(new) = act(&book) else { return Vec::new() };
        self.entries.extend(new.iter().cloned());
        let again = act(&Book::all(&self.entries)).unwrap_or_default();
        let ids: std::collections::HashSet<&str> = self.entries.iter().map(|e| e.id.as_str()).collect();
        assert!(again.iter().all(|e| ids.contains(e.id.as_str())), "an act done twice appended new entries: {again:?}");
        new
    }

    fn step(&mut self, op: &Op, who: usize) {
        let customers = [CustomerId::new("acme"), CustomerId::new("beta")];
        let (customer, currency) = (&customers[who % 2], if who % 2 == 0 { usd() } else { jpy() });
        let scale = if currency == jpy() { 0 } else { 2 };
        let money = |cents: u32| Decimal::new(i64::from(cents), scale);
        self.counter += 1;
        let n = self.counter;
        let ctx = self.ctx(customer, currency);
        let pick = |list: &[(CustomerId, Currency, String)], i: u8| {
            let mine: Vec<&String> = list.iter().filter(|(c, _, _)| c == customer).map(|(_, _, d)| d).collect();
            (!mine.is_empty()).then(|| mine[usize::from(i) % mine.len()].clone())
        };
        match op {
            Op::Issue { amount } => {
                let doc = format!("inv-{n}");
                let due = self.today + TimeDelta::days(30);
                let new = self.apply(|b| plan::invoice(b, &ctx, &doc, &format!("INV-{n}"), money(*amount * 100), due));
                if !new.is_empty() {
                    self.issued.push((customer.clone(), currency, doc));
                }
            }
            Op::Pay { cents, target } => {
                let reference = format!("ref-{n}");
                let to: Vec<String> = target.and_then(|t| pick(&self.issued, t)).into_iter().collect();
                let new = self.apply(|b| plan::payment(b, &ctx, &reference, money(*cents), &to));
                if !new.is_empty() {
                    self.payments.push((customer.clone(), currency, reference));
                }
            }
            Op::Void { target, revise } => {
                let Some(doc) = pick(&self.issued, *target) else { return };
                let book = Book::all(&self.entries);
                let Some(original) = book.invoice(&doc) else { return };
                if original.owed + book.allocations_to(customer, &doc).iter().map(|a| a.1).sum::<Decimal>()
                    != original.amount
                {
                    return; // written off in part: refused, checked below
                }
                let voided = Book::all(&self.entries).open(None).len();
                let revision = revise.map(|r| (format!("{doc}/r{n}"), format!("INV-R{n}"), money(r * 100 + 100)));
                let due = self.today + TimeDelta::days(30);
                let new = self.apply(|b| {
                    let rev = revision.as_ref().map(|(d, num, a)| (d.as_str(), num.as_str(), *a, due));
                    plan::void(b, &ctx, &doc, (&format!("cn-{n}"), &format!("CN-{n}")), rev)
                });
                let _ = voided;
                if let Some((rev, _, _)) = revision.filter(|_| !new.is_empty()) {
                    self.issued.push((customer.clone(), currency, rev));
                }
                let after = Book::all(&self.entries);
                if !new.is_empty() {
                    assert_eq!(after.invoice(&doc).unwrap().owed, Decimal::ZERO, "a voided invoice owes nothing");
                    assert!(after
                        .allocations_to(customer, &doc)
                        .iter()
                        .all(|(s, _)| matches!(s, Source::CreditNote(_))));
                }
            }
            Op::Credit { target, cents } => {
                let Some(doc) = pick(&self.issued, *target) else { return };
                self.apply(|b| {
                    plan::credit_note(
                        b,
                        &ctx,
                        &doc,
                        (&format!("pcn-{n}"), &format!("CN-P{n}")),
                        money(*cents),
                        "dispute",
                    )
                });
            }
            Op::Reverse { payment } => {
                let Some(reference) = pick(&self.payments, *payment) else { return };
                self.apply(|b| plan::reverse_payment(b, &ctx, &reference, "bounced"));
            }
            Op::Refund { cents } => {
                let book = Book::all(&self.entries);
                let Some((source, _)) = self
                    .payments
                    .iter()
                    .filter(|(c, _, _)| c == customer)
                    .map(|(_, _, r)| Source::Payment(r.clone()))
                    .filter_map(|s| book.available(customer, &s).map(|a| (s, a)))
                    .find(|(_, a)| *a > Decimal::ZERO)
                else {
                    return;
                };
                self.apply(|b| plan::refund(b, &ctx, &source, &format!("rf-{n}"), money(*cents)));
            }
            Op::WriteOff { target } => {
                let Some(doc) = pick(&self.issued, *target) else { return };
                self.apply(|b| plan::write_off(b, &ctx, &doc, "uncollectable"));
            }
            Op::Apply => {
                let act = format!("apply-{n}");
                self.apply(|b| Ok(plan::apply_credit(b, &ctx, &act)));
            }
            Op::Wait { days } => self.today += TimeDelta::days(i64::from(*days)),
        }
    }

    fn check(&self) {
        let book = Book::all(&self.entries);
        for (customer, currency, balance) in book.balances() {
            let owed: Decimal =
                book.invoices(Some(customer)).iter().filter(|d| d.currency == currency).map(|d| d.owed).sum();
            assert_eq!(
                owed,
                balance + book.unapplied(customer, currency),
                "{customer} {currency}: the books do not close"
            );
        }
        for doc in book.invoices(None) {
            assert!(doc.owed >= Decimal::ZERO, "{} owes {}", doc.number, doc.owed);
        }
        // Stores return entries by day, not in the order of the acts: the book is a sum.
        let reversed = Book::all(self.entries.iter().rev());
        for doc in book.invoices(None) {
            assert_eq!(reversed.invoice(&doc.document).map(|d| d.owed), Some(doc.owed), "order changed {}", doc.number);
        }
        assert_eq!(reversed.balances().collect::<Vec<_>>(), book.balances().collect::<Vec<_>>());
        let mut references = std::collections::HashSet::new();
        for e in &self.entries {
            if let EntryKind::Payment { reference } = &e.kind {
                assert!(references.insert((e.customer.clone(), reference.clone())), "{reference} counted twice");
                let available = book.available(&e.customer, &Source::Payment(reference.clone())).unwrap();
                let reversed = self.entries.iter().any(|r| {
                    matches!(&r.kind, EntryKind::PaymentReversal { reference: x, .. } if x == reference)
                        && r.customer == e.customer
                });
                assert!(available >= Decimal::ZERO || reversed, "{reference} gave more than it had: {available}");
            }
            assert!(e.amount > Decimal::ZERO && e.amount.normalize().scale() <= e.currency.minor_units(), "{e:?}");
        }
        let ids: std::collections::HashSet<&str> = self.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), self.entries.len(), "entry ids are unique");
        // Stores that add up in SQL use each entry's effects (`owes`, `gives`,
        // `balance_effect`): summed, they are the book's figures.
        let mut owes: std::collections::HashMap<&str, Decimal> = Default::default();
        let mut gives: std::collections::HashMap<(CustomerId, Source), Decimal> = Default::default();
        for e in &self.entries {
            if let Some((doc, change)) = e.owes() {
                *owes.entry(doc).or_default() += change;
            }
            if let Some((source, change)) = e.gives() {
                *gives.entry((e.customer.clone(), source)).or_default() += change;
            }
        }
        for doc in book.invoices(None) {
            assert_eq!(owes.get(doc.document.as_str()).copied(), Some(doc.owed), "owes of {}", doc.number);
        }
        for ((customer, source), left) in &gives {
            assert_eq!(book.available(customer, source), Some(*left), "gives of {source:?}");
        }
        let totals = book.totals(None, self.today);
        let open: Decimal = totals.open.iter().map(|d| d.owed).sum();
        let credit: Decimal = totals.credit.values().sum();
        let aging = book.aging(None, self.today);
        assert_eq!(aging.iter().map(|r| r.owed()).sum::<Decimal>(), open);
        assert_eq!(aging.iter().map(|r| r.unapplied_credit).sum::<Decimal>(), credit);
        let positive: Decimal = gives.values().filter(|v| **v > Decimal::ZERO).sum();
        assert_eq!(credit, positive, "credit is the sources with some left");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn the_books_always_close(ops in proptest::collection::vec((op(), 0usize..2), 1..60)) {
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut world = World { entries: Vec::new(), today: start, issued: Vec::new(), payments: Vec::new(), counter: 0 };
        // The aging of each day as it ended (just before the clock moved on): what a day
        // looked like must not change when later-dated acts arrive.
        let mut snapshots: Vec<(NaiveDate, Vec<tally_ledger::AgingRow>, Decimal)> = Vec::new();
        for (op, who) in &ops {
            if matches!(op, Op::Wait { days } if *days > 0) {
                let day = world.today;
                let book = Book::as_of(&world.entries, day);
                let acme = book.balance(&CustomerId::new("acme"), usd());
                snapshots.push((day, book.aging(None, day), acme));
            }
            world.step(op, *who);
            world.check();
        }
        for (day, aging, acme) in &snapshots {
            let book = Book::as_of(&world.entries, *day);
            prop_assert_eq!(&book.aging(None, *day), aging);
            prop_assert_eq!(book.balance(&CustomerId::new("acme"), usd()), *acme);
        }
    }
}
