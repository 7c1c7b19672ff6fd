//! A half-open interval of time, `[start, end)`: billing periods and active spans.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A period whose end is not after its start.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("end {end} is not after start {start}")]
pub struct PeriodError {
    /// The start as given.
    pub start: DateTime<Utc>,
    /// The end as given.
    pub end: DateTime<Utc>,
}

/// `[start, end)` in UTC; `end` is always after `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Period {
    #[serde(serialize_with = "instant")]
    start: DateTime<Utc>,
    #[serde(serialize_with = "instant")]
    end: DateTime<Utc>,
}

/// An instant as chrono writes it (RFC 3339, `Z`, fractions only when there are any),
/// whole seconds written straight into a buffer. Every invoice line carries a service
/// period, and chrono's formatter, called digit by digit through serde's string
/// collector, was half the cost of writing a month's invoices as JSON (perf on the
/// close of 100,000 subscriptions). Any other instant goes to chrono itself.
fn instant<S: serde::Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    match whole_second(at) {
        Some(text) => serializer.serialize_str(std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?),
        None => at.serialize(serializer),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for an instant of a four-digit year with no fraction.
fn whole_second(at: &DateTime<Utc>) -> Option<[u8; 20]> {
    use chrono::{Datelike, Timelike};
    // The naive form once: each accessor of a `DateTime` applies the offset again.
    let at = at.naive_utc();
    let year = at.year();
    if at.nanosecond() != 0 || !(0..=9999).contains(&year) {
        return None;
    }
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, at.month());
    put(8, 2, at.day());
    put(11, 2, at.hour());
    put(14, 2, at.minute());
    put(17, 2, at.second());
    Some(out)
}

impl Period {
    /// A period from `start` (inclusive) to `end` (exclusive).
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, PeriodError> {
        if end > start {
            Ok(Self { start, end })
        } else {
            Err(PeriodError { start, end })
        }
    }

    /// The first instant inside the period.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The first instant after the period.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// Length in milliseconds (always positive).
    pub fn millis(&self) -> i64 {
        (self.end - self.start).num_milliseconds()
    }

    /// The part of `self` that lies inside `other`, if any.
    pub fn intersect(&self, other: &Period) -> Option<Period> {
        Period::new(self.start.max(other.start), self.end.min(other.end)).ok()
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            start: DateTime<Utc>,
            end: DateTime<Utc>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Period::new(raw.start, raw.end).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The period as JSON, with chrono's own writing of each instant.
    fn as_chrono_writes_it(p: &Period) -> String {
        serde_json::json!({ "start": p.start(), "end": p.end() }).to_string()
    }

    proptest::proptest! {
        /// Written exactly as chrono writes the instants: whole seconds by the fast
        /// path, and instants with fractions, leap seconds and years beyond four
        /// digits by chrono.
        #[test]
        fn a_period_is_written_as_chrono_writes_its_instants(
            start in -70_000_000_000i64..300_000_000_000,
            length in 1i64..100_000_000,
            fraction in proptest::prop_oneof![proptest::strategy::Just(0u32), 0u32..2_000_000_000],
        ) {
            let Some(from) = DateTime::from_timestamp(start, fraction) else { return Ok(()) };
            let p = Period::new(from, from + chrono::TimeDelta::seconds(length)).unwrap();
            proptest::prop_assert_eq!(serde_json::to_string(&p).unwrap(), as_chrono_writes_it(&p));
        }
    }

    #[test]
    fn whole_seconds_are_written_like_chrono_at_the_edges() {
        for text in ["0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2026-11-30T23:59:59Z", "9999-12-31T23:59:58Z"] {
            let p = Period::new(t(text), t(text) + chrono::TimeDelta::seconds(1)).unwrap();
            assert_eq!(serde_json::to_string(&p).unwrap(), as_chrono_writes_it(&p));
            assert!(serde_json::to_string(&p).unwrap().contains(text));
        }
        let leap = DateTime::from_timestamp(1_798_761_599, 1_500_000_000).unwrap();
        let p = Period::new(leap, leap + chrono::TimeDelta::seconds(1)).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), as_chrono_writes_it(&p));
    }

    #[test]
    fn refuses_empty_and_inverted_periods() {
        assert!(Period::new(t("2026-11-01T00:00:00Z"), t("2026-11-01T00:00:00Z")).is_err());
        assert!(Period::new(t("2026-12-01T00:00:00Z"), t("2026-11-01T00:00:00Z")).is_err());
    }

    #[test]
    fn intersects_half_open() {
        let nov = Period::new(t("2026-11-01T00:00:00Z"), t("2026-12-01T00:00:00Z")).unwrap();
        let late = Period::new(t("2026-11-21T00:00:00Z"), t("2027-01-01T00:00:00Z")).unwrap();
        let dec = Period::new(t("2026-12-01T00:00:00Z"), t("2026-12-02T00:00:00Z")).unwrap();
        assert_eq!(late.intersect(&nov).unwrap().millis(), 10 * 86_400_000);
        assert_eq!(dec.intersect(&nov), None);
    }

    #[test]
    fn reads_any_offset_as_utc() {
        let p: Period =
            serde_json::from_str(r#"{"start":"2026-11-01T02:00:00+02:00","end":"2026-11-02T00:00:00Z"}"#).unwrap();
        assert_eq!(p.start(), t("2026-11-01T00:00:00Z"));
    }
}
