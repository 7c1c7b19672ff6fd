//! A batch of events written with a few statements, not three per event.
//!
//! The row-at-a-time writer ([`Writer::put_from`](super::events::Writer::put_from))
//! ran a slot lookup, the append and the key insert for each event: measured on the
//! demo, about 11 µs per event on the one writer thread, a quarter of it the cost of a
//! statement itself (begin, cursors, halt, binds) rather than its B-tree work, and a
//! tenth a statement journal. Here a batch is written in three steps, all in the caller's transaction:
//!
//! 1. **Which first slots are taken**: the recent keys are in memory
//!    ([`RecentKeys`]); the merged ones are found by one statement over the batch's
//!    keys, passed sorted as one array parameter (rusqlite's `rarray`, SQLite's `carray`
//!    table-valued function ported to Rust: the crate's own, so no C extension to
//!    build), which seeks the merged table in key order.
//! 2. **The append**: every event whose first slot is free in the store and not taken
//!    earlier in the batch is new. Those rows are inserted many per statement, under
//!    row numbers counted from the table's last. `INSERT OR ROLLBACK`, since any
//!    failure abandons the whole transaction anyway, spares SQLite the statement
//!    journal a multi-row insert otherwise keeps (measured: 93-96 k against 107-110 k
//!    events/s on the demo).
//! 3. **The rest**, an event whose first slot is taken (a duplicate, almost always, or
//!    a 64-bit collision), goes through the exact row-at-a-time writer after the append,
//!    so it sees the batch's new rows and slots as it sees older ones.
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
use super::event_key::RecentKeys;
use super::events::{NewRow, Prepared, Writer};
use crate::StoreError;

/// Rows per `INSERT` statement: 13 parameters each, far below SQLite's limit of 32,766,
/// and enough that the statement's own cost is spread thin (measured in
/// `docs/benchmarks.md`).
const ROWS_PER_INSERT: usize = 64;

/// The columns of an appended row, in parameter order.
const COLUMNS: &str = "(row, key, source, id, customer, event_type, time_ms, numbers, strings, \
     ingested_at_ms, kafka_topic, kafka_partition, kafka_offset)";

/// The keys among `?1` (sorted) that a merged slot holds.
const MERGED: &str = "SELECT t.key FROM rarray(?1) AS k CROSS JOIN usage_keys AS t ON t.key = k.value";

/// What a batch write did.
pub(super) struct Written {
    /// The rows appended, if any.
    pub appended: Option<Appended>,
    /// The events stored already, per segment.
    pub duplicates: Vec<u64>,
    /// The slots the new rows took, and the last row after the write.
    pub taken: FxHashMap<i64, i64>,
    pub last_row: i64,
}

/// An `INSERT` of `rows` rows (one for the row-at-a-time writer), each under its row
/// number, the parameters in the order of [`COLUMNS`].
pub(super) fn insert_sql(rows: usize) -> String {
    let one = format!("({})", vec!["?"; 13].join(", "));
    format!("INSERT OR ROLLBACK INTO usage_events {COLUMNS} VALUES {}", vec![one; rows].join(", "))
}

/// Writes the events of `segments`, one after the other as if they were one batch,
/// after row `last` (the table's last) in the caller's transaction, `recent` holding
/// the slots of the rows not merged. Segments are the batches of several callers
/// written in one commit ([`super::group`]); each gets its own count of duplicates.
pub(super) fn write(
    tx: &Transaction<'_>,
    recent: &RecentKeys,
    last: i64,
    segments: &[&[Prepared]],
    ingested_at_ms: i64,
) -> Result<Written, StoreError> {
    let sqlite = |what: &'static str| StoreError::sqlite(what);
    let events = || segments.iter().enumerate().flat_map(|(s, events)| events.iter().map(move |e| (s, e)));
    let mut sorted: Vec<i64> = events().map(|(_, e)| e.key).filter(|k| recent.get(*k).is_none()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let keys: Rc<Vec<Value>> = Rc::new(sorted.into_iter().map(Value::Integer).collect());
    let merged: FxHashSet<i64> = tx
        .prepare_cached(MERGED)
        .and_then(|mut s| s.query_map([keys], |r| r.get(0))?.collect())
        .map_err(sqlite("looking up the batch's keys"))?;

    // Step 2: the events that are certainly new.
    let mut taken: FxHashMap<i64, i64> = FxHashMap::default();
    let (mut new, mut later) = (Vec::with_capacity(segments.iter().map(|s| s.len()).sum()), Vec::new());
    let mut row = last;
    for (s, e) in events() {
        match taken.entry(e.key) {
            Entry::Vacant(slot) if recent.get(e.key).is_none() && !merged.contains(&e.key) => {
                row += 1;
                slot.insert(row);
                new.push((row, e));
            }
            _ => later.push((s, e)),
        }
    }
    let mut appended: Option<Appended> = None;
    let full = insert_sql(ROWS_PER_INSERT);
    for chunk in new.chunks(ROWS_PER_INSERT) {
        let mut values: Vec<&dyn ToSql> = Vec::with_capacity(chunk.len() * 13);
        let origins: Vec<(Option<&str>, Option<i32>, Option<i64>)> = chunk
            .iter()
            .map(|(_, e)| match &e.kafka {
                Some((t, p, o)) => (Some(&**t), Some(*p), Some(*o)),
                None => (None, None, None),
            })
            .collect();
        for ((r, e), o) in chunk.iter().zip(&origins) {
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
    }

    // Step 3: the events whose first slot is taken, one at a time.
    let mut duplicates = vec![0; segments.len()];
    let mut writer = Writer::new(tx, recent, row, taken).map_err(sqlite("preparing the insert"))?;
    for (s, e) in later {
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
        let put = writer.put_from(&row, e.key);
        match put.map_err(|err| StoreError::sqlite(format!("inserting event ({}, {})", e.source, e.id))(err))? {
            Some(r) => {
                Appended::extend(&mut appended, r, row.time_ms);
            }
            None => duplicates[s] += 1,
        }
    }
    let (taken, last_row) = writer.finish();
    Ok(Written { appended, duplicates, taken, last_row })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::embedded::event_key;
    use crate::embedded::events::insert;
    use rusqlite::Connection;

    /// An event of source `gw` (also the group commit's tests' rows).
    pub(crate) fn event(id: &str, time_ms: i64) -> Prepared {
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

    /// A migrated store in memory, with the array module the batch write uses.
    pub(crate) fn open() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        rusqlite::vtab::array::load_module(&conn).unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn stored(conn: &Connection) -> Vec<(i64, String, i64)> {
        conn.prepare("SELECT row, id, time_ms FROM usage_events ORDER BY row")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Merges every row's key, as a merge made by another process would.
    fn merge_all(conn: &mut Connection) {
        let tx = conn.transaction().unwrap();
        let (after, last): (i64, i64) = tx
            .query_row(
                "SELECT (SELECT up_to_row FROM usage_keys_merged), (SELECT max(row) FROM usage_events)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        event_key::merge(&tx, after, last).unwrap();
        tx.commit().unwrap();
    }

    fn expected(rows: &[(i64, &str, i64)]) -> Vec<(i64, String, i64)> {
        rows.iter().map(|&(r, id, t)| (r, id.to_owned(), t)).collect()
    }

    /// Every way an event of a batch can meet another: new, repeated in the batch,
    /// stored before (merged and recent keys), and in a slot held by another event
    /// (merged, recent, or earlier in the batch). The first copy of each is kept, once.
    #[test]
    fn a_batch_keeps_the_first_copy_of_each_event_and_probes_past_collisions() {
        let mut conn = open();
        let mut recent = RecentKeys::default();
        assert_eq!(insert(&mut conn, &mut recent, &[event("a", 1), event("b", 2)]).unwrap(), 0);
        merge_all(&mut conn); // a and b merged; c will be recent
        assert_eq!(insert(&mut conn, &mut recent, &[event("c", 3)]).unwrap(), 0);

        let batch = [
            event("d", 10),
            event("a", 11),          // stored, merged key
            event("d", 12),          // earlier in this batch
            event("c", 13),          // stored, recent key
            colliding("e", "b", 14), // b's slot, b merged: probes on
            event("f", 15),
            colliding("g", "f", 16), // f's slot, f earlier in this batch
            colliding("g", "f", 17), // the same g again
            colliding("i", "c", 18), // c's slot, c recent
            event("h", 19),
        ];
        assert_eq!(insert(&mut conn, &mut recent, &batch).unwrap(), 4, "a, c, d and g again");
        assert_eq!(
            stored(&conn),
            expected(&[
                (1, "a", 1),
                (2, "b", 2),
                (3, "c", 3),
                (4, "d", 10),
                (5, "f", 15),
                (6, "h", 19),
                (7, "e", 14),
                (8, "g", 16),
                (9, "i", 18)
            ]),
            "new events first, then the ones that had to look further"
        );
        let slot = |row: i64| -> i64 {
            conn.query_row("SELECT key FROM usage_events WHERE row = ?1", [row], |r| r.get(0)).unwrap()
        };
        assert_eq!(slot(7), event_key::probe(event_key::of("gw", "b")), "e in the slot after b's");
        assert_eq!(slot(8), event_key::probe(event_key::of("gw", "f")), "g in the slot after f's");
        assert_eq!(slot(9), event_key::probe(event_key::of("gw", "c")), "i in the slot after c's");
        let blocks: (i64, i64, i64, i64) = conn
            .query_row(
                "SELECT min(first_row), max(last_row), min(min_time_ms), max(max_time_ms) FROM usage_blocks",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(blocks, (1, 9, 1, 19), "every row is in a block");

        // All of them again, in one batch, before and after a merge: nothing new.
        let again: Vec<Prepared> = batch.iter().cloned().chain([event("b", 20)]).collect();
        assert_eq!(insert(&mut conn, &mut recent, &again).unwrap(), 11);
        merge_all(&mut conn);
        assert_eq!(insert(&mut conn, &mut recent, &again).unwrap(), 11);
        assert_eq!(stored(&conn).len(), 9);
    }

    /// Two writers of one file (two processes), each with its own recent keys: each sees
    /// what the other appended and merged since its last write.
    #[test]
    fn a_writer_catches_up_with_rows_and_merges_of_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        let (mut one, mut two) = (open_file(&path), open_file(&path));
        let (mut recent_one, mut recent_two) = (RecentKeys::default(), RecentKeys::default());
        assert_eq!(insert(&mut one, &mut recent_one, &[event("a", 1), event("b", 2)]).unwrap(), 0);
        assert_eq!(insert(&mut two, &mut recent_two, &[event("a", 3), event("c", 4)]).unwrap(), 1, "a from one");
        assert_eq!(insert(&mut one, &mut recent_one, &[event("c", 5), colliding("d", "c", 6)]).unwrap(), 1);
        merge_all(&mut two);
        assert_eq!(
            insert(&mut two, &mut recent_two, &[colliding("d", "c", 7), event("e", 8)]).unwrap(),
            1,
            "d from one"
        );
        assert_eq!(insert(&mut one, &mut recent_one, &[event("e", 9), event("b", 10), event("f", 11)]).unwrap(), 2);
        assert_eq!(
            stored(&one),
            expected(&[(1, "a", 1), (2, "b", 2), (3, "c", 4), (4, "d", 6), (5, "e", 8), (6, "f", 11)])
        );
    }

    /// Writes that merge every 3 rows: each merge moves exactly the rows after the last
    /// one, and dedupe holds across them.
    #[test]
    fn writes_merge_the_recent_keys_when_due() {
        let mut conn = open();
        let mut recent = RecentKeys::merging_every(3);
        let merged = |conn: &Connection| -> (i64, i64) {
            conn.query_row(
                "SELECT (SELECT up_to_row FROM usage_keys_merged), (SELECT count(*) FROM usage_keys)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        insert(&mut conn, &mut recent, &[event("a", 1), event("b", 2)]).unwrap();
        assert_eq!(merged(&conn), (0, 0), "2 rows pending");
        insert(&mut conn, &mut recent, &[event("a", 3), event("c", 4), event("d", 5)]).unwrap();
        assert_eq!(merged(&conn), (4, 4), "4 rows pending: merged");
        assert_eq!(insert(&mut conn, &mut recent, &[event("d", 6), event("e", 7)]).unwrap(), 1);
        assert_eq!(merged(&conn), (4, 4), "1 row pending");
        assert_eq!(insert(&mut conn, &mut recent, &[event("e", 8), event("f", 9), event("g", 10)]).unwrap(), 1);
        assert_eq!(merged(&conn), (7, 7));
        let again: Vec<Prepared> = ["a", "b", "c", "d", "e", "f", "g"].iter().map(|id| event(id, 11)).collect();
        assert_eq!(insert(&mut conn, &mut recent, &again).unwrap(), 7);
        assert_eq!(stored(&conn).len(), 7);
    }

    fn open_file(path: &std::path::Path) -> Connection {
        let mut conn = Connection::open(path).unwrap();
        rusqlite::vtab::array::load_module(&conn).unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }
}
