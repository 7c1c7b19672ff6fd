//! Billing cycles: where a subscription's periods begin and end, in the customer's
//! time zone.
//!
//! A period starts at local midnight on an anchor-aligned date: every day, every 7 days,
//! or every 1, 3 or 12 months on the anchor's day of the month. An anchor on the 29th to
//! 31st falls back to the last day of shorter months and returns in longer ones (Jan 31,
//! Feb 28, Mar 31). Boundaries are computed in local time and only then turned into UTC,
//! so a period across a DST change is 23 or 25 hours longer or shorter than its UTC
//! neighbours, and a customer in Tokyo is billed from 15:00 UTC of the day before.

use chrono::{DateTime, Datelike, Days, LocalResult, Months, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::catalog::Interval;
use crate::period::Period;

/// The periods of one subscription: an interval, an anchor date and a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingCycle {
    interval: Interval,
    anchor: NaiveDate,
    zone: Tz,
}

impl BillingCycle {
    /// Periods of `interval` in `zone`, period 0 starting at local midnight of `anchor`.
    pub fn new(interval: Interval, anchor: NaiveDate, zone: Tz) -> Self {
        BillingCycle { interval, anchor, zone }
    }

    /// The interval.
    pub fn interval(&self) -> Interval {
        self.interval
    }

    /// The time zone periods are computed in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The local date period `index` starts on (negative: before the anchor).
    pub fn start_date(&self, index: i64) -> NaiveDate {
        let months = match self.interval {
            Interval::Day => return shift_days(self.anchor, index),
            Interval::Week => return shift_days(self.anchor, index * 7),
            Interval::Month => index,
            Interval::Quarter => index * 3,
            Interval::Year => index * 12,
        };
        // From the anchor each time (never from the previous period), so the 31st comes
        // back after February; chrono clamps to the month's last day.
        let magnitude = Months::new(u32::try_from(months.unsigned_abs()).unwrap_or(u32::MAX));
        let shifted = if months >= 0 {
            self.anchor.checked_add_months(magnitude)
        } else {
            self.anchor.checked_sub_months(magnitude)
        };
        shifted.unwrap_or(self.anchor)
    }

    /// The instant period `index` starts: local midnight of its start date, or the first
    /// local time after it where midnight does not exist (a DST gap at midnight).
    pub fn start(&self, index: i64) -> DateTime<Utc> {
        local_midnight(self.zone, self.start_date(index))
    }

    /// Period `index`.
    pub fn period(&self, index: i64) -> Period {
        let (start, end) = (self.start(index), self.start(index + 1));
        // Consecutive local midnights are always at least 22 hours apart.
        Period::new(start, end).expect("a billing period ends after it starts")
    }

    /// The index of the period that contains `t`.
    pub fn index_at(&self, t: DateTime<Utc>) -> i64 {
        let local = t.with_timezone(&self.zone).date_naive();
        let mut index = match self.interval {
            Interval::Day => (local - self.anchor).num_days(),
            Interval::Week => (local - self.anchor).num_days().div_euclid(7),
            Interval::Month | Interval::Quarter | Interval::Year => {
                let months = i64::from(local.year() - self.anchor.year()) * 12 + i64::from(local.month())
                    - i64::from(self.anchor.month());
                let per = match self.interval {
                    Interval::Quarter => 3,
                    Interval::Year => 12,
                    _ => 1,
                };
                months.div_euclid(per)
            }
        };
        // The estimate is off by at most one either way (clamped month ends, midnight shifts).
        while self.start(index) > t {
            index -= 1;
        }
        while self.start(index + 1) <= t {
            index += 1;
        }
        index
    }

    /// The period that contains `t`.
    pub fn period_at(&self, t: DateTime<Utc>) -> Period {
        self.period(self.index_at(t))
    }
}

fn shift_days(date: NaiveDate, days: i64) -> NaiveDate {
    let magnitude = Days::new(days.unsigned_abs());
    let shifted = if days >= 0 { date.checked_add_days(magnitude) } else { date.checked_sub_days(magnitude) };
    shifted.unwrap_or(date)
}

/// The first instant of `date` in `zone`: midnight, the earlier one if midnight happens
/// twice, or the end of the gap if a DST change skips it.
fn local_midnight(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    match zone.from_local_datetime(&midnight) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            // Midnight falls in a gap: the day starts when local time resumes. Gaps are at
            // most a few hours; probe forward minute by minute from the gap's start.
            (1..=24 * 60)
                .find_map(|minute| {
                    zone.from_local_datetime(&(midnight + chrono::TimeDelta::minutes(minute))).earliest()
                })
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
        }
    }
}

#[cfg(test)]
mod tests;
