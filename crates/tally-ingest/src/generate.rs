//! A deterministic generator of realistic AI usage, and the totals its invoices must show.
//!
//! Used by `tally produce`, the tests and the benchmarks: LLM tokens by model and
//! direction, GPU seconds by GPU type and region (some with a pass-through cost),
//! training sessions; customers with skewed volumes (a few heavy, a long tail); a share
//! of exact re-deliveries (duplicates) and of malformed events. The same seed gives the
//! same bytes. The expected totals are computed here, from the generated values and the
//! catalog's meters, independently of the decoder and the store.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tally_domain::{Aggregation, Catalog};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    /// Seed: the same seed gives the same messages.
    pub seed: u64,
    /// Distinct valid events.
    pub events: u64,
    /// Customers (`customer-000000` ...); customer 0 is the heaviest.
    pub customers: u32,
    /// Re-deliveries of an earlier event, per thousand valid events.
    pub duplicates_per_mille: u32,
    /// Malformed messages, per thousand valid events.
    pub malformed_per_mille: u32,
    /// Event times are spread over `[start, end)`.
    pub start: DateTime<Utc>,
    /// See `start`.
    pub end: DateTime<Utc>,
    /// The events' `source`.
    pub source: String,
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The Kafka key: the customer.
    pub key: String,
    /// The CloudEvent JSON (or the malformed bytes).
    pub payload: Vec<u8>,
    /// What it is.
    pub kind: Kind,
}

/// What a generated message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new valid event.
    Valid,
    /// A byte-identical re-delivery of an earlier valid event.
    Duplicate,
    /// An event the contract rejects.
    Malformed,
}

/// Per (customer, meter key): the quantity the store must aggregate for the period.
pub type Expected = BTreeMap<(String, String), Decimal>;

/// Generates messages in order; [`Generator::expected`] has the totals so far.
pub struct Generator {
    config: GenerateConfig,
    rng: ChaCha8Rng,
    produced: u64,
    recent: Vec<Generated>,
    meters: Vec<(String, String, Aggregation, Option<String>)>,
    sums: Expected,
    uniques: BTreeMap<(String, String), BTreeSet<String>>,
}

const MODELS: [&str; 3] = ["gpt-4o", "gpt-4o-mini", "llama-3.1-70b"];
const DIRECTIONS: [&str; 3] = ["input", "output", "cached"];
const GPUS: [&str; 3] = ["h100", "a100", "l4"];
/// What an hour of each GPU costs the platform, in cents.
const GPU_CENTS_PER_HOUR: [u64; 3] = [249, 129, 39];
const REGIONS: [&str; 2] = ["eu-1", "us-east-1"];

impl Generator {
    /// A generator for the catalog's meters (used only for the expected totals).
    pub fn new(config: GenerateConfig, catalog: &Catalog) -> Generator {
        let meters = catalog
            .meters()
            .iter()
            .map(|m| (m.key.to_string(), m.event_type.clone(), m.aggregation, m.value.clone()))
            .collect();
        Generator {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
            produced: 0,
            recent: Vec::new(),
            meters,
            sums: Expected::new(),
            uniques: BTreeMap::new(),
        }
    }

    /// The totals of the valid events generated so far, once each.
    pub fn expected(&self) -> Expected {
        let mut out = self.sums.clone();
        for (key, set) in &self.uniques {
            out.insert(key.clone(), Decimal::from(set.len()));
        }
        out
    }

    fn customer(&mut self) -> String {
        // Skewed: u^3 puts most events on the first customers.
        let u: f64 = self.rng.random();
        let index = ((u * u * u) * f64::from(self.config.customers)) as u32;
        format!("customer-{:06}", index.min(self.config.customers - 1))
    }

    fn valid(&mut self) -> Generated {
        let n = self.produced;
        self.produced += 1;
        let customer = self.customer();
        let span = (self.config.end - self.config.start).num_milliseconds().max(1);
        let time = self.config.start + TimeDelta::milliseconds(self.rng.random_range(0..span));
        let pick = self.rng.random_range(0..100u32);
        let (event_type, data) = if pick < 70 {
            let tokens = self.rng.random_range(1..5000u32);
            (
                "llm.tokens",
                json!({
                    "model": MODELS[self.rng.random_range(0..3)],
                    "direction": DIRECTIONS[self.rng.random_range(0..3)],
                    "tokens": tokens,
                }),
            )
        } else if pick < 90 {
            let seconds = self.rng.random_range(1..3600u32);
            let gpu = self.rng.random_range(0..3);
            let mut data = json!({
                "gpu_type": GPUS[gpu],
                "region": REGIONS[self.rng.random_range(0..2)],
                "gpu_seconds": seconds,
            });
            if self.rng.random_bool(0.5) {
                // What the GPU-time cost the platform, in cents, as text: exact, never a float.
                let cents = (u64::from(seconds) * GPU_CENTS_PER_HOUR[gpu]).div_ceil(3600);
                data["cost_usd"] = Value::String(Decimal::new(cents as i64, 2).to_string());
            }
            ("gpu.usage", data)
        } else {
            let hours = Decimal::new(i64::from(self.rng.random_range(1..2000u32)), 2);
            (
                "training.session",
                json!({
                    "session_id": format!("s-{}", self.rng.random_range(0..50u32)),
                    "gpu_type": GPUS[self.rng.random_range(0..3)],
                    "gpu_hours": serde_json::Number::from_string_unchecked(hours.to_string()),
                    "status": if self.rng.random_bool(0.9) { "completed" } else { "failed" },
                }),
            )
        };
        self.account(&customer, event_type, &data);
        let event = json!({
            "specversion": "1.0",
            "id": format!("{n:012}"),
            "source": self.config.source,
            "type": event_type,
            "subject": customer,
            "time": time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": data,
        });
        Generated { key: customer, payload: serde_json::to_vec(&event).expect("JSON"), kind: Kind::Valid }
    }

    fn account(&mut self, customer: &str, event_type: &str, data: &Value) {
        for (key, meter_type, aggregation, value) in &self.meters {
            if meter_type != event_type {
                continue;
            }
            let slot = (customer.to_owned(), key.clone());
            let read = value.as_deref().and_then(|path| data.get(path));
            match (aggregation, read) {
                (Aggregation::Count, _) => *self.sums.entry(slot).or_default() += Decimal::ONE,
                (Aggregation::UniqueCount, Some(v)) => {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    self.uniques.entry(slot).or_default().insert(text);
                }
                (Aggregation::Sum, Some(v)) => {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    let d: Decimal = text.parse().expect("generated numbers are decimals");
                    *self.sums.entry(slot).or_default() += d;
                }
                // The generator's catalog uses sum, count and unique_count only.
                _ => {}
            }
        }
    }

    fn malformed(&mut self, customer: String) -> Generated {
        let n = self.produced;
        let payload = match self.rng.random_range(0..4u32) {
            0 => b"{not json".to_vec(),
            1 => serde_json::to_vec(&json!({"specversion": "1.0", "source": self.config.source, "type": "llm.tokens",
                "subject": customer, "time": self.config.start.to_rfc3339(), "data": {"tokens": 5}}))
            .expect("JSON"),
            2 => serde_json::to_vec(
                &json!({"specversion": "1.0", "id": format!("bad-{n}"), "source": self.config.source,
                "type": "llm.tokens", "subject": customer, "time": self.config.start.to_rfc3339(),
                "data": {"model": "gpt-4o", "direction": "input", "tokens": -3}}),
            )
            .expect("JSON"),
            _ => serde_json::to_vec(
                &json!({"specversion": "1.0", "id": format!("bad-{n}"), "source": self.config.source,
                "type": "gpu.usage", "subject": customer, "time": "last tuesday",
                "data": {"gpu_seconds": 10}}),
            )
            .expect("JSON"),
        };
        Generated { key: customer, payload, kind: Kind::Malformed }
    }
}

impl Iterator for Generator {
    type Item = Generated;

    fn next(&mut self) -> Option<Generated> {
        let roll = self.rng.random_range(0..1000u32);
        if roll < self.config.malformed_per_mille {
            let customer = self.customer();
            return Some(self.malformed(customer));
        }
        if roll < self.config.malformed_per_mille + self.config.duplicates_per_mille && !self.recent.is_empty() {
            let i = self.rng.random_range(0..self.recent.len());
            let mut again = self.recent[i].clone();
            again.kind = Kind::Duplicate;
            return Some(again);
        }
        if self.produced >= self.config.events {
            return None;
        }
        let event = self.valid();
        // Keep a window of recent events to re-deliver; older ones are replaced at random.
        if self.recent.len() < 10_000 {
            self.recent.push(event.clone());
        } else {
            let i = self.rng.random_range(0..self.recent.len());
            self.recent[i] = event.clone();
        }
        Some(event)
    }
}
