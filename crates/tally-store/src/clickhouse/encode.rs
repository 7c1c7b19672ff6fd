//! A batch of `usage_events` rows as the RowBinary bytes ClickHouse reads, written as
//! each event is decoded, so a batch in memory is its bytes (about 150 per event), not
//! the decoded events with their dozen allocations each, and a write only sends them.
//!
//! Hand-written rather than through the `clickhouse` crate's typed `Insert`: that
//! serializes at write time from rows kept alive until then, and its RowBinary
//! serializer is not public. The format is small and fixed (RowBinary: strings and
//! arrays as a LEB128 length and their content, numbers little-endian, `Decimal(38, 12)`
//! as its i128 mantissa), and the contract tests read every column back.
//!
//! One insert must never hold two copies of an event (see parts.rs): a copy of an
//! event already in the batch is dropped here. Copies are found by a 64-bit hash of
//! `(source, id)` and confirmed by comparing the text written, so distinct events whose
//! hashes collide are both kept.

use std::hash::{BuildHasher, Hasher};

use rustc_hash::FxHashMap;

use super::rows::to_raw;
use crate::{EventBatch, IncomingEvent, StoreError};

/// The columns, in the order [`Encoded::push`] writes them.
pub(crate) const COLUMNS: &str = "customer, event_type, source, id, time, time_ms, num_keys, num_values, \
     str_keys, str_values, ingested_at, kafka_topic, kafka_partition, kafka_offset";

/// `usage_events` rows in RowBinary, each event once.
#[derive(Debug, Default)]
pub struct Encoded {
    bytes: Vec<u8>,
    pushed: usize,
    rows: usize,
    /// Where each row's `source` starts, by the hash of `(source, id)`.
    first: FxHashMap<u64, u32>,
    /// Rows whose hash was taken by another event (a 64-bit collision).
    collided: Vec<u32>,
}

impl Encoded {
    /// The RowBinary bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Distinct events (rows to write).
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the row whose `source` starts at `at` is the event `(source, id)`.
    fn holds(&self, at: u32, source: &str, id: &str) -> bool {
        let mut rest = &self.bytes[at as usize..];
        [source, id].iter().all(|want| match read_str(&mut rest) {
            Some(got) => got == want.as_bytes(),
            None => false,
        })
    }
}

impl EventBatch for Encoded {
    fn push(&mut self, incoming: &IncomingEvent) -> Result<(), StoreError> {
        let e = &incoming.event;
        crate::check_event(e)?;
        let key = {
            let mut h = rustc_hash::FxBuildHasher.build_hasher();
            h.write(e.source.as_bytes());
            h.write_u8(0xFF);
            h.write(e.id.as_bytes());
            h.finish()
        };
        let mut collides = false;
        if let Some(&at) = self.first.get(&key) {
            if self.holds(at, &e.source, &e.id) || self.collided.iter().any(|&at| self.holds(at, &e.source, &e.id)) {
                self.pushed += 1;
                return Ok(()); // a copy: written once
            }
            collides = true;
        }
        let b = &mut self.bytes;
        let start = b.len();
        put_str(b, e.customer.as_str());
        put_str(b, &e.event_type);
        let Ok(at) = u32::try_from(b.len()) else {
            b.truncate(start);
            return Err(StoreError::Unstorable {
                context: "a batch of usage events".into(),
                message: "over 4 GiB".into(),
            });
        };
        put_str(b, &e.source);
        put_str(b, &e.id);
        b.extend_from_slice(&u32::try_from(e.time.timestamp()).unwrap_or(0).to_le_bytes());
        b.extend_from_slice(&e.time_millis().to_le_bytes());
        put_len(b, e.numbers.len());
        e.numbers.iter().for_each(|(k, _)| put_str(b, k));
        put_len(b, e.numbers.len());
        for (path, value) in &e.numbers {
            match to_raw(*value, || format!("event ({}, {}) data.{path}", e.source, e.id)) {
                Ok(raw) => b.extend_from_slice(&raw.to_le_bytes()),
                Err(err) => {
                    b.truncate(start); // the batch as it was
                    return Err(err);
                }
            }
        }
        put_len(b, e.strings.len());
        e.strings.iter().for_each(|(k, _)| put_str(b, k));
        put_len(b, e.strings.len());
        e.strings.iter().for_each(|(_, v)| put_str(b, v));
        let ingested_at = u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        b.extend_from_slice(&ingested_at.to_le_bytes());
        let origin = incoming.origin.as_ref();
        put_str(b, origin.map_or("", |o| &*o.topic));
        b.extend_from_slice(&origin.map_or(-1, |o| o.partition).to_le_bytes());
        b.extend_from_slice(&origin.map_or(-1, |o| o.offset).to_le_bytes());
        match collides {
            true => self.collided.push(at),
            false => {
                self.first.insert(key, at);
            }
        }
        self.rows += 1;
        self.pushed += 1;
        Ok(())
    }

    fn len(&self) -> usize {
        self.pushed
    }
}

/// A LEB128 length, as RowBinary prefixes strings and arrays.
fn put_len(b: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7F) as u8;
        n >>= 7;
        if n == 0 {
            b.push(byte);
            return;
        }
        b.push(byte | 0x80);
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    put_len(b, s.len());
    b.extend_from_slice(s.as_bytes());
}

/// Reads back one string written by [`put_str`], advancing `rest`.
fn read_str<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (mut n, mut shift) = (0usize, 0u32);
    loop {
        let (&byte, tail) = rest.split_first()?;
        *rest = tail;
        n |= usize::from(byte & 0x7F).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let (s, tail) = rest.split_at_checked(n)?;
    *rest = tail;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_domain::{CustomerId, UsageEvent};

    fn event(id: &str) -> IncomingEvent {
        UsageEvent::from_data(
            CustomerId::new("acme"),
            "gw",
            id,
            "llm.tokens",
            "2026-11-05T12:00:00.123Z".parse().unwrap(),
            r#"{"model":"m","tokens":"1.5"}"#,
        )
        .unwrap()
        .into()
    }

    #[test]
    fn lengths_are_leb128() {
        for (n, want) in [(0usize, vec![0u8]), (127, vec![127]), (128, vec![0x80, 1]), (300, vec![0xAC, 2])] {
            let mut b = Vec::new();
            put_len(&mut b, n);
            assert_eq!(b, want, "{n}");
        }
        let long = "x".repeat(300);
        let mut b = Vec::new();
        put_str(&mut b, &long);
        let mut rest = &b[..];
        assert_eq!(read_str(&mut rest), Some(long.as_bytes()));
        assert!(rest.is_empty());
    }

    #[test]
    fn a_copy_in_the_batch_is_written_once_and_a_collision_is_kept() {
        let mut batch = Encoded::default();
        batch.push(&event("a")).unwrap();
        let one = batch.bytes().len();
        batch.push(&event("a")).unwrap();
        assert_eq!((batch.len(), batch.rows(), batch.bytes().len()), (2, 1, one), "the copy is dropped");
        // Another event given the same hash slot by hand: kept, and its copy dropped.
        let at = batch.first[&batch.first.keys().next().copied().unwrap()];
        batch.first.clear();
        let b = event("b");
        let key = {
            let mut h = rustc_hash::FxBuildHasher.build_hasher();
            h.write(b"gw");
            h.write_u8(0xFF);
            h.write(b"b");
            h.finish()
        };
        batch.first.insert(key, at); // "a" now sits where "b" hashes
        batch.push(&b).unwrap();
        batch.push(&b).unwrap();
        assert_eq!((batch.len(), batch.rows(), batch.collided.len()), (4, 2, 1));
        assert_eq!(batch.bytes().len(), 2 * one);
    }

    #[test]
    fn an_unstorable_value_is_refused_and_leaves_the_batch_as_it_was() {
        let mut batch = Encoded::default();
        batch.push(&event("a")).unwrap();
        let mut bad = event("b");
        bad.event.numbers[0].1 = "0.0000000000001".parse().unwrap();
        let err = batch.push(&bad).unwrap_err();
        assert!(err.to_string().contains("(gw, b) data.tokens"), "{err}");
        assert_eq!((batch.len(), batch.rows()), (1, 1));
    }
}
