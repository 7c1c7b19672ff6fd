//! A usage event as Tally stores it: who, which event, when, and the exact values and
//! dimensions its `data` carries.
//!
//! Decoding CloudEvents JSON happens at the edge (ingest); what arrives here is a valid
//! event. `data` is flattened once into dotted paths (`usage.tokens`), numbers kept as
//! exact decimals, so a meter added later can still read any property.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rust_decimal::Decimal;

use crate::decimal::parse_exact;
use crate::ids::CustomerId;
use crate::json::{Leaf, Members};

/// One usage event, identified by `(source, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvent {
    /// The billing account (the CloudEvent's `subject`).
    pub customer: CustomerId,
    /// The CloudEvent's `source`.
    pub source: String,
    /// The CloudEvent's `id`, unique within `source`.
    pub id: String,
    /// The CloudEvent's `type`.
    pub event_type: String,
    /// When the usage happened, in UTC, truncated to the millisecond.
    pub time: DateTime<Utc>,
    /// Every leaf of `data` that is an exact decimal (JSON number or numeric string), by dotted path, sorted.
    pub numbers: Vec<(String, Decimal)>,
    /// Every scalar leaf of `data` as text (strings as is, numbers as written, booleans), by dotted path, sorted.
    pub strings: Vec<(String, String)>,
    /// The `data` object as received, for evidence and for re-reading.
    pub data: String,
}

impl UsageEvent {
    /// Builds an event from the JSON text of its `data` object, flattening it into
    /// numbers and strings; `data` is kept as the text received. Errors if `data` is
    /// not one JSON object.
    pub fn from_data(
        customer: CustomerId,
        source: impl Into<String>,
        id: impl Into<String>,
        event_type: impl Into<String>,
        time: DateTime<Utc>,
        data: &str,
    ) -> Result<Self, serde_json::Error> {
        let mut numbers = Vec::new();
        let mut strings = Vec::new();
        flatten("", &Members::parse(data)?, &mut numbers, &mut strings)?;
        sort_last_wins(&mut numbers);
        sort_last_wins(&mut strings);
        Ok(UsageEvent {
            customer,
            source: source.into(),
            id: id.into(),
            event_type: event_type.into(),
            time: time.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(time),
            numbers,
            strings,
            data: data.to_owned(),
        })
    }

    /// The exact decimal at a dotted path of `data`.
    pub fn number(&self, path: &str) -> Option<Decimal> {
        self.numbers.binary_search_by(|(k, _)| k.as_str().cmp(path)).ok().map(|i| self.numbers[i].1)
    }

    /// The text of the scalar at a dotted path of `data`.
    pub fn string(&self, path: &str) -> Option<&str> {
        self.strings.binary_search_by(|(k, _)| k.as_str().cmp(path)).ok().map(|i| self.strings[i].1.as_str())
    }

    /// Event time in milliseconds since the Unix epoch.
    pub fn time_millis(&self) -> i64 {
        self.time.timestamp_millis()
    }
}

fn flatten(
    prefix: &str,
    members: &Members<'_>,
    numbers: &mut Vec<(String, Decimal)>,
    strings: &mut Vec<(String, String)>,
) -> Result<(), serde_json::Error> {
    for (key, raw) in members.iter() {
        let path = if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") };
        match Leaf::of(raw)? {
            Leaf::Object(text) => flatten(&path, &Members::parse(text)?, numbers, strings)?,
            Leaf::Number(text) => {
                if let Ok(d) = parse_exact(text) {
                    numbers.push((path.clone(), d));
                }
                strings.push((path, text.to_owned()));
            }
            Leaf::Str(text) => {
                if let Ok(d) = parse_exact(&text) {
                    numbers.push((path.clone(), d));
                }
                strings.push((path, text.into_owned()));
            }
            Leaf::Bool(b) => strings.push((path, b.to_string())),
            Leaf::Null | Leaf::Array => {}
        }
    }
    Ok(())
}

/// Sorts by path; where a path occurs twice (a repeated key, or `"a.b"` beside
/// `{"a":{"b":..}}`), the later one wins, as a JSON parser's map would have it.
fn sort_last_wins<T>(pairs: &mut Vec<(String, T)>) {
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
        pairs.reverse();
        pairs.dedup_by(|later, earlier| later.0 == earlier.0);
        pairs.reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_flattened_exactly() {
        let data = r#"{"model":"gpt-4o","tokens":1200,"cost":"0.1","nested":{"x":0.30000000000000004},"ok":true}"#;
        let e = UsageEvent::from_data(
            CustomerId::new("c"),
            "src",
            "1",
            "llm.tokens",
            "2026-11-05T12:00:00.123456Z".parse().unwrap(),
            data,
        )
        .unwrap();
        assert_eq!(e.number("tokens"), Some(Decimal::from(1200)));
        assert_eq!(e.number("cost").unwrap().to_string(), "0.1");
        assert_eq!(e.number("nested.x").unwrap().to_string(), "0.30000000000000004");
        assert_eq!(e.string("model"), Some("gpt-4o"));
        assert_eq!(e.string("ok"), Some("true"));
        assert_eq!(e.number("model"), None);
        assert_eq!(e.time_millis() % 1000, 123);
        assert_eq!(e.time.timestamp_subsec_micros(), 123_000);
        assert_eq!(e.data, data, "data is kept as received");
    }

    #[test]
    fn a_repeated_path_keeps_the_later_value() {
        let data = r#"{"tokens": 1, "a.b": "x", "a": {"b": "y"}, "tokens": 2}"#;
        let e = UsageEvent::from_data(CustomerId::new("c"), "s", "1", "t", Utc::now(), data).unwrap();
        assert_eq!(e.number("tokens"), Some(Decimal::from(2)));
        assert_eq!(e.string("a.b"), Some("y"));
        assert_eq!(e.strings.len(), 2);
    }
}
