use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn zone(name: &str) -> Tz {
    name.parse().unwrap()
}

#[test]
fn month_end_anchors_fall_back_and_come_back() {
    let cycle = BillingCycle::new(Interval::Month, date("2026-01-31"), Tz::UTC);
    let starts: Vec<NaiveDate> = (0..5).map(|i| cycle.start_date(i)).collect();
    assert_eq!(starts, ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"].map(date));
    let leap = BillingCycle::new(Interval::Month, date("2028-01-30"), Tz::UTC);
    assert_eq!(leap.start_date(1), date("2028-02-29"));
    assert_eq!(leap.start_date(2), date("2028-03-30"));
    let feb29 = BillingCycle::new(Interval::Year, date("2028-02-29"), Tz::UTC);
    assert_eq!((feb29.start_date(1), feb29.start_date(4)), (date("2029-02-28"), date("2032-02-29")));
    let quarter = BillingCycle::new(Interval::Quarter, date("2026-11-30"), Tz::UTC);
    assert_eq!((quarter.start_date(1), quarter.start_date(-1)), (date("2027-02-28"), date("2026-08-30")));
}

#[test]
fn a_period_across_a_dst_change_has_its_local_length() {
    // Europe/Berlin springs forward on 2026-03-29: March has 743 hours, not 744.
    let cycle = BillingCycle::new(Interval::Month, date("2026-01-01"), zone("Europe/Berlin"));
    let march = cycle.period(2);
    assert_eq!((march.start(), march.end()), (utc("2026-02-28T23:00:00Z"), utc("2026-03-31T22:00:00Z")));
    assert_eq!(march.millis(), 743 * 3_600_000);
    // ...and falls back on 2026-10-25: October has 745.
    assert_eq!(cycle.period(9).millis(), 745 * 3_600_000);
    // A daily cycle: the day of the change is 23 hours long.
    let days = BillingCycle::new(Interval::Day, date("2026-03-01"), zone("Europe/Berlin"));
    assert_eq!(days.period(28).millis(), 23 * 3_600_000);
}

#[test]
fn a_non_utc_customer_starts_at_local_midnight() {
    let tokyo = BillingCycle::new(Interval::Month, date("2026-11-01"), zone("Asia/Tokyo"));
    assert_eq!(tokyo.start(0), utc("2026-10-31T15:00:00Z"));
    // An event at 2026-11-30T16:00Z is December 1st in Tokyo: the next period.
    assert_eq!(tokyo.index_at(utc("2026-11-30T16:00:00Z")), 1);
    assert_eq!(tokyo.index_at(utc("2026-11-30T14:59:59Z")), 0);
    let new_york = BillingCycle::new(Interval::Month, date("2026-11-01"), zone("America/New_York"));
    assert_eq!(new_york.start(0), utc("2026-11-01T04:00:00Z"), "EDT still on Nov 1 at midnight");
    assert_eq!(new_york.start(1), utc("2026-12-01T05:00:00Z"), "EST in December");
}

#[test]
fn a_midnight_that_does_not_exist_starts_the_day_when_the_clock_resumes() {
    // America/Santiago moves from 24:00 to 01:00 on the first Sunday of September.
    let days = BillingCycle::new(Interval::Day, date("2026-09-01"), zone("America/Santiago"));
    let gap_day = days.period(5); // 2026-09-06
    assert_eq!(gap_day.start(), utc("2026-09-06T04:00:00Z"), "01:00 -03 is 04:00 UTC");
    assert_eq!(days.period(4).end(), gap_day.start(), "periods stay contiguous");
}

#[test]
fn weeks_and_days_count_from_the_anchor() {
    let weeks = BillingCycle::new(Interval::Week, date("2026-11-02"), Tz::UTC); // a Monday
    assert_eq!(weeks.index_at(utc("2026-11-15T23:59:59Z")), 1);
    assert_eq!(weeks.index_at(utc("2026-10-26T00:00:00Z")), -1);
    assert_eq!(weeks.period(1).start(), utc("2026-11-09T00:00:00Z"));
}

fn zones() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        Tz::UTC,
        zone("Europe/Berlin"),
        zone("America/New_York"),
        zone("America/Santiago"),
        zone("Asia/Tokyo"),
        zone("Australia/Lord_Howe"),
        zone("Asia/Kolkata"),
    ])
}

fn intervals() -> impl Strategy<Value = Interval> {
    prop::sample::select(Interval::ALL.iter().map(|(i, _)| *i).collect::<Vec<_>>())
}

proptest! {
    #[test]
    fn periods_tile_time_and_contain_their_instants(
        interval in intervals(),
        zone in zones(),
        anchor_days in 0i64..3000,
        offset_minutes in -2_000_000i64..2_000_000,
    ) {
        let anchor = date("2020-01-01") + TimeDelta::days(anchor_days);
        let cycle = BillingCycle::new(interval, anchor, zone);
        let t = cycle.start(0) + TimeDelta::minutes(offset_minutes);
        let index = cycle.index_at(t);
        let period = cycle.period(index);
        prop_assert!(period.start() <= t && t < period.end());
        prop_assert_eq!(cycle.period(index + 1).start(), period.end());
        prop_assert_eq!(period.start().with_timezone(&zone).date_naive(), cycle.start_date(index));
    }
}
