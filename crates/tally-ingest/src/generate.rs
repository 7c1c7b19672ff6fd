//! A deterministic generator of realistic AI usage, and the totals its invoices must show.
//!
//! Used by `tally produce`, the tests and the benchmarks: LLM tokens by model and
//! direction, GPU seconds by GPU type and region (some with a pass-through cost),
//! training sessions; customers with skewed volumes (a few heavy, a long tail); a share
//! of exact re-deliveries (duplicates) and of malformed events. The same seed gives the
//! same bytes. The expected totals are computed here, from the generated values and the
//! catalog's meters, independently of the decoder and the store.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
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

/// A valid event as it is written: fields in the order of the JSON (serialized by
/// derive, not through a `serde_json::Value`, which cost a map per event and object).
#[derive(Serialize)]
struct Event<'a> {
    specversion: &'static str,
    id: String,
    source: &'a str,
    #[serde(rename = "type")]
    event_type: &'static str,
    subject: &'a str,
    time: String,
    data: &'a Data,
}

/// The `data` of each kind of generated event.
#[derive(Serialize)]
#[serde(untagged)]
enum Data {
    Tokens {
        model: &'static str,
        direction: &'static str,
        tokens: u32,
    },
    Gpu {
        gpu_type: &'static str,
        region: &'static str,
        gpu_seconds: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        cost_usd: Option<String>,
    },
    Training {
        session_id: String,
        gpu_type: &'static str,
        gpu_hours: serde_json::Number,
        status: &'static str,
    },
}

impl Data {
    fn event_type(&self) -> &'static str {
        match self {
            Data::Tokens { .. } => "llm.tokens",
            Data::Gpu { .. } => "gpu.usage",
            Data::Training { .. } => "training.session",
        }
    }

    /// The value at a top-level `path` as the store keeps it: strings as they are,
    /// numbers as their JSON text.
    fn text(&self, path: &str) -> Option<Cow<'_, str>> {
        let borrowed = |s: &'static str| Some(Cow::Borrowed(s));
        match (self, path) {
            (Data::Tokens { model, .. }, "model") => borrowed(model),
            (Data::Tokens { direction, .. }, "direction") => borrowed(direction),
            (Data::Tokens { tokens, .. }, "tokens") => Some(Cow::Owned(tokens.to_string())),
            (Data::Gpu { gpu_type, .. } | Data::Training { gpu_type, .. }, "gpu_type") => borrowed(gpu_type),
            (Data::Gpu { region, .. }, "region") => borrowed(region),
            (Data::Gpu { gpu_seconds, .. }, "gpu_seconds") => Some(Cow::Owned(gpu_seconds.to_string())),
            (Data::Gpu { cost_usd, .. }, "cost_usd") => cost_usd.as_deref().map(Cow::Borrowed),
            (Data::Training { session_id, .. }, "session_id") => Some(Cow::Borrowed(session_id)),
            (Data::Training { gpu_hours, .. }, "gpu_hours") => Some(Cow::Owned(gpu_hours.to_string())),
            (Data::Training { status, .. }, "status") => borrowed(status),
            _ => None,
        }
    }
}

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
        let data = if pick < 70 {
            let tokens = self.rng.random_range(1..5000u32);
            Data::Tokens {
                model: MODELS[self.rng.random_range(0..3)],
                direction: DIRECTIONS[self.rng.random_range(0..3)],
                tokens,
            }
        } else if pick < 90 {
            let seconds = self.rng.random_range(1..3600u32);
            let gpu = self.rng.random_range(0..3);
            let region = REGIONS[self.rng.random_range(0..2)];
            // What the GPU-time cost the platform, in cents, as text: exact, never a float.
            let cost_usd = self.rng.random_bool(0.5).then(|| {
                let cents = (u64::from(seconds) * GPU_CENTS_PER_HOUR[gpu]).div_ceil(3600);
                Decimal::new(cents as i64, 2).to_string()
            });
            Data::Gpu { gpu_type: GPUS[gpu], region, gpu_seconds: seconds, cost_usd }
        } else {
            let hours = Decimal::new(i64::from(self.rng.random_range(1..2000u32)), 2);
            Data::Training {
                session_id: format!("s-{}", self.rng.random_range(0..50u32)),
                gpu_type: GPUS[self.rng.random_range(0..3)],
                gpu_hours: serde_json::Number::from_string_unchecked(hours.to_string()),
                status: if self.rng.random_bool(0.9) { "completed" } else { "failed" },
            }
        };
        self.account(&customer, &data);
        let event = Event {
            specversion: "1.0",
            id: format!("{n:012}"),
            source: &self.config.source,
            event_type: data.event_type(),
            subject: &customer,
            time: time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            data: &data,
        };
        let payload = serde_json::to_vec(&event).expect("JSON");
        Generated { key: customer, payload, kind: Kind::Valid }
    }

    fn account(&mut self, customer: &str, data: &Data) {
        let event_type = data.event_type();
        for (key, meter_type, aggregation, value) in &self.meters {
            if meter_type != event_type {
                continue;
            }
            let slot = (customer.to_owned(), key.clone());
            let read = value.as_deref().and_then(|path| data.text(path));
            match (aggregation, read) {
                (Aggregation::Count, _) => *self.sums.entry(slot).or_default() += Decimal::ONE,
                (Aggregation::UniqueCount, Some(text)) => {
                    self.uniques.entry(slot).or_default().insert(text.into_owned());
                }
                (Aggregation::Sum, Some(text)) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The same seed gives the same bytes, across releases too: a stored demo, a replayed
    /// file and the benchmarks' inputs depend on it. The figures are those of the
    /// generator before it wrote events through typed structs (commit b38e610).
    #[test]
    fn the_same_seed_gives_the_same_messages_as_before() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/catalog.toml");
        let catalog = Catalog::load(std::path::Path::new(path)).expect("config/catalog.toml loads");
        let config = GenerateConfig {
            seed: 7,
            events: 3_000,
            customers: 40,
            duplicates_per_mille: 20,
            malformed_per_mille: 10,
            start: "2026-10-01T00:00:00Z".parse().unwrap(),
            end: "2026-11-01T00:00:00Z".parse().unwrap(),
            source: "tally-demo".into(),
        };
        let (mut count, mut bytes, mut hash) = (0u64, 0u64, 0xcbf2_9ce4_8422_2325u64);
        for message in Generator::new(config, &catalog) {
            count += 1;
            bytes += message.payload.len() as u64;
            // FNV-1a over every payload and key.
            for b in message.payload.iter().chain(message.key.as_bytes()) {
                hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        assert_eq!((count, bytes, hash), (EXPECTED_COUNT, EXPECTED_BYTES, EXPECTED_HASH));
    }

    const EXPECTED_COUNT: u64 = 3_093;
    const EXPECTED_BYTES: u64 = 658_201;
    const EXPECTED_HASH: u64 = 0xa752_e266_ff21_66e8;
}
