//! What goes into the store (events with their origin) and what an aggregation asks
//! and answers.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tally_domain::{CustomerId, Dimensions, Meter, Period, UsageEvent};

/// Where a Kafka-delivered event was read, kept for evidence and replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaOrigin {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
}

/// An event that cannot be billed, kept with its original bytes and why, so it can be
/// fixed and replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedEvent {
    /// When it was rejected.
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// A stable reason code from the events contract, e.g. `missing_field`, `bad_time`.
    pub reason: String,
    /// The human-readable detail, naming the field.
    pub detail: String,
    /// The event's `source`, if it could be read.
    pub source: Option<String>,
    /// The event's `id`, if it could be read.
    pub id: Option<String>,
    /// The message exactly as received.
    pub raw: Vec<u8>,
    /// Where it was read, if from Kafka.
    pub origin: Option<KafkaOrigin>,
}

/// An event on its way into the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingEvent {
    /// The validated event.
    pub event: UsageEvent,
    /// Where it was read, if from Kafka.
    pub origin: Option<KafkaOrigin>,
}

impl From<UsageEvent> for IncomingEvent {
    fn from(event: UsageEvent) -> Self {
        IncomingEvent { event, origin: None }
    }
}

/// One quantity to aggregate: a meter, optionally filtered and split by dimensions.
/// Typically one per charge of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageItem {
    /// The meter: event type, aggregation and value path.
    pub meter: Meter,
    /// Only events whose data has these values.
    pub filter: BTreeMap<String, String>,
    /// One row per distinct combination of these data properties.
    pub group_by: Vec<String>,
}

/// A period's usage for one customer or for all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    /// `[start, end)` of event time.
    pub period: Period,
    /// One customer (a preview) or every customer (invoicing) when `None`.
    pub customer: Option<CustomerId>,
    /// What to aggregate.
    pub items: Vec<UsageItem>,
}

/// One aggregated quantity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsageAggregate {
    /// The customer.
    pub customer: CustomerId,
    /// Position of the item in the query.
    pub item: usize,
    /// The item's filter values and this row's group values (a group property that an
    /// event lacks is left out).
    pub dimensions: Dimensions,
    /// The aggregated quantity.
    pub quantity: Decimal,
}

impl UsageItem {
    /// The dimensions of a result row: the filter, plus the non-empty group values.
    pub(crate) fn dimensions(&self, groups: impl IntoIterator<Item = String>) -> Dimensions {
        let mut dims: Dimensions = self.filter.clone();
        for (name, value) in self.group_by.iter().zip(groups) {
            if !value.is_empty() {
                dims.insert(name.clone(), value);
            }
        }
        dims
    }
}
