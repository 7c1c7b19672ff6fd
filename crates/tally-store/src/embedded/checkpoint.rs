//! Checkpoints off the writer's path: a thread of the store, on a connection of its
//! own, copies the write-ahead log into the database file while the writer goes on.
//!
//! SQLite checkpoints in the connection that commits, once the log passes
//! `wal_autocheckpoint` pages (1,000 by default): the writer stopped every few batches
//! to copy pages into the file and wait for its `fsync`. Measured on `POST /v1/events`
//! (600,000 events, 4 connections, `docs/benchmarks.md`): 56-58 k events/s with those
//! checkpoints, 83 k with none at all, the machine half idle waiting on the disk.
//!
//! Here the writer only nudges this thread after a commit, and its own automatic
//! checkpoint stays as a backstop at [`WRITER_CHECKPOINT_PAGES`]: a passive checkpoint
//! that runs while the writer appends never sees the log's end, and SQLite starts the
//! log over only after a checkpoint that did. The backstop bounds the log, and when it
//! runs, most of the log is copied already.
//!
//! Durability is unchanged: a commit is durable in the log (`synchronous = FULL`)
//! before it returns; a checkpoint only moves committed pages, and a crash during one
//! is recovered by SQLite from the log.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use rusqlite::Connection;

/// The writer's own automatic checkpoint, in pages (4 KiB each): 32 MiB of log.
pub(super) const WRITER_CHECKPOINT_PAGES: i64 = 8_192;

/// How long the thread lets commits gather after a nudge before it checkpoints.
const GATHER: Duration = Duration::from_millis(5);

/// The nudge to the checkpoint thread; the thread ends when the store (every clone)
/// is dropped.
pub(super) struct Checkpoints {
    nudge: SyncSender<()>,
}

impl Checkpoints {
    /// Starts the thread for the database at `path`.
    pub(super) fn start(path: &Path) -> std::io::Result<Self> {
        let (nudge, nudged) = sync_channel(1);
        let path = path.to_owned();
        std::thread::Builder::new().name("tally-checkpoint".into()).spawn(move || run(&path, &nudged))?;
        Ok(Checkpoints { nudge })
    }

    /// Something was committed: checkpoint soon. Never waits.
    pub(super) fn due(&self) {
        match self.nudge.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => {
                tracing::debug!("the checkpoint thread has ended; the writer's own checkpoints remain")
            }
        }
    }
}

fn run(path: &Path, nudged: &Receiver<()>) {
    let conn = match open(path) {
        Ok(conn) => conn,
        Err(err) => {
            tracing::warn!(error = %err, path = %path.display(), "no checkpoint thread; the writer checkpoints alone");
            return;
        }
    };
    while nudged.recv().is_ok() {
        std::thread::sleep(GATHER);
        // A nudge that came while sleeping is covered by this checkpoint.
        let _ = nudged.try_recv();
        // PASSIVE: copies what it can without waiting for the writer or readers.
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match done {
            Ok((_, log, copied)) => tracing::trace!(log, copied, "checkpoint"),
            Err(err) => tracing::debug!(error = %err, "checkpoint failed; the next one will try again"),
        }
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The copied pages are synced to the file before the log may be reused.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(Duration::from_secs(1))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database in WAL mode in a new directory, and its writer.
    fn wal_database() -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        (dir, path, writer)
    }

    fn log_frames(conn: &Connection) -> (i64, i64) {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?))).unwrap()
    }

    /// With the writer's automatic checkpoint off, the thread alone copies the log
    /// into the file after a nudge.
    #[test]
    fn a_nudge_copies_the_log_into_the_file() {
        let (_dir, path, writer) = wal_database();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let checkpoints = Checkpoints::start(&path).unwrap();
        for _ in 0..50 {
            writer.execute("INSERT INTO t VALUES (randomblob(8000))", []).unwrap();
        }
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        checkpoints.due();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() < before + 50 * 8000 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(size() >= before + 50 * 8000, "the file holds the rows: {} bytes, {before} before", size());
        let (log, copied) = log_frames(&writer);
        assert_eq!(log, copied, "every frame of the log is in the file");
        assert_eq!(writer.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap(), 50);
    }

    /// The thread ends with its store, and a nudge after that is harmless.
    #[test]
    fn the_thread_ends_with_the_store() {
        let (_dir, path, _writer) = wal_database();
        let (nudge, nudged) = sync_channel(1);
        let thread = std::thread::spawn(move || run(&path, &nudged));
        let checkpoints = Checkpoints { nudge };
        checkpoints.due();
        drop(checkpoints);
        thread.join().unwrap();
    }
}
