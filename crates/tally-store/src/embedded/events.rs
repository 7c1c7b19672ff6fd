//! Writing usage events into the embedded store: appended in arrival order, deduplicated
//! through the compact key of `(source, id)` ([`event_key`](super::event_key)).
//!
//! [`Writer::put`] is the exact row-at-a-time path: one statement looks the slot up in
//! both key tables (the recent keys and the merged ones); a free slot means a new event,
//! which is appended and its slot taken in the recent table. Only when the slot is taken
//! is the stored `(source, id)` read back: the same event is a duplicate, another one (a
//! 64-bit collision) moves on to the next slot. A batch from ingest goes through
//! [`append`](super::append), which writes the events that are certainly new many per
//! statement and hands only the others to [`Writer::put`].

use std::fmt::Display;

use rusqlite::{params, CachedStatement, OptionalExtension, Transaction};
use serde::{Serialize, Serializer};

use super::blocks::{self, Appended};
use super::event_key;
use std::sync::Arc;

use crate::{EventBatch, IncomingEvent, StoreError};

/// The append of one row.
const INSERT: &str = "INSERT INTO usage_events (key, source, id, customer, event_type, time_ms, \
     numbers, strings, ingested_at_ms, kafka_topic, kafka_partition, kafka_offset) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING row";

/// Taking a slot for a new row.
const TAKE: &str = "INSERT INTO usage_keys_recent (key, row) VALUES (?1, ?2)";

/// The row holding a slot, if any (the two tables never share a key).
const SLOT: &str =
    "SELECT row FROM usage_keys_recent WHERE key = ?1 UNION ALL SELECT row FROM usage_keys WHERE key = ?1";

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

/// The statements of [`put`](Writer::put), prepared once per transaction.
pub(super) struct Writer<'t> {
    slot: CachedStatement<'t>,
    holder: CachedStatement<'t>,
    insert: CachedStatement<'t>,
    take: CachedStatement<'t>,
}

impl<'t> Writer<'t> {
    pub(super) fn new(tx: &'t Transaction<'_>) -> rusqlite::Result<Writer<'t>> {
        Ok(Writer {
            slot: tx.prepare_cached(SLOT)?,
            holder: tx.prepare_cached(HOLDER)?,
            insert: tx.prepare_cached(INSERT)?,
            take: tx.prepare_cached(TAKE)?,
        })
    }

    /// Stores `row` unless `(source, id)` is stored already; the new row's number, or
    /// `None` for a duplicate.
    pub(super) fn put(&mut self, row: &NewRow<'_>) -> rusqlite::Result<Option<i64>> {
        self.put_from(row, event_key::of(row.source, row.id))
    }

    /// [`put`](Self::put), looking from slot `key` on (a test can make two events meet).
    pub(super) fn put_from(&mut self, row: &NewRow<'_>, mut key: i64) -> rusqlite::Result<Option<i64>> {
        loop {
            let Some(holder) = self.slot.query_row([key], |r| r.get::<_, i64>(0)).optional()? else { break };
            let same: bool = self.holder.query_row(params![holder, row.source, row.id], |r| r.get(0))?;
            if same {
                return Ok(None);
            }
            // Another event holds the slot: the next one.
            key = event_key::probe(key);
        }
        let kafka = row.kafka;
        let new = self.insert.query_row(
            params![
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
            ],
            |r| r.get::<_, i64>(0),
        )?;
        self.take.execute(params![key, new])?;
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

/// Records rows a write appended: their block range, and their keys toward the next
/// merge (both in the write's transaction).
pub(super) fn written(tx: &Transaction<'_>, appended: Appended) -> rusqlite::Result<()> {
    blocks::record(tx, appended)?;
    event_key::merge_when_due(tx, appended.rows())
}

/// Writes the batch in one transaction ([`append`](super::append)); returns how many
/// were stored already.
pub(super) fn insert(conn: &mut rusqlite::Connection, events: &[Prepared]) -> Result<u64, StoreError> {
    let now = chrono::Utc::now().timestamp_millis();
    let tx = conn.transaction().map_err(StoreError::sqlite("starting a write"))?;
    let (appended, duplicates) = super::append::write(&tx, events, now)?;
    if let Some(appended) = appended {
        written(&tx, appended).map_err(StoreError::sqlite("recording the rows written"))?;
    }
    tx.commit().map_err(StoreError::sqlite("committing a write"))?;
    Ok(duplicates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(id: &'a str, time_ms: i64) -> NewRow<'a> {
        NewRow {
            source: "gw",
            id,
            customer: "acme",
            event_type: "llm.tokens",
            time_ms,
            numbers: r#"{"tokens":"1"}"#,
            strings: r#"{"tokens":"1"}"#,
            ingested_at_ms: 0,
            kafka: None,
        }
    }

    /// A 64-bit collision cannot be found by search, so one is made: event `a` is put in
    /// the slot `b` hashes to. `b` is still stored (in the next slot), and both are still
    /// recognised when they come again.
    #[test]
    fn events_whose_keys_collide_are_both_kept_and_both_deduplicated() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        let b_slot = event_key::of("gw", "b");
        {
            let mut w = Writer::new(&tx).unwrap();
            assert_eq!(w.put_from(&row("a", 1), b_slot).unwrap(), Some(1), "a takes b's slot");
            assert_eq!(w.put(&row("b", 2)).unwrap(), Some(2), "b is another event: stored, not a duplicate");
            assert_eq!(w.put(&row("b", 3)).unwrap(), None, "b again is a duplicate");
            assert_eq!(w.put_from(&row("a", 4), b_slot).unwrap(), None, "a again, from the same slot, is a duplicate");
            assert_eq!(w.put(&row("c", 5)).unwrap(), Some(3));
        }
        // The same once the keys are merged, and then with some recent, some merged.
        event_key::merge(&tx).unwrap();
        {
            let mut w = Writer::new(&tx).unwrap();
            assert_eq!(w.put(&row("b", 6)).unwrap(), None, "b, merged, is a duplicate");
            assert_eq!(w.put_from(&row("a", 7), b_slot).unwrap(), None, "a, merged, is a duplicate");
            assert_eq!(w.put_from(&row("d", 8), b_slot).unwrap(), Some(4), "d meets both: a third slot");
            assert_eq!(w.put_from(&row("d", 9), b_slot).unwrap(), None, "d, recent, past two merged");
        }
        let keys: Vec<(String, i64, i64)> = tx
            .prepare("SELECT id, key, time_ms FROM usage_events ORDER BY row")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let c_slot = event_key::of("gw", "c");
        let third = event_key::probe(event_key::probe(b_slot));
        assert_eq!(
            keys,
            [
                ("a".into(), b_slot, 1),
                ("b".into(), event_key::probe(b_slot), 2),
                ("c".into(), c_slot, 5),
                ("d".into(), third, 8)
            ],
            "the first copy of each is kept"
        );
        let slots: Vec<(i64, i64)> = tx
            .prepare("SELECT key, row FROM usage_keys UNION ALL SELECT key, row FROM usage_keys_recent")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(slots.len(), 4, "one slot per stored event: {slots:?}");
        assert!(slots.contains(&(third, 4)) && slots.contains(&(b_slot, 1)));
    }
}
