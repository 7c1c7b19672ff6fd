//! The messages read since the last commit: valid events (already in the store's own
//! form, see [`tally_store::EventBatch`]), dead letters, and the offset each partition
//! may commit once they are durable.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tally_store::{EventBatch, IncomingEvent, KafkaOrigin, RejectedEvent};

use crate::decode::{Decoded, Reason, Rejection};

/// One batch on its way to the store.
pub(crate) struct Batch<B> {
    pub events: B,
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

impl<B: EventBatch> Batch<B> {
    /// An empty batch whose events go into `events`.
    pub fn new(events: B) -> Self {
        Batch {
            events,
            rejected: Vec::new(),
            rejected_keys: Vec::new(),
            next_offsets: BTreeMap::new(),
            messages: 0,
            bytes: 0,
            started: None,
        }
    }

    /// Notes that a message at `offset` is in the batch.
    pub fn read(&mut self, topic: &str, partition: i32, offset: i64, bytes: usize) {
        self.started.get_or_insert_with(Instant::now);
        self.messages += 1;
        self.bytes += bytes;
        // Looked up before it is inserted: no key copied per message.
        match self.next_offsets.iter_mut().find(|((t, p), _)| *p == partition && t == topic) {
            Some((_, next)) => *next = (*next).max(offset + 1),
            None => {
                self.next_offsets.insert((topic.to_owned(), partition), offset + 1);
            }
        }
    }

    /// Adds what the decoder made of `payload`: the event in the store's form, or the
    /// dead letter (also for an event the store refuses: it is never lost).
    pub fn take(
        &mut self,
        decoded: Result<Decoded, Rejection>,
        payload: &[u8],
        key: Option<&[u8]>,
        now: DateTime<Utc>,
        origin: Option<KafkaOrigin>,
    ) -> Result<bool, Rejection> {
        let rejection = match decoded {
            Ok(decoded) => {
                let incoming = IncomingEvent { event: decoded.event, origin };
                match self.events.push(&incoming) {
                    Ok(()) => return Ok(decoded.metered),
                    Err(err) => {
                        let (source, id) = (incoming.event.source, incoming.event.id);
                        let detail = err.to_string();
                        let rejection =
                            Rejection { reason: Reason::ValueOutOfRange, detail, source: Some(source), id: Some(id) };
                        self.reject(&rejection, payload, key, now, incoming.origin);
                        return Err(rejection);
                    }
                }
            }
            Err(rejection) => rejection,
        };
        self.reject(&rejection, payload, key, now, origin);
        Err(rejection)
    }

    fn reject(
        &mut self,
        rejection: &Rejection,
        payload: &[u8],
        key: Option<&[u8]>,
        now: DateTime<Utc>,
        origin: Option<KafkaOrigin>,
    ) {
        self.rejected.push(rejection.stored(payload, now, origin));
        self.rejected_keys.push(key.map(<[u8]>::to_vec));
    }

    pub fn is_empty(&self) -> bool {
        self.messages == 0
    }
}
