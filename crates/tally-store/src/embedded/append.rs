//! A batch of events written with a few statements, not three per event.
//!
//! The row-at-a-time writer ([`Writer::put`](super::events::Writer::put)) runs a slot
//! lookup, the append and the key insert for each event: measured on the demo, about
//! 11 µs per event on the one writer thread, a quarter of it the cost of a statement
//! itself (begin, cursors, halt, binds) rather than its B-tree work. Here a batch is
//! written in three steps, all in the caller's transaction:
//!
//! 1. **Which first slots are taken**: one statement over the batch's keys, passed as
//!    one array parameter (rusqlite's `rarray`, SQLite's `carray` table-valued function
//!    ported to Rust: the crate's own, so no C extension to build), seeks both key
//!    tables in key order.
//! 2. **The append**: every event whose first slot is free in the store and not taken
//!    earlier in the batch is new. Those rows are inserted many per statement, under
//!    row numbers counted from the table's last, and their keys are copied into the
//!    recent key table by one `INSERT ... SELECT` in key order.
//! 3. **The rest**, an event whose first slot is taken (a duplicate, almost always, or
//!    a 64-bit collision), goes through the exact row-at-a-time writer after the append,
//!    so it sees the batch's new rows and keys as it sees older ones.
//!
//! Dedupe stays exact: an event is appended in step 2 only when no stored event and no
//! earlier event of the batch holds its first slot, and every other event is decided
//! by the same comparison of `(source, id)` as before. What changes is only the row
//! number an event of step 3 gets: after the batch's new rows, not between them.

use std::collections::hash_map::Entry;
use std::rc::Rc;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, ToSql, Transaction};
use rustc_hash::{FxHashMap, FxHashSet};

use super::blocks::Appended;
use super::events::{NewRow, Prepared, Writer};
use crate::StoreError;

/// Rows per `INSERT` statement: 13 parameters each, far below SQLite's limit of 32,766,
/// and enough that the statement's own cost is spread thin (measured in
/// `docs/benchmarks.md`).
const ROWS_PER_INSERT: usize = 64;

/// The columns of an appended row, in parameter order.
const COLUMNS: &str = "(row, key, source, id, customer, event_type, time_ms, numbers, strings, \
     ingested_at_ms, kafka_topic, kafka_partition, kafka_offset)";

/// The first slots of `keys` that a stored event holds.
const TAKEN: &str = "SELECT t.key FROM rarray(?1) AS k CROSS JOIN usage_keys_recent AS t ON t.key = k.value \
     UNION ALL SELECT t.key FROM rarray(?1) AS k CROSS JOIN usage_keys AS t ON t.key = k.value";

/// The keys of the rows just appended, into the recent table in key order.
const TAKE_APPENDED: &str =
    "INSERT OR ROLLBACK INTO usage_keys_recent (key, row) SELECT key, row FROM usage_events WHERE row BETWEEN ?1 AND ?2 ORDER BY key";

/// An `INSERT` of `rows` rows.
fn insert_sql(rows: usize) -> String {
    let one = format!("({})", vec!["?"; 13].join(", "));
    format!("INSERT OR ROLLBACK INTO usage_events {COLUMNS} VALUES {}", vec![one; rows].join(", "))
}

/// Writes `events` in the caller's transaction; the rows appended and the number of
/// duplicates.
pub(super) fn write(
    tx: &Transaction<'_>,
    events: &[Prepared],
    ingested_at_ms: i64,
) -> Result<(Option<Appended>, u64), StoreError> {
    let sqlite = |what: &'static str| StoreError::sqlite(what);
    let mut sorted: Vec<i64> = events.iter().map(|e| e.key).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let keys: Rc<Vec<Value>> = Rc::new(sorted.into_iter().map(Value::Integer).collect());
    let taken: FxHashSet<i64> = tx
        .prepare_cached(TAKEN)
        .and_then(|mut s| s.query_map([keys], |r| r.get(0))?.collect())
        .map_err(sqlite("looking up the batch's keys"))?;

    // Step 2: the events that are certainly new.
    let mut first_of_slot: FxHashMap<i64, usize> = FxHashMap::default();
    let (mut new, mut later) = (Vec::with_capacity(events.len()), Vec::new());
    for (i, e) in events.iter().enumerate() {
        match first_of_slot.entry(e.key) {
            Entry::Vacant(slot) if !taken.contains(&e.key) => {
                slot.insert(i);
                new.push(e);
            }
            _ => later.push(e),
        }
    }
    let last: i64 = tx
        .query_row("SELECT coalesce(max(row), 0) FROM usage_events", [], |r| r.get(0))
        .map_err(sqlite("reading the last row"))?;
    let mut appended: Option<Appended> = None;
    let mut row = last;
    let full = insert_sql(ROWS_PER_INSERT);
    for chunk in new.chunks(ROWS_PER_INSERT) {
        let mut values: Vec<&dyn ToSql> = Vec::with_capacity(chunk.len() * 13);
        let rows: Vec<i64> = (1..=chunk.len() as i64).map(|n| row + n).collect();
        let origins: Vec<(Option<&str>, Option<i32>, Option<i64>)> = chunk
            .iter()
            .map(|e| match &e.kafka {
                Some((t, p, o)) => (Some(&**t), Some(*p), Some(*o)),
                None => (None, None, None),
            })
            .collect();
        for ((e, r), o) in chunk.iter().zip(&rows).zip(&origins) {
            values.extend_from_slice(&[
                r as &dyn ToSql,
                &e.key,
                &e.source,
                &e.id,
                &e.customer,
                &e.event_type,
                &e.time_ms,
                &e.numbers,
                &e.strings,
                &ingested_at_ms,
                &o.0,
                &o.1,
                &o.2,
            ]);
            Appended::extend(&mut appended, *r, e.time_ms);
        }
        // The last, shorter statement of a batch is not kept: its length varies.
        let params = params_from_iter(values);
        if chunk.len() == ROWS_PER_INSERT {
            tx.prepare_cached(&full).and_then(|mut s| s.execute(params))
        } else {
            tx.prepare(&insert_sql(chunk.len())).and_then(|mut s| s.execute(params))
        }
        .map_err(sqlite("appending events"))?;
        row += chunk.len() as i64;
    }
    if row > last {
        tx.prepare_cached(TAKE_APPENDED)
            .and_then(|mut s| s.execute([last + 1, row]))
            .map_err(sqlite("taking the appended rows' slots"))?;
    }

    // Step 3: the events whose first slot is taken, one at a time.
    let mut duplicates = 0;
    if !later.is_empty() {
        let mut writer = Writer::new(tx).map_err(sqlite("preparing the insert"))?;
        for e in later {
            let row = NewRow {
                source: &e.source,
                id: &e.id,
                customer: &e.customer,
                event_type: &e.event_type,
                time_ms: e.time_ms,
                numbers: &e.numbers,
                strings: &e.strings,
                ingested_at_ms,
                kafka: e.kafka.as_ref().map(|(t, p, o)| (&**t, *p, *o)),
            };
            match writer
                .put_from(&row, e.key)
                .map_err(|err| StoreError::sqlite(format!("inserting event ({}, {})", e.source, e.id))(err))?
            {
                Some(r) => {
                    Appended::extend(&mut appended, r, row.time_ms);
                }
                None => duplicates += 1,
            }
        }
    }
    Ok((appended, duplicates))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::event_key;

    fn event(id: &str, time_ms: i64) -> Prepared {
        Prepared {
            key: event_key::of("gw", id),
            source: "gw".into(),
            id: id.into(),
            customer: "acme".into(),
            event_type: "llm.tokens".into(),
            time_ms,
            numbers: r#"{"tokens":"1"}"#.into(),
            strings: "{}".into(),
            kafka: None,
        }
    }

    /// `event(id)` in the slot of `other`: a 64-bit collision, made since none can be found.
    fn colliding(id: &str, other: &str, time_ms: i64) -> Prepared {
        Prepared { key: event_key::of("gw", other), ..event(id, time_ms) }
    }

    fn stored(tx: &Transaction<'_>) -> Vec<(i64, String, i64)> {
        tx.prepare("SELECT row, id, time_ms FROM usage_events ORDER BY row")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn slots(tx: &Transaction<'_>) -> Vec<(i64, i64)> {
        let mut all: Vec<(i64, i64)> = tx
            .prepare("SELECT key, row FROM usage_keys UNION ALL SELECT key, row FROM usage_keys_recent")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        all.sort_by_key(|&(_, row)| row);
        all
    }

    /// Every way an event of a batch can meet another: new, repeated in the batch,
    /// stored before (recent and merged keys), and in a slot held by another event
    /// (stored, or earlier in the batch). The first copy of each is kept, once.
    #[test]
    fn a_batch_keeps_the_first_copy_of_each_event_and_probes_past_collisions() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        rusqlite::vtab::array::load_module(&conn).unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();

        let (appended, duplicates) = write(&tx, &[event("a", 1), event("b", 2)], 0).unwrap();
        assert_eq!((appended.map(|a| (a.first_row, a.last_row)), duplicates), (Some((1, 2)), 0));
        event_key::merge(&tx).unwrap(); // a and b merged; c will be recent
        write(&tx, &[event("c", 3)], 0).unwrap();

        let batch = [
            event("d", 10),
            event("a", 11),          // stored, merged key
            event("d", 12),          // earlier in this batch
            event("c", 13),          // stored, recent key
            colliding("e", "b", 14), // b's slot, b stored: probes on
            event("f", 15),
            colliding("g", "f", 16), // f's slot, f earlier in this batch
            colliding("g", "f", 17), // the same g again
            event("h", 18),
        ];
        let (appended, duplicates) = write(&tx, &batch, 0).unwrap();
        assert_eq!(duplicates, 4, "a, c, d and g again");
        let appended = appended.unwrap();
        assert_eq!((appended.first_row, appended.last_row), (4, 8), "one contiguous range");
        assert_eq!((appended.min_time_ms, appended.max_time_ms), (10, 18));
        let ids: Vec<(i64, String, i64)> = stored(&tx);
        let expect: Vec<(i64, String, i64)> = [(1, "a", 1), (2, "b", 2), (3, "c", 3), (4, "d", 10), (5, "f", 15)]
            .into_iter()
            .chain([(6, "h", 18), (7, "e", 14), (8, "g", 16)])
            .map(|(r, id, t)| (r, id.to_owned(), t))
            .collect();
        assert_eq!(ids, expect, "new events first, then the ones that had to look further");
        let b = event_key::of("gw", "b");
        let f = event_key::of("gw", "f");
        let taken = slots(&tx);
        assert_eq!(taken.len(), 8, "one slot per stored row: {taken:?}");
        assert!(taken.contains(&(event_key::probe(b), 7)), "e in the slot after b's");
        assert!(taken.contains(&(event_key::probe(f), 8)), "g in the slot after f's");

        // All of them again, in one batch: nothing new.
        let again: Vec<Prepared> = batch.iter().cloned().chain([event("b", 20)]).collect();
        assert_eq!(write(&tx, &again, 0).unwrap(), (None, 10));
    }
}
