//! Group commit: the batches that wait for the one writer are written together, in
//! one transaction and so one `fsync`.
//!
//! `POST /v1/events` from several clients was bound by the writer, not by the CPU:
//! each 1,000-event request was its own immediate transaction under `synchronous =
//! FULL`, about 9 ms apiece one after the other, so 4, 8 or 16 connections all gave
//! about 108 k events/s with the machine 45% idle (`docs/benchmarks.md`). Now a batch
//! that arrives while another is written waits in a queue, and whichever caller next
//! holds the writer takes every batch queued and writes them as the segments of one
//! write ([`super::append::write`]). Dedupe is that of writing them one after the
//! other in the order they were queued; each caller learns its own count of
//! duplicates, and none is answered before the commit that made its events durable.
//!
//! A group that fails is written again batch by batch, so that a batch the store
//! refuses fails only its own caller.
//!
//! No crate does this for rusqlite; it is a queue and a loop over the writer the store
//! already has.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::event_key::RecentKeys;
use super::events::{insert_all, Prepared};
use crate::StoreError;

/// Events in one transaction at most: a group stays a bounded write (the demo's own
/// batches are 20,000 events).
const GROUP_EVENTS: usize = 64_000;

/// The batches waiting for the writer, oldest first.
#[derive(Default)]
pub(super) struct Queue {
    waiting: Mutex<Vec<Waiting>>,
}

/// One caller's batch and where its answer goes.
struct Waiting {
    rows: Arc<Vec<Prepared>>,
    done: oneshot::Sender<Result<u64, StoreError>>,
}

impl Queue {
    /// Queues `rows`; the answer (how many were stored already) comes once they are
    /// durable, from whichever caller wrote them.
    pub(super) fn push(&self, rows: Arc<Vec<Prepared>>) -> oneshot::Receiver<Result<u64, StoreError>> {
        let (done, answer) = oneshot::channel();
        self.lock().push(Waiting { rows, done });
        answer
    }

    /// Writes every batch queued, a group at a time, while holding the writer. A batch
    /// queued before this call is written by the time it returns (by this call or an
    /// earlier one), so every caller that queued and then called it has its answer.
    pub(super) fn write_queued(&self, conn: &mut Connection, recent: &mut RecentKeys) {
        loop {
            let group = self.next_group();
            if group.is_empty() {
                return;
            }
            let segments: Vec<&[Prepared]> = group.iter().map(|w| w.rows.as_slice()).collect();
            match insert_all(conn, recent, &segments) {
                Ok(duplicates) => {
                    for (w, d) in group.into_iter().zip(duplicates) {
                        // A caller that gave up waiting (a timeout) has dropped its
                        // receiver; its events are durable all the same.
                        let _ = w.done.send(Ok(d));
                    }
                }
                Err(err) if group.len() == 1 => {
                    let _ = group.into_iter().next().map(|w| w.done.send(Err(err)));
                }
                Err(err) => {
                    tracing::debug!(error = %err, batches = group.len(), "a group write failed; writing its batches one by one");
                    for w in group {
                        let answer = insert_all(conn, recent, &[w.rows.as_slice()]).map(|d| d.iter().sum());
                        let _ = w.done.send(answer);
                    }
                }
            }
        }
    }

    /// The oldest batches queued, up to [`GROUP_EVENTS`] events (at least one batch).
    fn next_group(&self) -> Vec<Waiting> {
        let mut waiting = self.lock();
        let mut events = 0;
        let take = waiting
            .iter()
            .take_while(|w| {
                let first = events == 0;
                events += w.rows.len();
                first || events <= GROUP_EVENTS
            })
            .count();
        waiting.drain(..take).collect()
    }

    /// The queue, even after a panic elsewhere: it holds only owned batches and
    /// senders, which a panic cannot leave half changed.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::append::tests::{event, open};

    fn batch(ids: &[(&str, i64)]) -> Arc<Vec<Prepared>> {
        Arc::new(ids.iter().map(|&(id, t)| event(id, t)).collect())
    }

    fn stored(conn: &Connection) -> Vec<(String, i64)> {
        conn.prepare("SELECT id, time_ms FROM usage_events ORDER BY row")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn answer(mut rx: oneshot::Receiver<Result<u64, StoreError>>) -> Result<u64, StoreError> {
        rx.try_recv().expect("answered before write_queued returned")
    }

    /// Batches queued together are one write with the dedupe of writing them in queue
    /// order: the first copy of an event is kept, whichever batch holds it, and each
    /// caller is told how many of its own were stored already.
    #[test]
    fn a_group_keeps_the_first_copy_and_counts_each_batchs_duplicates() {
        let mut conn = open();
        let mut recent = RecentKeys::default();
        let queue = Queue::default();
        let first = queue.push(batch(&[("a", 1)]));
        queue.write_queued(&mut conn, &mut recent);
        assert_eq!(answer(first).unwrap(), 0);

        let one = queue.push(batch(&[("a", 2), ("b", 3), ("c", 4)]));
        let two = queue.push(batch(&[("b", 5), ("d", 6), ("d", 7)]));
        let three = queue.push(batch(&[("c", 8), ("a", 9), ("e", 10)]));
        let rows_stored = |conn: &Connection| -> i64 {
            conn.query_row("SELECT count(*) FROM usage_events", [], |r| r.get(0)).unwrap()
        };
        assert_eq!(rows_stored(&conn), 1);
        queue.write_queued(&mut conn, &mut recent);
        assert_eq!(answer(one).unwrap(), 1, "a was stored before");
        assert_eq!(answer(two).unwrap(), 2, "b from the first batch, d twice in its own");
        assert_eq!(answer(three).unwrap(), 2, "c and a");
        let ids: Vec<(String, i64)> = stored(&conn);
        let expected: Vec<(String, i64)> =
            [("a", 1), ("b", 3), ("c", 4), ("d", 6), ("e", 10)].iter().map(|&(i, t)| (i.to_owned(), t)).collect();
        assert_eq!(ids, expected);
        assert!(queue.lock().is_empty());
    }

    /// A group the store refuses is written again batch by batch: only the refused
    /// batch's caller gets the error, the others' events are stored.
    #[test]
    fn a_refused_batch_fails_only_its_own_caller() {
        let mut conn = open();
        conn.execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON usage_events WHEN NEW.id = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .unwrap();
        let mut recent = RecentKeys::default();
        let queue = Queue::default();
        let one = queue.push(batch(&[("a", 1), ("b", 2)]));
        let bad = queue.push(batch(&[("c", 3), ("poison", 4)]));
        let three = queue.push(batch(&[("b", 5), ("d", 6)]));
        queue.write_queued(&mut conn, &mut recent);
        assert_eq!(answer(one).unwrap(), 0);
        assert!(answer(bad).is_err());
        assert_eq!(answer(three).unwrap(), 1);
        let ids: Vec<String> = stored(&conn).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["a", "b", "d"], "nothing of the refused batch, all of the others");
    }

    /// Groups stay under [`GROUP_EVENTS`] events, a batch larger than that is a group
    /// of its own, and one call writes every group queued.
    #[test]
    fn groups_are_bounded_and_one_call_writes_them_all() {
        let queue = Queue::default();
        let ids: Vec<String> = (0..GROUP_EVENTS + 1).map(|i| format!("big-{i}")).collect();
        let big: Vec<(&str, i64)> = ids.iter().enumerate().map(|(t, id)| (id.as_str(), t as i64)).collect();
        let half: Vec<(&str, i64)> = big[..GROUP_EVENTS / 2].to_vec();
        let sizes = [1, big.len(), half.len(), half.len(), 1];
        for (n, rows) in [&big[..1], &big[..], &half[..], &half[..], &big[..1]].into_iter().enumerate() {
            assert_eq!(rows.len(), sizes[n]);
            queue.push(batch(rows));
        }
        let mut groups = Vec::new();
        loop {
            let group = queue.next_group();
            if group.is_empty() {
                break;
            }
            groups.push(group.iter().map(|w| w.rows.len()).collect::<Vec<_>>());
        }
        assert_eq!(groups, [vec![1], vec![GROUP_EVENTS + 1], vec![GROUP_EVENTS / 2, GROUP_EVENTS / 2], vec![1]]);

        let mut conn = open();
        let mut recent = RecentKeys::default();
        let answers: Vec<_> = [&big[..1], &big[..], &half[..], &half[..], &big[..1]]
            .into_iter()
            .map(|rows| queue.push(batch(rows)))
            .collect();
        queue.write_queued(&mut conn, &mut recent);
        let duplicates: Vec<u64> = answers.into_iter().map(|a| answer(a).unwrap()).collect();
        assert_eq!(duplicates, [0, 1, half.len() as u64, half.len() as u64, 1]);
        assert_eq!(stored(&conn).len(), GROUP_EVENTS + 1);
        assert!(queue.lock().is_empty());
    }
}
