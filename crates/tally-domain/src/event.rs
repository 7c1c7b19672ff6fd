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
    /// Builds an event from its `data` object, flattening it into numbers and strings.
    pub fn from_data(
        customer: CustomerId,
        source: impl Into<String>,
        id: impl Into<String>,
        event_type: impl Into<String>,
        time: DateTime<Utc>,
        data: &serde_json::Value,
    ) -> Self {
        let mut numbers = Vec::new();
        let mut strings = Vec::new();
        flatten("", data, &mut numbers, &mut strings);
        numbers.sort();
        strings.sort();
        UsageEvent {
            customer,
            source: source.into(),
            id: id.into(),
            event_type: event_type.into(),
            time: time.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(time),
            numbers,
            strings,
            data: data.to_string(),
        }
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
    value: &serde_json::Value,
    numbers: &mut Vec<(String, Decimal)>,
    strings: &mut Vec<(String, String)>,
) {
    use serde_json::Value;
    let path = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                flatten(&path(key), inner, numbers, strings);
            }
        }
        Value::Number(n) => {
            let text = n.to_string();
            if let Ok(d) = parse_exact(&text) {
                numbers.push((prefix.to_owned(), d));
            }
            strings.push((prefix.to_owned(), text));
        }
        Value::String(s) => {
            if let Ok(d) = parse_exact(s) {
                numbers.push((prefix.to_owned(), d));
            }
            strings.push((prefix.to_owned(), s.clone()));
        }
        Value::Bool(b) => strings.push((prefix.to_owned(), b.to_string())),
        Value::Null | Value::Array(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_flattened_exactly() {
        let data = serde_json::from_str(
            r#"{"model":"gpt-4o","tokens":1200,"cost":"0.1","nested":{"x":0.30000000000000004},"ok":true}"#,
        )
        .unwrap();
        let e = UsageEvent::from_data(
            CustomerId::new("c"),
            "src",
            "1",
            "llm.tokens",
            "2026-11-05T12:00:00.123456Z".parse().unwrap(),
            &data,
        );
        assert_eq!(e.number("tokens"), Some(Decimal::from(1200)));
        assert_eq!(e.number("cost").unwrap().to_string(), "0.1");
        assert_eq!(e.number("nested.x").unwrap().to_string(), "0.30000000000000004");
        assert_eq!(e.string("model"), Some("gpt-4o"));
        assert_eq!(e.string("ok"), Some("true"));
        assert_eq!(e.number("model"), None);
        assert_eq!(e.time_millis() % 1000, 123);
        assert_eq!(e.time.timestamp_subsec_micros(), 123_000);
    }
}
