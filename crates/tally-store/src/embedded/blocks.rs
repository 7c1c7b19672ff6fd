//! Which stretches of the usage table can hold events of a time range: a block-range
//! index (as PostgreSQL's BRIN or ClickHouse's minmax skip index), kept beside the rows.
//!
//! Rows are appended in arrival order ([`events`](super::events)), so secondary
//! B-tree indexes on time or on (event type, customer, time) were the cost of ingest:
//! each event inserted at a random place in each of them (measured on the demo: 58 k
//! events/s with both, 121 k/s without). Instead each write records the row range it
//! appended with the smallest and largest event time in it, one `usage_blocks` row per
//! block of up to [`BLOCK_ROWS`] rows. A read of a period scans, in row order, only the
//! blocks whose times meet the period: with events arriving roughly in time, a month
//! is the month's blocks; with shuffled times (the demo) it is every block of that
//! month's arrivals, never more than the table. Rows after the last block (there are
//! none unless a write recorded no block) are always scanned, so no event is missed.
//!
//! The one secondary index left is on the customer, whose entries are (customer, row):
//! with rows numbered in arrival order, each customer's entries are appended at its end
//! of the index, a few hot pages at any size, and one customer's rows of a block range
//! are an index range.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// Rows a block grows to before a write starts the next one: small enough that a
/// block of events arriving in time covers minutes, large enough that the block table
/// stays a few hundred rows for ten million events written in small batches.
const BLOCK_ROWS: i64 = 65_536;

/// What one write appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Appended {
    pub first_row: i64,
    pub last_row: i64,
    pub min_time_ms: i64,
    pub max_time_ms: i64,
}

impl Appended {
    /// Adds one appended row to `range` (which starts with it when `None`).
    pub(super) fn extend(range: &mut Option<Appended>, row: i64, time_ms: i64) -> Appended {
        let one = Appended { first_row: row, last_row: row, min_time_ms: time_ms, max_time_ms: time_ms };
        let grown = range.map_or(one, |a| Appended {
            first_row: a.first_row.min(row),
            last_row: a.last_row.max(row),
            min_time_ms: a.min_time_ms.min(time_ms),
            max_time_ms: a.max_time_ms.max(time_ms),
        });
        *range = Some(grown);
        grown
    }

    /// How many rows the range holds (a write's rows are numbered one after another).
    pub(super) fn rows(&self) -> i64 {
        self.last_row - self.first_row + 1
    }
}

/// Records `appended` in the write's transaction: it extends the last block when that
/// block ends just before it and is not full, and starts a new block otherwise.
pub(super) fn record(tx: &Transaction<'_>, appended: Appended) -> rusqlite::Result<()> {
    let last: Option<(i64, i64, i64)> = tx
        .prepare_cached("SELECT rowid, first_row, last_row FROM usage_blocks ORDER BY rowid DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match last {
        Some((block, first, last)) if last + 1 == appended.first_row && last - first + 1 < BLOCK_ROWS => {
            tx.prepare_cached(
                "UPDATE usage_blocks SET last_row = ?2, min_time_ms = min(min_time_ms, ?3), \
                 max_time_ms = max(max_time_ms, ?4) WHERE rowid = ?1",
            )?
            .execute(params![block, appended.last_row, appended.min_time_ms, appended.max_time_ms])?;
        }
        _ => {
            tx.prepare_cached(
                "INSERT INTO usage_blocks (first_row, last_row, min_time_ms, max_time_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                appended.first_row,
                appended.last_row,
                appended.min_time_ms,
                appended.max_time_ms
            ])?;
        }
    }
    Ok(())
}

/// The row ranges `[first, last]` that can hold events with a time in `[start_ms,
/// end_ms)`, in row order, adjacent ones merged, and the rows after the last block.
pub(super) fn ranges(conn: &Connection, start_ms: i64, end_ms: i64) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    let mut statement = conn
        .prepare_cached("SELECT first_row, last_row, min_time_ms, max_time_ms FROM usage_blocks ORDER BY first_row")?;
    let mut rows = statement.query([])?;
    let mut covered = 0i64;
    while let Some(r) = rows.next()? {
        let (first, last, min, max): (i64, i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        covered = covered.max(last);
        if max < start_ms || min >= end_ms {
            continue;
        }
        match out.last_mut() {
            Some(previous) if previous.1 + 1 >= first => previous.1 = previous.1.max(last),
            _ => out.push((first, last)),
        }
    }
    match out.last_mut() {
        Some(previous) if previous.1 >= covered => previous.1 = i64::MAX,
        _ => out.push((covered + 1, i64::MAX)),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn write(conn: &mut Connection, appended: Appended) {
        let tx = conn.transaction().unwrap();
        record(&tx, appended).unwrap();
        tx.commit().unwrap();
    }

    fn block(first_row: i64, last_row: i64, min_time_ms: i64, max_time_ms: i64) -> Appended {
        Appended { first_row, last_row, min_time_ms, max_time_ms }
    }

    #[test]
    fn a_period_reads_the_blocks_that_meet_it_and_the_unrecorded_tail() {
        let mut conn = store();
        assert_eq!(ranges(&conn, 0, 10).unwrap(), [(1, i64::MAX)], "an empty store: everything");
        write(&mut conn, block(1, 100, 0, 9));
        // Follows on and the block is not full: extends it.
        write(&mut conn, block(101, 200, 5, 19));
        write(&mut conn, block(201 + BLOCK_ROWS, 300 + BLOCK_ROWS, 30, 39));
        let blocks: i64 = conn.query_row("SELECT count(*) FROM usage_blocks", [], |r| r.get(0)).unwrap();
        assert_eq!(blocks, 2, "the gap starts a new block");
        assert_eq!(ranges(&conn, 0, 5).unwrap(), [(1, 200), (301 + BLOCK_ROWS, i64::MAX)]);
        assert_eq!(ranges(&conn, 20, 30).unwrap(), [(301 + BLOCK_ROWS, i64::MAX)], "[20, 30) meets no block");
        assert_eq!(ranges(&conn, 39, 40).unwrap(), [(201 + BLOCK_ROWS, i64::MAX)], "the last block runs into the tail");
        assert_eq!(ranges(&conn, 0, 100).unwrap(), [(1, 200), (201 + BLOCK_ROWS, i64::MAX)]);
    }

    #[test]
    fn a_full_block_is_not_extended() {
        let mut conn = store();
        write(&mut conn, block(1, BLOCK_ROWS, 0, 0));
        write(&mut conn, block(BLOCK_ROWS + 1, BLOCK_ROWS + 10, 50, 50));
        assert_eq!(ranges(&conn, 50, 51).unwrap(), [(BLOCK_ROWS + 1, i64::MAX)], "only the second block is read");
    }
}
