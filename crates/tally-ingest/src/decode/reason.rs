//! Why an event cannot be billed: the stable reason codes of the events contract.
//!
//! The code travels with every dead letter (a Kafka header), labels the rejection
//! metric and is stored in `rejected_events`, so it must never change once published.

use std::fmt;

/// A reason an event goes to the dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The message is larger than the configured limit.
    TooLarge,
    /// The event nests objects and arrays deeper than the limit.
    TooDeep,
    /// The bytes are not UTF-8.
    NotUtf8,
    /// The text is not JSON (or is truncated).
    NotJson,
    /// JSON, but not a CloudEvent: not an object, wrong `specversion`, a malformed attribute name.
    NotCloudEvent,
    /// A required attribute (`id`, `source`, `type`, `subject`, `time`) is missing or empty.
    MissingField,
    /// An attribute has the wrong type (e.g. a number for `id`, an array for `data`).
    InvalidField,
    /// `time` is not an RFC 3339 timestamp.
    BadTime,
    /// `time` is further in the future than the allowed clock skew.
    TimeInFuture,
    /// `time` is older than the late window.
    TimeTooOld,
    /// A meter of the event's type needs a `data` property that is missing.
    MissingValue,
    /// A meter's value is not a number (nor a numeric string).
    NonNumericValue,
    /// A meter's value is negative.
    NegativeValue,
    /// A meter's value cannot be stored exactly (too many decimals or too large).
    ValueOutOfRange,
}

impl Reason {
    /// Every reason, for metrics that start at zero.
    pub const ALL: [Reason; 14] = [
        Reason::TooLarge,
        Reason::TooDeep,
        Reason::NotUtf8,
        Reason::NotJson,
        Reason::NotCloudEvent,
        Reason::MissingField,
        Reason::InvalidField,
        Reason::BadTime,
        Reason::TimeInFuture,
        Reason::TimeTooOld,
        Reason::MissingValue,
        Reason::NonNumericValue,
        Reason::NegativeValue,
        Reason::ValueOutOfRange,
    ];

    /// The stable code, e.g. `missing_field`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::TooLarge => "too_large",
            Reason::TooDeep => "too_deep",
            Reason::NotUtf8 => "not_utf8",
            Reason::NotJson => "not_json",
            Reason::NotCloudEvent => "not_cloudevent",
            Reason::MissingField => "missing_field",
            Reason::InvalidField => "invalid_field",
            Reason::BadTime => "bad_time",
            Reason::TimeInFuture => "time_in_future",
            Reason::TimeTooOld => "time_too_old",
            Reason::MissingValue => "missing_value",
            Reason::NonNumericValue => "non_numeric_value",
            Reason::NegativeValue => "negative_value",
            Reason::ValueOutOfRange => "value_out_of_range",
        }
    }

    /// The reason of a code, for replays and reports.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
