//! The compact dedupe key of a stored event, 64 bits of `(source, id)`, and where the
//! keys taken are kept.
//!
//! The table used to be keyed by the `(source, id)` text itself (`WITHOUT ROWID`), so
//! every insert walked a B-tree holding whole rows in random order: at 10 M events a
//! 3.5 GB tree that no longer fit the page cache, and ingest fell from 54 k to 18 k
//! events/s. Rows are now appended in arrival order; what dedupe needs is a set of
//! 8-byte keys, each with the row holding it.
//!
//! Even that set, as one B-tree, degrades: a key lands on a random leaf, so a batch of
//! 20,000 events dirtied up to 20,000 pages of a 10 M-key tree (80 MB of WAL per batch;
//! measured: 108 k events/s at 500 k events, 38 k/s at 10 M). So the keys are kept in
//! two levels. The keys of rows up to `usage_keys_merged.up_to_row` are in `usage_keys`,
//! merged there in key order every [`MERGE_KEYS`] rows, one sequential pass that
//! touches each page of the big table once. The keys of the rows after it are the
//! `key` column of those rows themselves, and the writer holds them in memory
//! ([`RecentKeys`]), read from those rows once, at its first write.
//!
//! They were a second table, `usage_keys_recent` (until migration 11). A commit then
//! wrote to the WAL every leaf of it that the batch's keys touched, and with random
//! keys that was nearly every leaf: measured on `POST /v1/events`, a request of 1,000
//! events spent 60% of the writer's time committing and checkpointing those pages
//! (about 4 MB per request). Held in memory they cost nothing to commit: the rows are
//! written anyway, and the map is rebuilt from them.
//!
//! 64 bits can collide, so the key is a slot, not an identity: a write that finds its
//! slot taken compares the stored `(source, id)` and, if it is another event, tries the
//! next slot (open addressing, [`probe`]). Events are never deleted, so a lookup that
//! reaches a free slot has seen every slot the event could be in: dedupe stays exact.
//! The hash is XXH3 (the `twox-hash` crate, already in the tree through `clickhouse`): a
//! published, platform-independent function, since the keys are stored and must hash
//! the same in every release.

use rusqlite::Transaction;
use rustc_hash::FxHashMap;
use twox_hash::XxHash3_64;

/// The first slot of `(source, id)`.
pub(crate) fn of(source: &str, id: &str) -> i64 {
    // 0xFF never occurs in UTF-8, so ("ab", "c") and ("a", "bc") hash different input.
    let mut input = Vec::with_capacity(source.len() + 1 + id.len());
    input.extend_from_slice(source.as_bytes());
    input.push(0xFF);
    input.extend_from_slice(id.as_bytes());
    XxHash3_64::oneshot(&input) as i64
}

/// The slot after `key`, wrapping.
pub(crate) fn probe(key: i64) -> i64 {
    key.wrapping_add(1)
}

/// New rows after which the recent keys are merged: a merge rewrites the big table's
/// leaves once, so it costs about what 16 bytes per merged key are worth, while the
/// recent keys stay a map of at most a million entries (about 30 MB).
pub(crate) const MERGE_KEYS: i64 = 1 << 20;

/// The slots of the rows not merged yet, as this process knows them.
///
/// Another process may write the same file between two writes of this one (`tally
/// ingest` beside `tally run`), so a write starts with [`catch_up`](Self::catch_up) in
/// its immediate transaction: rows appended since are read in, a merge made by the
/// other process drops what it merged. The map changes only after a commit
/// ([`committed`](Self::committed)); a write that failed leaves it as it was.
#[derive(Debug)]
pub(crate) struct RecentKeys {
    /// Rows after which a write merges ([`MERGE_KEYS`]; fewer in tests).
    merge_every: i64,
    /// Rows up to this one have their keys in `usage_keys`.
    merged_up_to: i64,
    /// Rows up to this one are in `slots` (or merged).
    known_up_to: i64,
    slots: FxHashMap<i64, i64>,
}

impl Default for RecentKeys {
    fn default() -> Self {
        RecentKeys { merge_every: MERGE_KEYS, merged_up_to: 0, known_up_to: 0, slots: FxHashMap::default() }
    }
}

impl RecentKeys {
    /// Keys that merge every `rows` rows (a test's small store).
    #[cfg(test)]
    pub(crate) fn merging_every(rows: i64) -> Self {
        RecentKeys { merge_every: rows, ..RecentKeys::default() }
    }

    /// The row holding slot `key` among the rows not merged.
    pub(crate) fn get(&self, key: i64) -> Option<i64> {
        self.slots.get(&key).copied()
    }

    /// Brings the map up to the file in `tx` (a write transaction); the last row.
    pub(crate) fn catch_up(&mut self, tx: &Transaction<'_>) -> rusqlite::Result<i64> {
        let merged: i64 = tx.prepare_cached("SELECT up_to_row FROM usage_keys_merged")?.query_row([], |r| r.get(0))?;
        let last: i64 =
            tx.prepare_cached("SELECT coalesce(max(row), 0) FROM usage_events")?.query_row([], |r| r.get(0))?;
        if merged < self.merged_up_to || last < self.known_up_to {
            // Not a file this map was made from (rows are never deleted): read it again.
            *self = RecentKeys { merge_every: self.merge_every, ..RecentKeys::default() };
        }
        if merged > self.merged_up_to {
            self.slots.retain(|_, row| *row > merged);
            self.merged_up_to = merged;
            self.known_up_to = self.known_up_to.max(merged);
        }
        if last > self.known_up_to {
            let mut read = tx.prepare_cached("SELECT key, row FROM usage_events WHERE row > ?1")?;
            let mut rows = read.query([self.known_up_to])?;
            while let Some(r) = rows.next()? {
                self.slots.insert(r.get(0)?, r.get(1)?);
            }
            self.known_up_to = last;
        }
        Ok(last)
    }

    /// Merges the recent keys into `usage_keys` in `tx` when [`MERGE_KEYS`] rows are
    /// pending after `last_row`; the row merged up to, if it did.
    pub(crate) fn merge_when_due(&self, tx: &Transaction<'_>, last_row: i64) -> rusqlite::Result<Option<i64>> {
        if last_row - self.merged_up_to < self.merge_every {
            return Ok(None);
        }
        merge(tx, self.merged_up_to, last_row).map(Some)
    }

    /// What a committed write did: `taken` slots up to `last_row`, or a merge up to it.
    pub(crate) fn committed(
        &mut self,
        taken: impl IntoIterator<Item = (i64, i64)>,
        last_row: i64,
        merged: Option<i64>,
    ) {
        match merged {
            Some(up_to) => {
                self.slots.clear();
                self.merged_up_to = up_to;
            }
            None => self.slots.extend(taken),
        }
        self.known_up_to = last_row;
    }
}

/// Moves the keys of rows `(after, up_to]` into the merged table, in key order.
pub(crate) fn merge(tx: &Transaction<'_>, after: i64, up_to: i64) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT OR ROLLBACK INTO usage_keys (key, row) SELECT key, row FROM usage_events \
         WHERE row > ?1 AND row <= ?2 ORDER BY key",
    )?
    .execute([after, up_to])?;
    tx.prepare_cached("UPDATE usage_keys_merged SET up_to_row = ?1")?.execute([up_to])?;
    Ok(up_to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_published_xxh3_of_source_ff_id() {
        // Values from another implementation (PyPI's `xxhash`, over the C reference:
        // `xxh3_64_intdigest(b"tally-demo\xff000000000000")`); a change of hash or of
        // encoding would orphan every stored key.
        assert_eq!(XxHash3_64::oneshot(b"") as i64, 0x2D06800538D394C2u64 as i64);
        assert_eq!(of("tally-demo", "000000000000"), 0x3CD35B4B6C5AB724u64 as i64);
        assert_ne!(of("ab", "c"), of("a", "bc"));
        assert_eq!(probe(i64::MAX), i64::MIN);
    }
}
