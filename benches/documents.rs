//! Documents: the PDF (and the HTML page) of composed invoices, on one thread, for a
//! batch the size of the demo's month (300 invoices) and for 10,000. Customers rotate
//! through New York, Berlin and Tokyo (a Japanese legal name: its PDF embeds a subset
//! of Noto Sans CJK, the costliest case), each invoice with fees in advance and in
//! arrears and four usage lines (one graduated with its tiers).
//!
//! `cargo bench -p tally-benches --bench documents` (`-- 300` for the small batch only)

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use rust_decimal::Decimal;
use tally_domain::{Catalog, Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};
use tally_invoicing::document::{sheet, Issuer, Standing};
use tally_invoicing::{compose, Invoice, InvoiceState, Trail};
use tally_rating::ChargeUsage;

fn invoices(catalog: &Catalog, n: usize) -> Vec<(Invoice, Customer)> {
    let places = [
        ("USD", "America/New_York", "pro", vec![("country", "US"), ("region", "NY"), ("locale", "en-US")]),
        ("EUR", "Europe/Berlin", "pro_eu", vec![("country", "DE"), ("locale", "de-DE"), ("tax_id", "DE999999999")]),
        (
            "USD",
            "Asia/Tokyo",
            "pro",
            vec![("country", "JP"), ("locale", "ja-JP"), ("legal_name", "株式会社東京エーアイ")],
        ),
    ];
    (0..n)
        .map(|i| {
            let (currency, zone, plan, details) = &places[i % places.len()];
            let mut details: BTreeMap<String, String> =
                details.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            details.insert("address".into(), format!("{i} Example Street\nSpringfield"));
            let customer = Customer {
                id: CustomerId::new(format!("customer-{i:06}")),
                name: format!("Customer {i}"),
                currency: currency.parse().expect("currency"),
                timezone: zone.parse().expect("zone"),
                billing_details: details,
            };
            let start = "2026-10-01T00:00:00Z".parse().expect("a time");
            let subscription = Subscription {
                id: SubscriptionId::new(format!("sub-{i:06}")),
                customer: customer.id.clone(),
                start,
                end: None,
                anchor: "2026-10-01".parse().expect("a date"),
                phases: vec![Phase { plan: PlanKey::new(*plan), from: start }],
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
            invoice.number = Some(format!("INV-2026-{i:06}"));
            invoice.issued_at = Some("2026-11-02T09:00:00Z".parse().expect("a time"));
            (invoice, customer)
        })
        .collect()
}

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/catalog.toml");
    let catalog = Catalog::load(std::path::Path::new(path)).expect("the sample catalog");
    let fonts = tally_pdf::Fonts::load_present(&["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc".into()])
        .expect("the fonts");
    let issuer =
        Issuer { name: "Tally Cloud GmbH".into(), address: vec!["Friedrichstraße 1".into()], ..Default::default() };
    let only: Option<usize> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    for n in [300usize, 10_000].into_iter().filter(|n| only.is_none_or(|o| o == *n)) {
        let batch = invoices(&catalog, n);
        let sheets: Vec<_> = batch
            .iter()
            .map(|(inv, c)| {
                let standing = Standing { amount: inv.total, owed: inv.total };
                sheet(inv, c, &issuer, &Trail::default(), Some(standing)).expect("a sheet")
            })
            .collect();
        let started = Instant::now();
        let mut bytes = 0usize;
        for (inv, c) in &batch {
            let standing = Standing { amount: inv.total, owed: inv.total };
            let s = sheet(inv, c, &issuer, &Trail::default(), Some(standing)).expect("a sheet");
            bytes += black_box(tally_pdf::pdf(&s, &fonts).expect("a PDF")).len();
        }
        let pdf = started.elapsed();
        let started = Instant::now();
        for s in &sheets {
            black_box(tally_invoicing::render::html(s));
        }
        let html = started.elapsed();
        println!(
            "documents/{n}: PDF {:.2} s, {:.0} PDFs/s on one thread, {:.1} KiB each; HTML {:.0} pages/s",
            pdf.as_secs_f64(),
            n as f64 / pdf.as_secs_f64(),
            bytes as f64 / n as f64 / 1024.0,
            n as f64 / html.as_secs_f64()
        );
    }
}
