//! Which data parts hold a period, and when a read without `FINAL` is exact.
//!
//! `usage_events` is a ReplacingMergeTree whose inserts are deduplicated within each
//! batch, so one part never holds two copies of an event, and a merge collapses copies
//! across the parts it merges. A partition that is a single part therefore holds each
//! event once, and a plain read of it is exact. Parts are immutable and a query reads
//! the parts that were active when it started: if the same single parts are active
//! before and after a plain read, that read saw exactly them.

use chrono::{Datelike, Months, NaiveDate};
use clickhouse::{Client, Row};
use serde::Deserialize;
use tally_domain::Period;

use super::sql;
use crate::StoreError;

#[derive(Row, Deserialize, PartialEq, Eq, Debug, Clone, PartialOrd, Ord)]
pub(crate) struct Part {
    partition: String,
    name: String,
}

/// The `toYYYYMM` partition ids a period touches.
pub(crate) fn partitions(period: &Period) -> Vec<String> {
    let mut out = Vec::new();
    let first = period.start().date_naive().with_day(1).unwrap_or(NaiveDate::MIN);
    let last_instant = period.end() - chrono::TimeDelta::milliseconds(1);
    let mut month = first;
    while month <= last_instant.date_naive() {
        out.push(format!("{:04}{:02}", month.year(), month.month()));
        match month.checked_add_months(Months::new(1)) {
            Some(next) => month = next,
            None => break,
        }
    }
    out
}

/// The active parts of `usage_events` in the period's partitions, sorted.
pub(crate) async fn active_parts(client: &Client, period: &Period) -> Result<Vec<Part>, StoreError> {
    let ids: Vec<String> = partitions(period).iter().map(|p| sql::string(p)).collect();
    let mut parts: Vec<Part> = client
        .query(&format!(
            "SELECT partition, name FROM system.parts WHERE database = currentDatabase() AND table = 'usage_events' \
             AND active AND partition IN ({})",
            ids.join(", ")
        ))
        .fetch_all()
        .await
        .map_err(StoreError::clickhouse("listing the parts of usage_events"))?;
    parts.sort();
    Ok(parts)
}

/// Whether every partition in `parts` is a single part.
pub(crate) fn single_part_partitions(parts: &[Part]) -> bool {
    parts.windows(2).all(|w| w[0].partition != w[1].partition)
}

/// Merges the period's partitions into one part each, collapsing copies.
pub(crate) async fn compact(client: &Client, period: &Period) -> Result<(), StoreError> {
    for partition in partitions(period) {
        client
            // A toYYYYMM partition is a number; quoting it as a string is refused.
            .query(&format!("OPTIMIZE TABLE usage_events PARTITION {partition} FINAL"))
            .execute()
            .await
            .map_err(StoreError::clickhouse(format!("merging partition {partition} of usage_events")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(a: &str, b: &str) -> Period {
        Period::new(a.parse().unwrap(), b.parse().unwrap()).unwrap()
    }

    #[test]
    fn a_period_touches_the_months_it_overlaps() {
        assert_eq!(partitions(&period("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")), vec!["202611"]);
        assert_eq!(
            partitions(&period("2026-11-15T00:00:00Z", "2027-01-01T00:00:01Z")),
            vec!["202611", "202612", "202701"]
        );
        assert_eq!(partitions(&period("2026-12-31T23:00:00Z", "2027-01-01T00:00:00Z")), vec!["202612"]);
    }
}
