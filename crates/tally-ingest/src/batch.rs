//! The messages read since the last commit: valid events, dead letters, and the offset
//! each partition may commit once they are durable.

use std::collections::BTreeMap;
use std::time::Instant;

use tally_store::{IncomingEvent, RejectedEvent};

/// One batch on its way to the store.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub events: Vec<IncomingEvent>,
    /// Dead letters, as stored in `rejected_events`.
    pub rejected: Vec<RejectedEvent>,
    /// The original message key of each dead letter, in the order of `rejected`.
    pub rejected_keys: Vec<Option<Vec<u8>>>,
    /// Per (topic, partition): the offset to commit, one past the last message read.
    pub next_offsets: BTreeMap<(String, i32), i64>,
    pub messages: usize,
    pub bytes: usize,
    pub started: Option<Instant>,
}

impl Batch {
    /// Notes that a message at `offset` is in the batch.
    pub fn read(&mut self, topic: &str, partition: i32, offset: i64, bytes: usize) {
        self.started.get_or_insert_with(Instant::now);
        self.messages += 1;
        self.bytes += bytes;
        let next = self.next_offsets.entry((topic.to_owned(), partition)).or_insert(offset + 1);
        *next = (*next).max(offset + 1);
    }

    pub fn is_empty(&self) -> bool {
        self.messages == 0
    }
}
