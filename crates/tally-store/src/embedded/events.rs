//! Writing usage events into the embedded store: appended in arrival order, deduplicated
//! through the compact key of `(source, id)` ([`event_key`](super::event_key)).
//!
//! [`Writer::put_from`] is the exact row-at-a-time path: a slot is looked up among the
//! keys this transaction took, the recent keys in memory and the merged table; a free
//! slot means a new event, which is appended under the next row number. Only when the
//! slot is taken is the stored `(source, id)` read back: the same event is a duplicate,
//! another one (a 64-bit collision) moves on to the next slot. A batch from ingest goes
//! through [`append`](super::append), which writes the events that are certainly new
//! many per statement and hands only the others to the writer.

use std::fmt::Display;

use rusqlite::{params, CachedStatement, OptionalExtension, Transaction};
use serde::{Serialize, Serializer};

use rustc_hash::FxHashMap;
use std::sync::Arc;

use super::blocks;
use super::event_key::{self, RecentKeys};

use crate::{EventBatch, IncomingEvent, StoreError};

/// The row holding a merged slot, if any.
const MERGED: &str = "SELECT row FROM usage_keys WHERE key = ?1";

/// Whether a row is the event `(source, id)`.
const HOLDER: &str = "SELECT source = ?2 AND id = ?3 FROM usage_events WHERE row = ?1";

/// One row to store, borrowed from an event or from a row of an older table.
pub(super) struct NewRow<'a> {
    pub source: &'a str,
    pub id: &'a str,
    pub customer: &'a str,
    pub event_type: &'a str,
    pub time_ms: i64,
    pub numbers: &'a str,
    pub strings: &'a str,
    pub ingested_at_ms: i64,
    pub kafka: Option<(&'a str, i32, i64)>,
}

/// The row-at-a-time writer of one transaction: its statements, the next row number,
/// and the slots it took.
pub(super) struct Writer<'t, 'k> {
    merged: CachedStatement<'t>,
    holder: CachedStatement<'t>,
    insert: CachedStatement<'t>,
    recent: &'k RecentKeys,
    next_row: i64,
    taken: FxHashMap<i64, i64>,
}

impl<'t, 'k> Writer<'t, 'k> {
    /// A writer appending after `last_row`, which sees the slots in `recent` and
    /// `taken` (those of this transaction's rows written before it) beside the merged.
    pub(super) fn new(
        tx: &'t Transaction<'_>,
        recent: &'k RecentKeys,
        last_row: i64,
        taken: FxHashMap<i64, i64>,
    ) -> rusqlite::Result<Writer<'t, 'k>> {
        Ok(Writer {
            merged: tx.prepare_cached(MERGED)?,
            holder: tx.prepare_cached(HOLDER)?,
            insert: tx.prepare_cached(&super::append::insert_sql(1))?,
            recent,
            next_row: last_row + 1,
            taken,
        })
    }

    /// The slots this transaction took, and the last row it wrote.
    pub(super) fn finish(self) -> (FxHashMap<i64, i64>, i64) {
        (self.taken, self.next_row - 1)
    }

    fn holder_of(&mut self, key: i64) -> rusqlite::Result<Option<i64>> {
        if let Some(row) = self.taken.get(&key).copied().or_else(|| self.recent.get(key)) {
            return Ok(Some(row));
        }
        self.merged.query_row([key], |r| r.get(0)).optional()
    }

    /// Stores `row` unless `(source, id)` is stored already, looking from slot `key`
    /// on; the new row's number, or `None` for a duplicate.
    pub(super) fn put_from(&mut self, row: &NewRow<'_>, mut key: i64) -> rusqlite::Result<Option<i64>> {
        while let Some(holder) = self.holder_of(key)? {
            let same: bool = self.holder.query_row(params![holder, row.source, row.id], |r| r.get(0))?;
            if same {
                return Ok(None);
            }
            // Another event holds the slot: the next one.
            key = event_key::probe(key);
        }
        let (new, kafka) = (self.next_row, row.kafka);
        self.insert.execute(params![
            new,
            key,
            row.source,
            row.id,
            row.customer,
            row.event_type,
            row.time_ms,
            row.numbers,
            row.strings,
            row.ingested_at_ms,
            kafka.map(|k| k.0),
            kafka.map(|k| k.1),
            kafka.map(|k| k.2),
        ])?;
        self.next_row += 1;
        self.taken.insert(key, new);
        Ok(Some(new))
    }
}

/// Sorted `(path, value)` pairs as one JSON object of text values, written without a
/// `Value` in between (the stored form the aggregation reads back).
fn json_text<V: Display>(pairs: &[(String, V)]) -> Result<String, String> {
    struct Text<'a, V>(&'a V);
    impl<V: Display> Serialize for Text<'_, V> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(self.0)
        }
    }
    struct Object<'a, V>(&'a [(String, V)]);
    impl<V: Display> Serialize for Object<'_, V> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_map(self.0.iter().map(|(k, v)| (k, Text(v))))
        }
    }
    serde_json::to_string(&Object(pairs)).map_err(|e| e.to_string())
}

/// One event as this store keeps it, made on the caller's thread so that the database
/// thread only writes.
#[derive(Clone)]
pub(super) struct Prepared {
    /// The first slot of `(source, id)`, hashed here rather than on the writer's thread.
    pub key: i64,
    pub source: String,
    pub id: String,
    pub customer: String,
    pub event_type: String,
    pub time_ms: i64,
    pub numbers: String,
    pub strings: String,
    pub kafka: Option<(std::sync::Arc<str>, i32, i64)>,
}

/// A batch of events in the form the embedded store writes, shared with the database
/// thread (not copied) for each attempt.
#[derive(Default)]
pub struct Batch(Arc<Vec<Prepared>>);

impl Batch {
    pub(super) fn rows(&self) -> Arc<Vec<Prepared>> {
        self.0.clone()
    }
}

impl EventBatch for Batch {
    fn push(&mut self, incoming: &IncomingEvent) -> Result<(), StoreError> {
        let e = &incoming.event;
        crate::check_event(e)?;
        let unstorable = |message: String| StoreError::Unstorable {
            context: format!("event ({}, {}) data", e.source, e.id),
            message,
        };
        let numbers = json_text(&e.numbers).map_err(unstorable)?;
        let strings = json_text(&e.strings).map_err(unstorable)?;
        Arc::make_mut(&mut self.0).push(Prepared {
            key: event_key::of(&e.source, &e.id),
            source: e.source.clone(),
            id: e.id.clone(),
            customer: e.customer.as_str().to_owned(),
            event_type: e.event_type.clone(),
            time_ms: e.time_millis(),
            numbers,
            strings,
            kafka: incoming.origin.as_ref().map(|o| (o.topic.clone(), o.partition, o.offset)),
        });
        Ok(())
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Writes the batch in one immediate transaction ([`append`](super::append)), the
/// recent keys brought up to the file first and updated once it committed; returns how
/// many were stored already.
#[cfg(test)]
pub(super) fn insert(
    conn: &mut rusqlite::Connection,
    recent: &mut RecentKeys,
    events: &[Prepared],
) -> Result<u64, StoreError> {
    Ok(insert_all(conn, recent, &[events])?.iter().sum())
}

/// Writes the batches of `segments` in one immediate transaction, one commit for all
/// ([`append`](super::append)), the recent keys brought up to the file first and
/// updated once it committed; returns how many of each segment were stored already.
pub(super) fn insert_all(
    conn: &mut rusqlite::Connection,
    recent: &mut RecentKeys,
    segments: &[&[Prepared]],
) -> Result<Vec<u64>, StoreError> {
    let now = chrono::Utc::now().timestamp_millis();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(StoreError::sqlite("starting a write"))?;
    let last = recent.catch_up(&tx).map_err(StoreError::sqlite("reading the recent keys"))?;
    let written = super::append::write(&tx, recent, last, segments, now)?;
    let mut merged = None;
    if let Some(appended) = written.appended {
        blocks::record(&tx, appended).map_err(StoreError::sqlite("recording the rows written"))?;
        merged = recent.merge_when_due(&tx, written.last_row).map_err(StoreError::sqlite("merging the recent keys"))?;
    }
    tx.commit().map_err(StoreError::sqlite("committing a write"))?;
    recent.committed(written.taken, written.last_row, merged);
    Ok(written.duplicates)
}
