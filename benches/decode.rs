//! Decoder throughput: generated AI usage (the same messages `tally produce` writes)
//! decoded and validated against the sample catalog, on one core.
//!
//! `cargo bench -p tally-benches --bench decode`

use std::hint::black_box;

use chrono::{TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_ingest::generate::{GenerateConfig, Generator};

fn catalog() -> tally_domain::Catalog {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/catalog.toml");
    tally_domain::Catalog::from_toml_str(&std::fs::read_to_string(path).expect("the sample catalog"), path)
        .expect("the sample catalog parses")
}

fn decode(c: &mut Criterion) {
    let catalog = catalog();
    let end = Utc::now();
    let config = GenerateConfig {
        seed: 7,
        events: 10_000,
        customers: 1_000,
        duplicates_per_mille: 0,
        malformed_per_mille: 0,
        start: end - TimeDelta::days(7),
        end,
        source: "bench".into(),
    };
    let messages: Vec<Vec<u8>> = Generator::new(config, &catalog).map(|g| g.payload).collect();
    let decoder = Decoder::new(&catalog, DecodeRules::default());
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("generated_usage", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(decoder.decode(m, end).is_ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
