//! [`EmbeddedStore`]: the connections, their settings, and the writes.
//!
//! One writer connection behind a mutex (SQLite has one writer at a time anyway) and a
//! small pool of read-only connections beside it: in WAL mode readers never wait for
//! the writer nor the writer for them, so a client listing invoices or explaining a
//! line cannot hold up ingest (measured before the pool: 8 read clients raised the
//! median ingest latency from 5 ms to 2.5 s, all of them queued on one connection).
//! The pool is a few lines over a `Vec` of connections rather than r2d2: connections
//! are opened lazily on blocking threads and kept up to [`READERS_KEPT`]. Event batches
//! queue for the writer and are committed together (`group.rs`), and a thread of the
//! store checkpoints the log off the writer's path (`checkpoint.rs`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection};
use tally_domain::Period;

use super::checkpoint::{Checkpoints, WRITER_CHECKPOINT_PAGES};
use super::event_key::RecentKeys;
use super::group::Queue;
use super::{aggregate, blocks, events, schema};
use crate::{EventBatch, KafkaOrigin, RejectedEvent, StoreError, UsageAggregate, UsageQuery, UsageStore};

/// Usage in one SQLite file. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct EmbeddedStore {
    writer: Arc<Mutex<WriteSide>>,
    /// Event batches waiting for the writer, written together (group commit).
    queue: Arc<Queue>,
    readers: Arc<Readers>,
    checkpoints: Arc<Checkpoints>,
}

/// The writer connection, and the slots of the rows not merged yet that only its writes
/// read and change.
struct WriteSide {
    conn: Connection,
    recent: RecentKeys,
}

/// Read-only connections not in use right now.
struct Readers {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// Idle read connections kept open (more are opened while many readers are busy).
const READERS_KEPT: usize = 8;

impl Readers {
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(conn);
        }
        let context = format!("opening {} to read", self.path.display());
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(StoreError::sqlite(&context))?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(StoreError::sqlite(&context))?;
        conn.pragma_update(None, "cache_size", -16384).map_err(StoreError::sqlite(&context))?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < READERS_KEPT {
                idle.push(conn);
            }
        }
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store at `path` and applies its migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let context = format!("opening {}", path.display());
        let mut conn = Connection::open(path).map_err(StoreError::sqlite(&context))?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(StoreError::sqlite(&context))?;
        // Switching to WAL and migrating need the file to themselves; when processes open
        // it together SQLite can answer "busy" at once (no busy handler for a lock
        // upgrade that could deadlock), so both are retried until the busy timeout.
        retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL")).map_err(StoreError::sqlite(&context))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(StoreError::sqlite(&context))?;
        // Checkpoints are the checkpoint thread's (`checkpoint.rs`); the writer's own
        // only bound the log.
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .map_err(StoreError::sqlite(&context))?;
        // 32 MiB of page cache instead of SQLite's 2 MiB: the indexes of a month of
        // events stay in memory while it is written (measured: the write rate fell from
        // 37k to 22k events/s between 100k and 1M events, most of it in page reads).
        conn.pragma_update(None, "cache_size", -32768).map_err(StoreError::sqlite(&context))?;
        // The batch write passes its keys as one array (`append.rs`), and keeps more
        // statements prepared than rusqlite's default of 16.
        rusqlite::vtab::array::load_module(&conn).map_err(StoreError::sqlite(&context))?;
        conn.set_prepared_statement_cache_capacity(64);
        retry_busy(|| schema::migrate(&mut conn))
            .map_err(StoreError::sqlite(format!("migrating {}", path.display())))?;
        let readers = Readers { path: path.to_owned(), idle: Mutex::new(Vec::new()) };
        let checkpoints = Checkpoints::start(path)
            .map_err(|e| StoreError::Worker(format!("starting the checkpoint thread of {}: {e}", path.display())))?;
        let writer = WriteSide { conn, recent: RecentKeys::default() };
        Ok(EmbeddedStore {
            writer: Arc::new(Mutex::new(writer)),
            queue: Arc::new(Queue::default()),
            readers: Arc::new(readers),
            checkpoints: Arc::new(checkpoints),
        })
    }

    /// Runs `f` on a read-only connection of the pool in a blocking thread; it sees
    /// every write committed before it starts.
    pub(super) async fn with_reader<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let out = f(&conn);
            readers.give_back(conn);
            out
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Runs `f` on the connection in a blocking thread.
    pub(super) async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.with_writer(move |conn, _| f(conn)).await
    }

    /// Runs `f` on the connection and the recent keys in a blocking thread.
    async fn with_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &mut RecentKeys) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let writer = Arc::clone(&self.writer);
        let checkpoints = Arc::clone(&self.checkpoints);
        tokio::task::spawn_blocking(move || {
            let mut guard = writer.lock().map_err(|_| StoreError::Worker("a previous operation panicked".into()))?;
            let WriteSide { conn, recent } = &mut *guard;
            let out = f(conn, recent);
            checkpoints.due();
            out
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }
}

/// Runs `f` again while SQLite says the database is busy, for up to 30 seconds.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn insert_rejected(conn: &mut Connection, rejected: &[RejectedEvent]) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(StoreError::sqlite("starting a write"))?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO rejected_events (received_at_ms, reason, detail, source, id, raw, kafka_topic, \
                 kafka_partition, kafka_offset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(StoreError::sqlite("preparing the insert of rejected events"))?;
        for r in rejected {
            let origin = r.origin.as_ref();
            stmt.execute(params![
                r.received_at.timestamp_millis(),
                r.reason,
                r.detail,
                r.source,
                r.id,
                r.raw,
                origin.map(|o| &*o.topic),
                origin.map(|o| o.partition),
                origin.map(|o| o.offset),
            ])
            .map_err(StoreError::sqlite("inserting a rejected event"))?;
        }
    }
    tx.commit().map_err(StoreError::sqlite("committing rejected events"))
}

fn read_rejected(conn: &Connection, period: &Period) -> Result<Vec<RejectedEvent>, StoreError> {
    let context = "reading rejected events";
    let mut stmt = conn
        .prepare_cached(
            "SELECT received_at_ms, reason, detail, source, id, raw, kafka_topic, kafka_partition, kafka_offset \
             FROM rejected_events WHERE received_at_ms >= ?1 AND received_at_ms < ?2 ORDER BY received_at_ms, rowid",
        )
        .map_err(StoreError::sqlite(context))?;
    let rows = stmt
        .query_map(params![period.start().timestamp_millis(), period.end().timestamp_millis()], |row| {
            let topic: Option<String> = row.get(6)?;
            let partition: Option<i32> = row.get(7)?;
            let offset: Option<i64> = row.get(8)?;
            Ok(RejectedEvent {
                received_at: chrono::DateTime::from_timestamp_millis(row.get(0)?).unwrap_or_default(),
                reason: row.get(1)?,
                detail: row.get(2)?,
                source: row.get(3)?,
                id: row.get(4)?,
                raw: row.get(5)?,
                origin: match (topic, partition, offset) {
                    (Some(topic), Some(partition), Some(offset)) => {
                        Some(KafkaOrigin { topic: topic.into(), partition, offset })
                    }
                    _ => None,
                },
            })
        })
        .map_err(StoreError::sqlite(context))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(StoreError::sqlite(context))
}

impl UsageStore for EmbeddedStore {
    async fn insert_rejected(&self, rejected: &[RejectedEvent]) -> Result<(), StoreError> {
        let rejected = rejected.to_vec();
        self.with_conn(move |conn| insert_rejected(conn, &rejected)).await
    }

    async fn rejected(&self, period: &Period) -> Result<Vec<RejectedEvent>, StoreError> {
        let period = *period;
        self.with_reader(move |conn| read_rejected(conn, &period)).await
    }

    type Batch = events::Batch;

    fn batch(&self) -> events::Batch {
        events::Batch::default()
    }

    async fn insert_batch(&self, batch: &events::Batch) -> Result<Option<u64>, StoreError> {
        if batch.is_empty() {
            return Ok(Some(0));
        }
        // Queued, then written by this call or by one that held the writer before it
        // (group commit, `group.rs`): either way the answer comes after the commit.
        let answer = self.queue.push(batch.rows());
        let queue = Arc::clone(&self.queue);
        self.with_writer(move |conn, recent| {
            queue.write_queued(conn, recent);
            Ok(())
        })
        .await?;
        let written = answer.await.map_err(|_| StoreError::Worker("a queued batch was dropped unwritten".into()))?;
        written.map(Some)
    }

    async fn aggregate(&self, query: &UsageQuery) -> Result<Vec<UsageAggregate>, StoreError> {
        let query = query.clone();
        let mut answers = self.with_reader(move |conn| aggregate::run_many(conn, std::slice::from_ref(&query))).await?;
        Ok(answers.pop().unwrap_or_default())
    }

    async fn aggregate_many(&self, queries: &[UsageQuery]) -> Result<Vec<Vec<UsageAggregate>>, StoreError> {
        let queries = queries.to_vec();
        self.with_reader(move |conn| aggregate::run_many(conn, &queries)).await
    }

    async fn sample_events(
        &self,
        customer: &tally_domain::CustomerId,
        event_type: &str,
        period: &Period,
        limit: usize,
    ) -> Result<Vec<crate::EventSample>, StoreError> {
        let (customer, event_type, period) = (customer.to_string(), event_type.to_owned(), *period);
        self.with_reader(move |conn| {
            let context = "reading sample events";
            let (start_ms, end_ms) = (period.start().timestamp_millis(), period.end().timestamp_millis());
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let read = || -> rusqlite::Result<Vec<(String, String, i64, String)>> {
                let mut statement = conn.prepare_cached(
                    "SELECT source, id, time_ms, strings FROM usage_events \
                     WHERE row >= ?1 AND row <= ?2 AND event_type = ?3 AND customer = ?4 AND time_ms >= ?5 AND time_ms < ?6 \
                     ORDER BY time_ms, source, id LIMIT ?7",
                )?;
                // The first `limit` of each block range, then the first `limit` of those.
                let mut rows = Vec::new();
                for (first, last) in blocks::ranges(conn, start_ms, end_ms)? {
                    let found = statement.query_map(
                        (first, last, &event_type, &customer, start_ms, end_ms, limit),
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                    )?;
                    for row in found {
                        rows.push(row?);
                    }
                }
                rows.sort_by(|a: &(String, String, i64, String), b| (a.2, &a.0, &a.1).cmp(&(b.2, &b.0, &b.1)));
                rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                Ok(rows)
            };
            let rows = read().map_err(StoreError::sqlite(context))?;
            rows.into_iter()
                .map(|(source, id, time_ms, strings)| {
                    let corrupt = |message: String| StoreError::Corrupt {
                        context: format!("{context}: event ({source}, {id})"),
                        message,
                    };
                    let time = chrono::DateTime::from_timestamp_millis(time_ms)
                        .ok_or_else(|| corrupt(format!("time_ms {time_ms} is out of range")))?;
                    let strings = serde_json::from_str(&strings).map_err(|e| corrupt(format!("strings: {e}")))?;
                    Ok(crate::EventSample { source, id, time, strings })
                })
                .collect()
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0)).map_err(StoreError::sqlite("ping"))?;
            Ok(())
        })
        .await
    }

    async fn count_events(&self, period: &Period) -> Result<u64, StoreError> {
        let period = *period;
        self.with_reader(move |conn| {
            let (start_ms, end_ms) = (period.start().timestamp_millis(), period.end().timestamp_millis());
            let count = || -> rusqlite::Result<u64> {
                let mut statement = conn.prepare_cached(
                    "SELECT count(*) FROM usage_events WHERE row >= ?1 AND row <= ?2 AND time_ms >= ?3 AND time_ms < ?4",
                )?;
                let mut n = 0u64;
                for (first, last) in blocks::ranges(conn, start_ms, end_ms)? {
                    n += statement.query_row((first, last, start_ms, end_ms), |row| row.get::<_, i64>(0))? as u64;
                }
                Ok(n)
            };
            count().map_err(StoreError::sqlite("counting events"))
        })
        .await
    }

    /// Nothing to do: the dedupe keys keep every copy out at insert time.
    async fn compact(&self, _period: &Period) -> Result<(), StoreError> {
        Ok(())
    }
}
