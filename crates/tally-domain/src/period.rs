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
    start: DateTime<Utc>,
    end: DateTime<Utc>,
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
