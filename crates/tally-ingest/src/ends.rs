//! Where a backfill stops: the end of every partition when the worker started.
//!
//! `tally ingest --stop-at-end` reads a topic that is not growing (a backfill, a
//! benchmark's pre-filled topic) and exits once all of it is durable and committed.
//! The ends are the high watermarks at start; a partition already committed up to its
//! end by the group is done before it is read.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};

use crate::error::IngestError;

/// Per (topic, partition): the offset this run must commit up to, for partitions not
/// done yet.
#[derive(Debug, Default)]
pub(crate) struct Ends {
    remaining: BTreeMap<(String, i32), i64>,
}

impl Ends {
    /// The ends of `topics` now, less what `consumer`'s group has already committed.
    pub(crate) fn at_start<C: Consumer<X>, X: ConsumerContext>(
        consumer: &C,
        topics: &[String],
    ) -> Result<Self, IngestError> {
        let timeout = Duration::from_secs(10);
        let mut remaining = BTreeMap::new();
        let mut list = TopicPartitionList::new();
        for topic in topics {
            let metadata = consumer
                .fetch_metadata(Some(topic), timeout)
                .map_err(IngestError::kafka(format!("reading {topic}'s metadata")))?;
            for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
                let (low, high) = consumer
                    .fetch_watermarks(topic, partition.id(), timeout)
                    .map_err(IngestError::kafka(format!("reading {topic}/{}'s offsets", partition.id())))?;
                if high > low {
                    remaining.insert((topic.clone(), partition.id()), high);
                    list.add_partition(topic, partition.id());
                }
            }
        }
        let committed =
            consumer.committed_offsets(list, timeout).map_err(IngestError::kafka("reading the group's offsets"))?;
        let mut ends = Ends { remaining };
        for element in committed.elements() {
            if let Offset::Offset(next) = element.offset() {
                ends.committed(element.topic(), element.partition(), next);
            }
        }
        Ok(ends)
    }

    /// Notes that `topic/partition` is committed up to `next` (exclusive).
    pub(crate) fn committed(&mut self, topic: &str, partition: i32, next: i64) {
        let key = (topic.to_owned(), partition);
        if self.remaining.get(&key).is_some_and(|end| next >= *end) {
            self.remaining.remove(&key);
        }
    }

    /// Whether committing `batch` (and the batch `before` it, if any) would finish
    /// every partition still to finish.
    pub(crate) fn reached_by(
        &self,
        batch: &BTreeMap<(String, i32), i64>,
        before: Option<&BTreeMap<(String, i32), i64>>,
    ) -> bool {
        let done = |offsets: Option<&BTreeMap<(String, i32), i64>>, key, end| {
            offsets.and_then(|o| o.get(key)).is_some_and(|next| next >= end)
        };
        !self.remaining.is_empty()
            && self.remaining.iter().all(|(key, end)| done(Some(batch), key, end) || done(before, key, end))
    }

    /// Whether every partition is committed up to its end.
    pub(crate) fn reached(&self) -> bool {
        self.remaining.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_is_done_when_committed_up_to_its_end() {
        let mut ends = Ends::default();
        ends.remaining.insert(("usage".into(), 0), 10);
        ends.remaining.insert(("usage".into(), 1), 5);
        ends.committed("usage", 0, 9);
        ends.committed("other", 0, 100);
        assert!(!ends.reached());
        let batch = BTreeMap::from([(("usage".to_owned(), 0), 10)]);
        let before = BTreeMap::from([(("usage".to_owned(), 1), 5)]);
        assert!(!ends.reached_by(&batch, None));
        assert!(ends.reached_by(&batch, Some(&before)));
        ends.committed("usage", 0, 10);
        assert!(!ends.reached());
        ends.committed("usage", 1, 5);
        assert!(ends.reached());
    }
}
