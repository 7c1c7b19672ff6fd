//! A usage event as Tally stores it: who, which event, when, and the exact values and
//! dimensions its `data` carries.
//!
//! Decoding CloudEvents JSON happens at the edge (ingest); what arrives here is a valid
//! event. `data` is flattened once into dotted paths (`usage.tokens`), numbers kept as
//! exact decimals, so a meter added later can still read any property.
//!
//! `data` is held to [`MAX_DATA_DEPTH`] levels of objects and arrays, checked by one
//! scan of the text before anything is parsed, and flattened with an explicit stack:
//! an event nesting thousands of objects is a [`DataError::TooDeep`], never a stack
//! overflow that aborts the process (and, on a replayed file or topic, every restart).

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rust_decimal::Decimal;

use crate::decimal::parse_exact;
use crate::ids::CustomerId;
use crate::json::{Leaf, Members};

/// How deeply `data` may nest objects and arrays (`{"a":{"b":1}}` is 2). Usage
/// objects of AI platforms nest 2 to 5 levels; the contract promises 32.
pub const MAX_DATA_DEPTH: usize = 32;

/// Why `data` cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// More levels of objects and arrays than [`MAX_DATA_DEPTH`].
    #[error("nests more than {limit} levels of objects and arrays (at byte {at})")]
    TooDeep {
        /// The limit.
        limit: usize,
        /// Byte offset in `data` where the limit was passed.
        at: usize,
    },
    /// Not one JSON object.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

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
    /// Every scalar leaf of `data` as text (strings as is, numbers as written, booleans), by dotted path, sorted:
    /// what the producer sent, for evidence and for meters added later. `data` itself is not
    /// kept: these two hold every scalar of it, and arrays and nulls are never metered.
    pub strings: Vec<(String, String)>,
}

impl UsageEvent {
    /// Builds an event from the JSON text of its `data` object, flattening it into
    /// numbers and strings. Errors if `data` is
    /// not one JSON object or nests deeper than [`MAX_DATA_DEPTH`].
    pub fn from_data(
        customer: CustomerId,
        source: impl Into<String>,
        id: impl Into<String>,
        event_type: impl Into<String>,
        time: DateTime<Utc>,
        data: &str,
    ) -> Result<Self, DataError> {
        check_depth(data, MAX_DATA_DEPTH)?;
        let mut numbers = Vec::new();
        let mut strings = Vec::new();
        flatten(Members::parse(data)?, &mut numbers, &mut strings)?;
        sort_last_wins(&mut numbers);
        sort_last_wins(&mut strings);
        Ok(UsageEvent {
            customer,
            source: source.into(),
            id: id.into(),
            event_type: event_type.into(),
            time: within_its_second(time).duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(time),
            numbers,
            strings,
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

/// A leap second (`23:59:60.5`, which chrono holds as 23:59:59 with over a second of
/// nanoseconds) belongs to the day it ends: the last millisecond of 23:59:59, never
/// the next day (and the next billing period).
fn within_its_second(time: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    match time.nanosecond() >= 1_000_000_000 {
        true => time.with_nanosecond(999_999_999).unwrap_or(time),
        false => time,
    }
}

/// Fails if `text` opens more than `limit` objects and arrays inside each other. A byte
/// scan that skips strings: O(length), no allocation, no recursion.
///
/// First a count of every `{` and `[` byte, strings included: nesting can never be
/// deeper than that count. The count is `memchr`'s vector search (the crate serde_json
/// and the regex engines are built on), which skips the bytes between brackets 16 or
/// 32 at a time, while the exact scan below branches on every byte (it was 17-18% of
/// decoding in `benches/decode.rs`). Only text with more brackets than `limit` is
/// scanned exactly.
pub fn check_depth(text: &str, limit: usize) -> Result<(), DataError> {
    let opens = memchr::memchr2_iter(b'{', b'[', text.as_bytes()).take(limit + 1).count();
    if opens <= limit {
        return Ok(());
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (at, &b) in text.as_bytes().iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return Err(DataError::TooDeep { limit, at });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Flattens in document order with an explicit stack of (path prefix, object, next
/// member), so depth costs heap, not stack, and a repeated path keeps the later value.
fn flatten(
    root: Members<'_>,
    numbers: &mut Vec<(String, Decimal)>,
    strings: &mut Vec<(String, String)>,
) -> Result<(), serde_json::Error> {
    let mut stack = vec![(String::new(), root, 0usize)];
    while let Some((prefix, members, next)) = stack.last_mut() {
        let Some((key, raw)) = members.member(*next) else {
            stack.pop();
            continue;
        };
        *next += 1;
        let path = if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") };
        match Leaf::of(raw)? {
            Leaf::Object(text) => stack.push((path, Members::parse(text)?, 0)),
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
        assert_eq!(e.string("tokens"), Some("1200"), "numbers are kept as written too");
    }

    #[test]
    fn a_repeated_path_keeps_the_later_value() {
        let data = r#"{"tokens": 1, "a.b": "x", "a": {"b": "y"}, "tokens": 2}"#;
        let e = UsageEvent::from_data(CustomerId::new("c"), "s", "1", "t", Utc::now(), data).unwrap();
        assert_eq!(e.number("tokens"), Some(Decimal::from(2)));
        assert_eq!(e.string("a.b"), Some("y"));
        assert_eq!(e.strings.len(), 2);
        let data = r#"{"a": {"b": "y"}, "a.b": "x"}"#;
        let e = UsageEvent::from_data(CustomerId::new("c"), "s", "1", "t", Utc::now(), data).unwrap();
        assert_eq!(e.string("a.b"), Some("x"), "document order decides, not nesting");
    }

    fn nested(depth: usize) -> String {
        format!("{{\"tokens\":1,\"x\":{}1{}}}", "{\"a\":".repeat(depth), "}".repeat(depth))
    }

    #[test]
    fn data_nested_beyond_the_limit_is_refused_without_recursion() {
        // `data` itself is level 1, so `x` may hold MAX_DATA_DEPTH - 1 more objects.
        let ok = UsageEvent::from_data(CustomerId::new("c"), "s", "1", "t", Utc::now(), &nested(MAX_DATA_DEPTH - 1));
        let ok = ok.unwrap();
        assert_eq!(ok.number(&format!("x{}", ".a".repeat(MAX_DATA_DEPTH - 1))), Some(Decimal::ONE));
        for depth in [MAX_DATA_DEPTH, 8_000, 60_000] {
            let err =
                UsageEvent::from_data(CustomerId::new("c"), "s", "1", "t", Utc::now(), &nested(depth)).unwrap_err();
            assert!(matches!(err, DataError::TooDeep { limit: MAX_DATA_DEPTH, .. }), "{depth}: {err}");
        }
        let arrays = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(check_depth(&arrays, MAX_DATA_DEPTH), Err(DataError::TooDeep { .. })));
    }

    #[test]
    fn a_leap_second_stays_in_its_day() {
        let leap = chrono::DateTime::parse_from_rfc3339("2026-11-30T23:59:60.5Z").unwrap().with_timezone(&Utc);
        let e = UsageEvent::from_data(CustomerId::new("c"), "s", "1", "t", leap, "{}").unwrap();
        assert_eq!(e.time.to_rfc3339(), "2026-11-30T23:59:59.999+00:00");
        assert!(e.time_millis() < "2026-12-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap().timestamp_millis());
    }

    /// At the limit and one past it, through the count and through the exact scan.
    #[test]
    fn depth_is_judged_exactly_at_the_limit() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        check_depth(&nested(3), 3).unwrap();
        assert!(matches!(check_depth(&nested(4), 3), Err(DataError::TooDeep { limit: 3, at: 3 })));
        // Five opens, never more than two deep: more brackets than the limit, still fine.
        check_depth(r#"{"a":[1],"b":[2],"c":{"d":[]}}"#, 3).unwrap();
        assert!(check_depth(r#"{"a":[1],"b":[2],"c":{"d":[]}}"#, 2).is_err());
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = format!("{{\"s\":\"{}\\\"{}\"}}", "{[".repeat(100), "]}".repeat(100));
        check_depth(&text, 2).unwrap();
        assert!(check_depth(r#"{"a":{"b":{}}}"#, 2).is_err());
    }
}
