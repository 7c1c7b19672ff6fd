//! The compact dedupe key of a stored event: 64 bits of `(source, id)`.
//!
//! The table used to be keyed by the `(source, id)` text itself (`WITHOUT ROWID`), so
//! every insert walked a B-tree holding whole rows in random order: at 10 M events a
//! 3.5 GB tree that no longer fit the page cache, and ingest fell from 54 k to 18 k
//! events/s. Now rows are appended in arrival order and found for dedupe through a
//! unique index of this 8-byte key, small enough to stay cached (10 M keys are about
//! 120 MB).
//!
//! 64 bits can collide, so the key is a slot, not an identity: an insert that meets a
//! taken slot compares the stored `(source, id)` and, if it is another event, tries
//! the next slot (open addressing, [`probe`]). Events are never deleted, so a lookup
//! that reaches a free slot has seen every slot the event could be in: dedupe stays
//! exact. The hash is XXH3 (the `twox-hash` crate, already in the tree through
//! `clickhouse`): a published, platform-independent function, since the keys are
//! stored and must hash the same in every release.

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
