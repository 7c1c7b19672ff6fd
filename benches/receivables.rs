//! Receivables at scale on ClickHouse (the ledger issue's target): 100,000 customers
//! with 12 months of invoices and payments in the ledger (about 3.5 M entries: each
//! month an invoice, a payment and its allocation; the 11th month paid in part, the
//! 12th not yet, one customer in ten paying 25.00 too much once), then timed alone:
//! aging and every customer's balance for all customers as of a day (the store adds
//! the entries up in SQL, `LedgerStore::totals`), and one customer's statement.
//!
//! Run: `deploy/local/services up && cargo bench -p tally-benches --bench receivables`
//! Size: `TALLY_BENCH_CUSTOMERS` (default 100,000), `TALLY_BENCH_MONTHS` (12);
//! `TALLY_BENCH_KEEP=1` keeps the database (to try queries on it).
//! Results: docs/benchmarks.md.

use std::time::{Duration, Instant};

use chrono::{DateTime, Months, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use tally_domain::{Currency, CustomerId};
use tally_ledger::plan::{self, Context};
use tally_ledger::{Book, Entry};
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::LedgerStore;
use tally_tests::{clickhouse_url, unique_name};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One customer's year: what the plan functions append, act by act.
fn year(customer: &CustomerId, index: u64, months: u32, first: NaiveDate) -> Vec<Entry> {
    let usd: Currency = "USD".parse().expect("USD");
    let mut entries: Vec<Entry> = Vec::new();
    let at = |day: NaiveDate| -> DateTime<Utc> { Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).expect("noon")) };
    let ctx = |day: NaiveDate| Context {
        customer: customer.clone(),
        currency: usd,
        day,
        today: day,
        recorded_at: at(day),
        memo: String::new(),
    };
    for m in 0..months {
        let issued = first.checked_add_months(Months::new(m)).expect("a month");
        let amount = Decimal::new(10_000 + ((index * 7 + u64::from(m) * 13) % 90_000) as i64, 2);
        let id = format!("{customer}@{m}");
        let number = format!("INV-{:07}", index * u64::from(months) + u64::from(m));
        let due = issued + chrono::TimeDelta::days(30);
        let book = Book::all(&entries);
        entries.extend(plan::invoice(&book, &ctx(issued), &id, &number, amount, due).expect("invoice"));
        let paid_on = issued + chrono::TimeDelta::days(20);
        let pay = if m + 2 == months {
            amount / Decimal::TWO
        } else if m + 1 == months {
            continue;
        } else if index % 10 == 0 && m == 3 {
            amount + Decimal::new(2_500, 2)
        } else {
            amount
        };
        let pay = pay.round_dp(2);
        let book = Book::all(&entries);
        let reference = format!("ACH-{index}-{m}");
        entries.extend(plan::payment(&book, &ctx(paid_on), &reference, pay, &[]).expect("payment"));
    }
    entries
}

fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (Vec<Duration>, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(f());
        times.push(started.elapsed());
    }
    times.sort();
    (times, last.expect("at least one run"))
}

fn main() {
    let customers = env_u64("TALLY_BENCH_CUSTOMERS", 100_000);
    let months = env_u64("TALLY_BENCH_MONTHS", 12) as u32;
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let database = unique_name("tally_bench_receivables");
    let config = ClickHouseConfig { url: clickhouse_url(), database: database.clone(), ..Default::default() };
    let store = runtime.block_on(ClickHouseStore::open(&config)).expect("ClickHouse (deploy/local/services up)");
    let first: NaiveDate = "2025-12-01".parse().expect("a day");

    let loading = Instant::now();
    let mut total_entries = 0usize;
    let mut batch = Vec::new();
    for index in 0..customers {
        let customer = CustomerId::new(format!("cust-{index:06}"));
        batch.extend(year(&customer, index, months, first));
        if (index + 1) % 1_000 == 0 || index + 1 == customers {
            total_entries += runtime.block_on(store.append_entries(&batch)).expect("append");
            batch.clear();
        }
    }
    let loaded = loading.elapsed();
    println!("loaded {total_entries} entries for {customers} customers x {months} months in {loaded:.1?}");

    let day = first.checked_add_months(Months::new(months)).expect("the end") + chrono::TimeDelta::days(5);
    let parts = || -> u64 {
        let sql = format!(
            "SELECT count() FROM system.parts WHERE database = '{database}' AND table = 'ledger_entries' AND active"
        );
        runtime.block_on(store.client().query(&sql).fetch_one()).expect("parts")
    };
    // Right after loading (the parts not merged yet: the worst case), then with the
    // table merged into one part (what background merges tend to).
    for state in ["just loaded", "merged"] {
        if state == "merged" {
            let sql = "OPTIMIZE TABLE ledger_entries FINAL";
            runtime.block_on(store.client().query(sql).execute()).expect("optimize");
        }
        let parts = parts();
        let (times, totals) = timed(5, || runtime.block_on(store.totals(day, None)).expect("totals"));
        let aging = totals.aging(None);
        let owed: Decimal = aging.iter().map(|r| r.owed()).sum();
        println!(
            "aging + balances, all customers, as of {day}, {state} ({parts} parts): min {:.3?} median {:.3?} \
             max {:.3?} ({} open invoices, {} balances, owed {owed}, unapplied credit {})",
            times[0],
            times[times.len() / 2],
            times[times.len() - 1],
            totals.open.len(),
            totals.balances.len(),
            aging.iter().map(|r| r.unapplied_credit).sum::<Decimal>(),
        );
        let balance_sum: Decimal = totals.balances.values().sum();
        let credit: Decimal = totals.credit.values().sum();
        assert_eq!(balance_sum, owed - credit, "the books close over all customers");
        if months >= 2 {
            assert_eq!(totals.open.len() as u64, customers * 2, "the 11th (half paid) and 12th months are open");
        }
    }

    let one = CustomerId::new(format!("cust-{:06}", customers / 2));
    let usd: Currency = "USD".parse().expect("USD");
    let (times, statement) = timed(50, || {
        runtime.block_on(tally_invoicer::receivables::statement(&store, &one, usd, first, day)).expect("statement")
    });
    println!(
        "statement of one customer ({} lines): p50 {:.1?} p90 {:.1?} max {:.1?}",
        statement.lines.len(),
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[times.len() - 1],
    );
    let (times, aging_one) =
        timed(50, || runtime.block_on(store.totals(day, Some(&one))).expect("one customer's totals"));
    println!(
        "aging of one customer ({} open): p50 {:.1?} p90 {:.1?}",
        aging_one.open.len(),
        times[times.len() / 2],
        times[times.len() * 9 / 10]
    );
    if std::env::var_os("TALLY_BENCH_KEEP").is_some() {
        println!("kept database {database}");
        return;
    }
    runtime
        .block_on(store.client().query(&format!("DROP DATABASE {database}")).execute())
        .expect("dropping the bench database");
}
