//! The compact dedupe key of a stored event, 64 bits of `(source, id)`, and the two
//! tables that hold the keys taken.
//!
//! The table used to be keyed by the `(source, id)` text itself (`WITHOUT ROWID`), so
//! every insert walked a B-tree holding whole rows in random order: at 10 M events a
//! 3.5 GB tree that no longer fit the page cache, and ingest fell from 54 k to 18 k
//! events/s. Rows are now appended in arrival order; what dedupe needs is a set of
//! 8-byte keys, each with the row holding it.
//!
//! Even that set, as one B-tree, degrades: a key lands on a random leaf, so a batch of
//! 20,000 events dirtied up to 20,000 pages of a 10 M-key tree (80 MB of WAL per batch;
//! measured: 108 k events/s at 500 k events, 38 k/s at 10 M). So the keys are kept as
//! a small LSM tree in two tables: new keys go to `usage_keys_recent`, small enough to
//! stay cached, and every [`MERGE_KEYS`] new rows they are moved into `usage_keys` in
//! key order, one sequential pass that touches each page of the big table once. A
//! lookup reads both (one statement); the tables never share a key.
//!
//! 64 bits can collide, so the key is a slot, not an identity: a write that finds its
//! slot taken compares the stored `(source, id)` and, if it is another event, tries the
//! next slot (open addressing, [`probe`]). Events are never deleted, so a lookup that
//! reaches a free slot has seen every slot the event could be in: dedupe stays exact.
//! The hash is XXH3 (the `twox-hash` crate, already in the tree through `clickhouse`): a
//! published, platform-independent function, since the keys are stored and must hash
//! the same in every release.

use rusqlite::Transaction;
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
/// recent table (16 MB at most) stays in the page cache.
pub(crate) const MERGE_KEYS: i64 = 1 << 20;

/// Counts `added` new rows and merges the recent keys once [`MERGE_KEYS`] are pending,
/// in the caller's transaction (a crash leaves the keys where they were).
pub(crate) fn merge_when_due(tx: &Transaction<'_>, added: i64) -> rusqlite::Result<()> {
    let pending: i64 = tx
        .prepare_cached("UPDATE usage_keys_pending SET rows = rows + ?1 RETURNING rows")?
        .query_row([added], |r| r.get(0))?;
    if pending >= MERGE_KEYS {
        merge(tx)?;
    }
    Ok(())
}

/// Moves every recent key into the merged table (read in key order: the rowid order of
/// `usage_keys_recent`).
pub(crate) fn merge(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "INSERT INTO usage_keys (key, row) SELECT key, row FROM usage_keys_recent ORDER BY key;
         DELETE FROM usage_keys_recent;
         UPDATE usage_keys_pending SET rows = 0;",
    )
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
