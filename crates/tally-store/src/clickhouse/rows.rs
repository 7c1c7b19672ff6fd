//! The `rejected_events` row as the `clickhouse` crate writes and reads it, and the
//! exact `Decimal(38, 12)` conversions every ClickHouse row uses (`usage_events` rows are
//! written by encode.rs).

use clickhouse::Row;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{KafkaOrigin, RejectedEvent, StoreError};

use crate::DECIMAL_SCALE as SCALE;

/// A decimal as the raw i128 of a `Decimal(38, 12)`; an error if it has more than 12 decimals.
pub(crate) fn to_raw(value: Decimal, context: impl FnOnce() -> String) -> Result<i128, StoreError> {
    let mut scaled = value;
    scaled.rescale(SCALE);
    if scaled != value {
        return Err(StoreError::Unstorable {
            context: context(),
            message: format!("{value} has more than {SCALE} decimals and cannot be stored exactly"),
        });
    }
    Ok(scaled.mantissa())
}

/// The raw i128 of a `Decimal(38, 12)` as a decimal; an error beyond about 7.9e16.
pub(crate) fn from_raw(raw: i128, context: impl FnOnce() -> String) -> Result<Decimal, StoreError> {
    Decimal::try_from_i128_with_scale(raw, SCALE)
        .map(|d| d.normalize())
        .map_err(|e| StoreError::Corrupt { context: context(), message: format!("{raw}e-{SCALE}: {e}") })
}

/// One row of `rejected_events`; field order is the table's column order.
#[derive(Row, Serialize, Deserialize)]
pub(crate) struct RejectedRow {
    received_at: u32,
    reason: String,
    detail: String,
    source: String,
    id: String,
    #[serde(with = "serde_bytes")]
    raw: Vec<u8>,
    kafka_topic: String,
    kafka_partition: i32,
    kafka_offset: i64,
}

impl From<&RejectedEvent> for RejectedRow {
    fn from(r: &RejectedEvent) -> Self {
        RejectedRow {
            received_at: u32::try_from(r.received_at.timestamp()).unwrap_or(0),
            reason: r.reason.clone(),
            detail: r.detail.clone(),
            source: r.source.clone().unwrap_or_default(),
            id: r.id.clone().unwrap_or_default(),
            raw: r.raw.clone(),
            kafka_topic: r.origin.as_ref().map(|o| o.topic.to_string()).unwrap_or_default(),
            kafka_partition: r.origin.as_ref().map_or(-1, |o| o.partition),
            kafka_offset: r.origin.as_ref().map_or(-1, |o| o.offset),
        }
    }
}

impl From<RejectedRow> for RejectedEvent {
    fn from(r: RejectedRow) -> Self {
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        RejectedEvent {
            received_at: chrono::DateTime::from_timestamp(i64::from(r.received_at), 0).unwrap_or_default(),
            reason: r.reason,
            detail: r.detail,
            source: non_empty(r.source),
            id: non_empty(r.id),
            raw: r.raw,
            origin: (r.kafka_partition >= 0).then_some(KafkaOrigin {
                topic: r.kafka_topic.into(),
                partition: r.kafka_partition,
                offset: r.kafka_offset,
            }),
        }
    }
}
