//! Composing one invoice (pure, no store): the `starter` plan's 4 usage charges (one
//! grouped by GPU type), first period, next period's fees; and the same invoice
//! serialized to its JSON body as the invoicer stores it.
//!
//! `cargo bench -p tally-benches --bench compose`

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rust_decimal::Decimal;
use tally_domain::{Catalog, Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};
use tally_invoicing::compose;
use tally_rating::ChargeUsage;

fn compose_one(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/catalog.toml");
    let catalog = Catalog::load(std::path::Path::new(path)).expect("the sample catalog");
    let start = "2026-10-01T00:00:00Z".parse().expect("a time");
    let customer = Customer {
        id: CustomerId::new("customer-000001"),
        name: "Customer 1".into(),
        currency: "USD".parse().expect("USD"),
        timezone: chrono_tz::Tz::UTC,
        billing_details: BTreeMap::new(),
    };
    let subscription = Subscription {
        id: SubscriptionId::new("sub-000001"),
        customer: customer.id.clone(),
        start,
        end: None,
        anchor: "2026-10-01".parse().expect("a date"),
        phases: vec![Phase { plan: PlanKey::new("starter"), from: start }],
    };
    let q = |n: i64| Decimal::from(n);
    let usage: ChargeUsage = [
        ("gpt4o_input".to_owned(), vec![(BTreeMap::new(), q(3_500_000))]),
        ("gpt4o_output".to_owned(), vec![(BTreeMap::new(), q(1_200_000))]),
        ("llama_tokens".to_owned(), vec![(BTreeMap::new(), q(8_000_000))]),
        (
            "gpu_hours".to_owned(),
            vec![
                (BTreeMap::from([("gpu_type".to_owned(), "h100".to_owned())]), q(720_000)),
                (BTreeMap::from([("gpu_type".to_owned(), "a100".to_owned())]), q(36_000)),
            ],
        ),
    ]
    .into_iter()
    .collect();
    let usage = [&usage];
    c.bench_function("compose/starter_4_charges", |b| {
        b.iter(|| black_box(compose(&catalog, &customer, &subscription, 0, &usage, &[]).expect("composes")))
    });
    let invoice = compose(&catalog, &customer, &subscription, 0, &usage, &[]).expect("composes");
    c.bench_function("compose/json_body", |b| b.iter(|| black_box(serde_json::to_string(&invoice).expect("JSON"))));
}

criterion_group!(benches, compose_one);
criterion_main!(benches);
