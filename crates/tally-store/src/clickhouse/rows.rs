//! The `usage_events` row as the `clickhouse` crate writes it (RowBinary), borrowing
//! from the event so a batch is encoded without copying strings.

use clickhouse::Row;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{IncomingEvent, StoreError};

use crate::DECIMAL_SCALE as SCALE;

/// One row of `usage_events`; field order is the table's column order.
#[derive(Row, Serialize)]
pub(crate) struct EventRow<'a> {
    customer: &'a str,
    event_type: &'a str,
    source: &'a str,
    id: &'a str,
    time: u32,
    time_ms: i64,
    num_keys: Vec<&'a str>,
    num_values: Vec<i128>,
    str_keys: Vec<&'a str>,
    str_values: Vec<&'a str>,
    data: &'a str,
    ingested_at: u32,
    kafka_topic: &'a str,
    kafka_partition: i32,
    kafka_offset: i64,
}

/// A decimal as the raw i128 of a `Decimal(38, 12)`; an error if it has more than 12 decimals.
pub(crate) fn to_raw(value: Decimal, context: impl FnOnce() -> String) -> Result<i128, StoreError> {
    let mut scaled = value;
    scaled.rescale(SCALE);
    if scaled != value {
        return Err(StoreError::Corrupt {
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
    pub(crate) fn new(incoming: &'a IncomingEvent, ingested_at: u32) -> Result<Self, StoreError> {
        let e = &incoming.event;
        let origin = incoming.origin.as_ref();
        let num_values = e
            .numbers
            .iter()
            .map(|(k, v)| to_raw(*v, || format!("event ({}, {}) data.{k}", e.source, e.id)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(EventRow {
            customer: e.customer.as_str(),
            event_type: &e.event_type,
            source: &e.source,
            id: &e.id,
            time: u32::try_from(e.time.timestamp()).unwrap_or(0),
            time_ms: e.time_millis(),
            num_keys: e.numbers.iter().map(|(k, _)| k.as_str()).collect(),
            num_values,
            str_keys: e.strings.iter().map(|(k, _)| k.as_str()).collect(),
            str_values: e.strings.iter().map(|(_, v)| v.as_str()).collect(),
            data: &e.data,
            ingested_at,
            kafka_topic: origin.map_or("", |o| o.topic.as_str()),
            kafka_partition: origin.map_or(-1, |o| o.partition),
            kafka_offset: origin.map_or(-1, |o| o.offset),
        })
    }
}
