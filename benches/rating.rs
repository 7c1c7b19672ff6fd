//! Rating throughput: priced lines per second for each price model, and whole
//! subscriptions rated through `tally_rating::rate`, over a realistic catalog of
//! 50 plans with 20 charges each (per-unit, graduated with 5 tiers, volume, package).
//!
//! Run: `cargo bench -p tally-benches --bench rating`. Results: docs/benchmarks.md.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rust_decimal::Decimal;
use tally_domain::{Catalog, Dimensions, MeterKey, Period, PlanKey, RateRequest, UsageRow};
use tally_rating::{price_usage, rate};

const PLANS: usize = 50;
const CHARGES: usize = 20;
const MODELS: [&str; 4] = ["per_unit", "graduated", "volume", "package"];

/// A catalog of 50 plans x 20 charges on one token meter, cycling through the models.
fn catalog_text() -> String {
    let mut t = String::from(
        "[[meters]]\nkey = \"llm_tokens\"\nevent_type = \"llm.tokens\"\naggregation = \"sum\"\nvalue = \"tokens\"\ndimensions = [\"model\", \"direction\"]\n",
    );
    let tiers = "[{ up_to = \"1\", unit_price = \"3.00\", flat_price = \"1\" }, { up_to = \"10\", unit_price = \"2.50\" }, \
                 { up_to = \"100\", unit_price = \"2.00\" }, { up_to = \"1000\", unit_price = \"1.50\" }, { unit_price = \"1.00\" }]";
    for p in 0..PLANS {
        let _ = write!(t, "\n[[plans]]\nkey = \"plan{p}\"\ncurrency = \"USD\"\ninterval = \"month\"\n");
        let _ = write!(t, "[[plans.fees]]\nkey = \"platform\"\namount = \"{}.00\"\n", 10 + p);
        for c in 0..CHARGES {
            let price = match MODELS[c % 4] {
                "per_unit" => format!("{{ model = \"per_unit\", unit_price = \"{}.{:02}\" }}", 1 + c % 5, p),
                "package" => "{ model = \"package\", size = \"0.5\", package_price = \"1.10\" }".to_string(),
                model => format!("{{ model = \"{model}\", tiers = {tiers} }}"),
            };
            let _ = write!(
                t,
                "[[plans.charges]]\nkey = \"c{c}\"\nmeter = \"llm_tokens\"\nfilter = {{ model = \"m{c}\" }}\nincluded = \"100000\"\nper = \"1000000\"\nprice = {price}\n"
            );
        }
    }
    t
}

/// Token counts from a few thousand to a few billion, so every tier gets used.
fn quantities() -> Vec<Decimal> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..1024)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let digits = 3 + (state >> 60) % 7;
            Decimal::from((state >> 20) % 10u64.pow(digits as u32))
        })
        .collect()
}

fn bench_lines(c: &mut Criterion) {
    let catalog = Catalog::from_toml_str(&catalog_text(), "bench.toml").unwrap();
    let plan = catalog.plan("plan7").unwrap();
    let qs = quantities();
    let mut group = c.benchmark_group("price_line");
    group.throughput(Throughput::Elements(qs.len() as u64));
    for (i, model) in MODELS.iter().enumerate() {
        let charge = &plan.charges[i];
        assert_eq!(charge.price.model_name(), *model);
        let mut tiers = Vec::with_capacity(8);
        group.bench_function(*model, |b| {
            b.iter(|| {
                for q in &qs {
                    black_box(price_usage(charge, plan.currency, *q, &mut tiers).unwrap());
                }
            })
        });
    }
    group.finish();
}

fn request(plan: usize, qs: &[Decimal]) -> RateRequest {
    let period = Period::new("2026-11-01T00:00:00Z".parse().unwrap(), "2026-12-01T00:00:00Z".parse().unwrap()).unwrap();
    let usage = (0..CHARGES)
        .flat_map(|c| ["input", "output"].into_iter().map(move |dir| (c, dir)))
        .enumerate()
        .map(|(i, (c, dir))| UsageRow {
            meter: MeterKey::new("llm_tokens"),
            dimensions: Dimensions::from([
                ("model".to_string(), format!("m{c}")),
                ("direction".to_string(), dir.to_string()),
            ]),
            quantity: qs[i % qs.len()],
        })
        .collect();
    RateRequest { plan: PlanKey::new(format!("plan{plan}")), period, active: None, usage }
}

fn bench_subscriptions(c: &mut Criterion) {
    let catalog = Catalog::from_toml_str(&catalog_text(), "bench.toml").unwrap();
    let qs = quantities();
    let requests: Vec<RateRequest> = (0..PLANS).map(|p| request(p, &qs)).collect();
    let lines_per_pass = (PLANS * (CHARGES + 1)) as u64;
    let mut group = c.benchmark_group("rate_subscription");
    group.throughput(Throughput::Elements(lines_per_pass));
    group.bench_function("50_plans_x_21_lines", |b| {
        b.iter_batched(
            || (),
            |()| {
                for req in &requests {
                    black_box(rate(&catalog, req).unwrap());
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_lines, bench_subscriptions);
criterion_main!(benches);
