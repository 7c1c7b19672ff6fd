//! The books at scale: 100,000 invoices of one month (USD, EUR and JPY customers, fees
//! and four usage lines each, every one owed in the ledger, a third of them paid) in an
//! embedded store, with EUR as the reporting currency and a month of ECB-layout rates.
//! Measured: reading the month's books from the store (`tally_invoicer::books::source`),
//! each accounting export, the report, and its workbook; and all of it end to end, as
//! `tally export` and `tally report` do.
//!
//! `cargo bench -p tally-benches --bench books` (`-- 10000` for a smaller month;
//! `-- --keep DIR` keeps the store as `DIR/tally.db`, to time `tally export` and `tally
//! report` on it as their own processes, as docs/benchmarks.md does; `-- --clickhouse
//! URL` runs it on ClickHouse instead, in the database `tally_bench_books`, made anew
//! and kept)

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_books::exports::{export, ExportOptions, Format};
use tally_domain::{Catalog, Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};
use tally_invoicer::exchange::Reporting;
use tally_invoicer::receivables::Terms;
use tally_invoicing::{compose, InvoiceState};
use tally_rating::ChargeUsage;
use tally_store::clickhouse::ClickHouseStore;
use tally_store::embedded::EmbeddedStore;
use tally_store::{AccountStore, InvoiceRecord, InvoiceStore, LedgerStore, RateStore};

// As the `tally` binary (crates/tally/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let keep = args.iter().position(|a| a == "--keep").and_then(|i| args.get(i + 1)).map(std::path::PathBuf::from);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/catalog.toml");
    let catalog = Catalog::load(std::path::Path::new(path)).expect("the sample catalog");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    if let Some(url) = args.iter().position(|a| a == "--clickhouse").and_then(|i| args.get(i + 1)) {
        let config = tally_store::clickhouse::ClickHouseConfig {
            url: url.clone(),
            database: "tally_bench_books".into(),
            ..Default::default()
        };
        // Made anew: opened (created), dropped with what an earlier run left, opened.
        let old = runtime.block_on(ClickHouseStore::open(&config)).expect("ClickHouse (deploy/local/services up)");
        runtime.block_on(old.client().query("DROP DATABASE tally_bench_books").execute()).expect("dropped");
        let store = runtime.block_on(ClickHouseStore::open(&config)).expect("the store");
        return bench(&runtime, &store, n, &catalog);
    }
    let dir = tempfile::tempdir().expect("a directory");
    let file = match &keep {
        Some(kept) => {
            std::fs::create_dir_all(kept).expect("the directory to keep the store in");
            let file = kept.join("tally.db");
            assert!(!file.exists(), "{} exists: give --keep an empty directory", file.display());
            file
        }
        None => dir.path().join("tally.db"),
    };
    let store = EmbeddedStore::open(&file).expect("the store");
    bench(&runtime, &store, n, &catalog);
}

/// Stores a month of `n` invoices in `store`, then reads and writes the books twice.
fn bench<S>(runtime: &tokio::runtime::Runtime, store: &S, n: usize, catalog: &Catalog)
where
    S: AccountStore + InvoiceStore + LedgerStore + RateStore,
{
    let issued: DateTime<Utc> = "2026-11-02T09:00:00Z".parse().expect("a time");
    let reporting = Reporting { currency: "EUR".parse().expect("EUR"), max_age_days: 7 };

    let mut rates = String::from("Date,USD,JPY,\n");
    for day in 1..=30 {
        rates.push_str(&format!("2026-11-{day:02},1.08{day:02},161.{day:02},\n"));
    }
    let rates = tally_domain::fx::file::parse(&rates).expect("rates").rates;
    runtime.block_on(store.put_rates(&rates)).expect("rates stored");
    let book = tally_domain::RateBook::new(rates);

    let loading = Instant::now();
    let places = [("USD", "America/New_York", "pro"), ("EUR", "Europe/Berlin", "pro_eu"), ("USD", "Asia/Tokyo", "pro")];
    let mut customers = Vec::new();
    let mut records = Vec::new();
    let mut entries = Vec::new();
    for i in 0..n {
        let (currency, zone, plan) = places[i % places.len()];
        let customer = Customer {
            id: CustomerId::new(format!("customer-{i:06}")),
            name: format!("Customer {i}"),
            currency: currency.parse().expect("currency"),
            timezone: zone.parse().expect("zone"),
            billing_details: BTreeMap::from([("email".to_owned(), format!("ap@c{i}.example"))]),
        };
        let start = "2026-10-01T00:00:00Z".parse().expect("a time");
        let subscription = Subscription {
            id: SubscriptionId::new(format!("sub-{i:06}")),
            customer: customer.id.clone(),
            start,
            end: None,
            anchor: "2026-10-01".parse().expect("a date"),
            phases: vec![Phase { plan: PlanKey::new(plan), from: start }],
        };
        let q = |n: usize| Decimal::from(n as i64);
        let usage: ChargeUsage = [
            ("gpt4o_input".to_owned(), vec![(BTreeMap::new(), q(3_500_000 + i * 7))]),
            ("gpt4o_output".to_owned(), vec![(BTreeMap::new(), q(1_200_000 + i * 3))]),
            ("h100_hours".to_owned(), vec![(BTreeMap::new(), q(720_000 + i * 360))]),
            ("training_sessions".to_owned(), vec![(BTreeMap::new(), q(40 + i % 9))]),
        ]
        .into_iter()
        .collect();
        let mut invoice = compose(catalog, &customer, &subscription, 0, &[&usage], &[]).expect("composes");
        invoice.state = InvoiceState::Issued;
        let number = format!("INV-2026-{i:06}");
        invoice.number = Some(number.clone());
        invoice.issued_at = Some(issued);
        invoice.due = Some("2026-12-02".parse().expect("a day"));
        invoice.exchange =
            Some(book.exchange(invoice.currency, reporting.currency, issued.date_naive(), 7).expect("a rate"));
        let due = invoice.due.expect("due");
        entries.extend(
            tally_invoicer::receivables::invoice_entry(
                due,
                &customer.id,
                invoice.currency,
                &invoice.id,
                &number,
                invoice.total,
                issued,
            )
            .expect("an entry"),
        );
        records.push(InvoiceRecord {
            id: invoice.id.clone(),
            number: Some(number),
            customer: customer.id.clone(),
            subscription: subscription.id.clone(),
            period: invoice.period,
            currency: invoice.currency.code().to_owned(),
            state: InvoiceState::Issued,
            total: invoice.total,
            issued_at: Some(issued),
            body: serde_json::to_string(&invoice).expect("json"),
            lines: Vec::new(),
            reporting: invoice.exchange.as_ref().map(|x| tally_store::ReportedTotal {
                currency: x.currency.to_string(),
                total: x.convert(invoice.total),
            }),
        });
        customers.push(customer);
    }
    for chunk in records.chunks(10_000) {
        runtime.block_on(store.put_invoices(chunk, "INV-")).expect("invoices stored");
    }
    runtime.block_on(store.put_customers(&customers)).expect("customers stored");
    runtime.block_on(store.append_entries(&entries)).expect("entries stored");
    println!("{n} invoices stored in {:.1?}", loading.elapsed());
    // What was stored is read back below: the bench does not keep its own copy.
    drop((records, customers, entries));

    let terms = Terms { payment_terms: chrono::TimeDelta::days(30), reporting: Some(reporting) };
    let (from, to) = ("2026-11-01".parse().expect("a day"), "2026-11-30".parse().expect("a day"));
    let options = ExportOptions {
        date_order: String::new(),
        receivable_account: "Accounts Receivable".into(),
        deposit_account: "Undeposited Funds".into(),
        tax_account: "Sales Tax Payable".into(),
        currency: None,
    };
    for round in 1..=2 {
        // Where the read goes: each store call on its own.
        let lap = Instant::now();
        let filter = tally_store::InvoiceFilter {
            issued_from: Some("2026-11-01T00:00:00Z".parse().expect("a time")),
            issued_to: Some("2026-12-01T00:00:00Z".parse().expect("a time")),
            ..Default::default()
        };
        let records = runtime.block_on(store.invoices(&filter)).expect("invoices");
        let invoices = lap.elapsed();
        let lap = Instant::now();
        let parsed = records.iter().map(|r| tally_invoicer::read_invoice(r).expect("a body")).count();
        let parse = lap.elapsed();
        let lap = Instant::now();
        let figures = records
            .iter()
            .map(|r| serde_json::from_str::<tally_invoicing::DocumentFigures>(&r.body).expect("a body"))
            .count();
        let figures_parse = lap.elapsed();
        let lap = Instant::now();
        let entries = runtime.block_on(store.entries(None)).expect("entries").len();
        let entries_read = lap.elapsed();
        let lap = Instant::now();
        runtime.block_on(store.totals(to, None)).expect("totals");
        let totals = lap.elapsed();
        let lap = Instant::now();
        runtime.block_on(store.customers()).expect("customers");
        let customers = lap.elapsed();
        println!(
            "  of which: {} invoice rows {invoices:.2?}, {parsed} bodies parsed whole on one core {parse:.2?}, \
             {figures} read as figures on one core {figures_parse:.2?}, \
             {entries} entries {entries_read:.2?}, totals {totals:.2?}, customers {customers:.2?}",
            records.len()
        );
        drop(records);
        let started = Instant::now();
        let source =
            runtime.block_on(tally_invoicer::books::source(store, catalog, from, to, terms)).expect("the books");
        let read = started.elapsed();
        println!(
            "round {round}: read {} documents, {} entries from the store: {read:.2?}",
            source.documents.len(),
            source.entries.len()
        );
        for (format, name) in Format::ALL {
            let mut options = options.clone();
            if format == Format::Iif {
                options.currency = Some("USD".parse().expect("USD"));
            }
            let t = Instant::now();
            let done = export(format, &source, &options).expect("the export");
            let bytes: usize = done.files.iter().map(|f| f.content.len()).sum();
            println!(
                "  export {name:<10} {:>4} files {:>10} bytes: {:.2?} (with the read: {:.2?})",
                done.files.len(),
                bytes,
                t.elapsed(),
                t.elapsed() + read
            );
        }
        let t = Instant::now();
        let report = tally_books::report::build(&source).expect("the report");
        let built = t.elapsed();
        let json = serde_json::to_vec(&report).expect("json");
        let t2 = Instant::now();
        let xlsx = tally_books::report::workbook(&report).expect("the workbook");
        println!(
            "  report: built {built:.2?} ({} bytes JSON), workbook {:.2?} ({} bytes); with the read: {:.2?}",
            json.len(),
            t2.elapsed(),
            xlsx.len(),
            read + built + t2.elapsed()
        );
    }
}
