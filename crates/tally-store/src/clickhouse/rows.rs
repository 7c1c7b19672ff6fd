//! The `usage_events` row as the `clickhouse` crate writes it (RowBinary), borrowing
//! from the event so a batch is encoded without copying strings.

use clickhouse::Row;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{IncomingEvent, KafkaOrigin, RejectedEvent, StoreError};

use crate::DECIMAL_SCALE as SCALE;

/// One row of `usage_events`; field order is the table's column order. The array
/// columns serialize straight from the event's properties: no copy, no allocation.
#[derive(Row, Serialize)]
pub(crate) struct EventRow<'a> {
    customer: &'a str,
    event_type: &'a str,
    source: &'a str,
    id: &'a str,
    time: u32,
    time_ms: i64,
    num_keys: Keys<'a, Decimal>,
    num_values: Raws<'a>,
    str_keys: Keys<'a, String>,
    str_values: Texts<'a>,
    data: &'a str,
    ingested_at: u32,
    kafka_topic: &'a str,
    kafka_partition: i32,
    kafka_offset: i64,
}

/// The keys of a property list, as `Array(String)`.
pub(crate) struct Keys<'a, T>(&'a [(String, T)]);

/// The text values of a property list, as `Array(String)`.
pub(crate) struct Texts<'a>(&'a [(String, String)]);

/// The decimal values of a property list, as `Array(Decimal(38, 12))` (raw i128).
pub(crate) struct Raws<'a>(&'a [(String, Decimal)]);

impl<T> Serialize for Keys<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(k, _)| k.as_str()))
    }
}

impl Serialize for Texts<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(_, v)| v.as_str()))
    }
}

impl Serialize for Raws<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (path, value) in self.0 {
            // `check_event` ran first, so this cannot fail; a failure is reported, never truncated.
            let raw = to_raw(*value, || format!("data.{path}")).map_err(S::Error::custom)?;
            seq.serialize_element(&raw)?;
        }
        seq.end()
    }
}

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

impl<'a> EventRow<'a> {
    pub(crate) fn new(incoming: &'a IncomingEvent, ingested_at: u32) -> Self {
        let e = &incoming.event;
        let origin = incoming.origin.as_ref();
        EventRow {
            customer: e.customer.as_str(),
            event_type: &e.event_type,
            source: &e.source,
            id: &e.id,
            time: u32::try_from(e.time.timestamp()).unwrap_or(0),
            time_ms: e.time_millis(),
            num_keys: Keys(&e.numbers),
            num_values: Raws(&e.numbers),
            str_keys: Keys(&e.strings),
            str_values: Texts(&e.strings),
            data: &e.data,
            ingested_at,
            kafka_topic: origin.map_or("", |o| o.topic.as_str()),
            kafka_partition: origin.map_or(-1, |o| o.partition),
            kafka_offset: origin.map_or(-1, |o| o.offset),
        }
    }
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
            kafka_topic: r.origin.as_ref().map(|o| o.topic.clone()).unwrap_or_default(),
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
                topic: r.kafka_topic,
                partition: r.kafka_partition,
                offset: r.kafka_offset,
            }),
        }
    }
}
