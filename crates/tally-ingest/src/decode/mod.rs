//! CloudEvents JSON to a billable [`UsageEvent`], or a [`Rejection`] that says why not.
//!
//! This is the one gate every event passes, whether it came from Kafka, a file, stdin
//! or HTTP: numbers are read exactly (the JSON text itself, never an `f64`), every
//! required attribute is checked by name, and each meter that reads the event's type
//! gets the value it needs or the event is rejected with the meter and path named.
//! A valid event that no meter reads is kept (a meter added later can bill it).

mod reason;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::value::RawValue;
use tally_domain::event::{DataError, MAX_DATA_DEPTH};
use tally_domain::json::{Leaf, Members};
use tally_domain::{Aggregation, Catalog, CustomerId, Meter, UsageEvent};
use tally_store::{storable, KafkaOrigin, RejectedEvent, DECIMAL_SCALE, MAX_VALUE};

pub use reason::Reason;

/// Limits every event is held to.
#[derive(Debug, Clone)]
pub struct DecodeRules {
    /// Largest accepted message, in bytes.
    pub max_bytes: usize,
    /// How far in the future `time` may be (producers' clocks drift).
    pub future_skew: TimeDelta,
    /// How old `time` may be; `None` accepts any age (late usage becomes an adjustment).
    pub late_window: Option<TimeDelta>,
}

impl Default for DecodeRules {
    fn default() -> Self {
        DecodeRules { max_bytes: 64 * 1024, future_skew: TimeDelta::minutes(5), late_window: Some(TimeDelta::days(35)) }
    }
}

/// Why an event was refused, with the field named and whatever identity could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The contract's reason code.
    pub reason: Reason,
    /// Human-readable detail naming the field, e.g. `data.tokens: "abc" is not a number (meter llm_tokens)`.
    pub detail: String,
    /// The event's `source`, if it could be read.
    pub source: Option<String>,
    /// The event's `id`, if it could be read.
    pub id: Option<String>,
}

impl Rejection {
    /// The dead letter as the store keeps it: the original bytes, why, and where from.
    pub fn stored(&self, raw: &[u8], received_at: DateTime<Utc>, origin: Option<KafkaOrigin>) -> RejectedEvent {
        RejectedEvent {
            received_at,
            reason: self.reason.code().to_owned(),
            detail: self.detail.clone(),
            source: self.source.clone(),
            id: self.id.clone(),
            raw: raw.to_vec(),
            origin,
        }
    }
}

/// A valid event and whether any meter reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The event, ready for the store.
    pub event: UsageEvent,
    /// False when no meter of the catalog reads the event's type (kept, counted as unmetered).
    pub metered: bool,
}

/// Decodes and validates events against a catalog's meters.
#[derive(Debug, Clone)]
pub struct Decoder {
    meters: HashMap<String, Vec<Meter>>,
    rules: DecodeRules,
}

const ATTRIBUTES: [&str; 5] = ["id", "source", "type", "subject", "time"];

impl Decoder {
    /// A decoder for the catalog's meters. A metered value the stores cannot hold exactly
    /// ([`tally_store::storable`]) is rejected; an unmetered one is kept as text only.
    pub fn new(catalog: &Catalog, rules: DecodeRules) -> Decoder {
        let mut meters: HashMap<String, Vec<Meter>> = HashMap::new();
        for meter in catalog.meters() {
            meters.entry(meter.event_type.clone()).or_default().push(meter.clone());
        }
        Decoder { meters, rules }
    }

    /// The rules in force.
    pub fn rules(&self) -> &DecodeRules {
        &self.rules
    }

    /// Decodes one message received at `now`.
    pub fn decode(&self, bytes: &[u8], now: DateTime<Utc>) -> Result<Decoded, Rejection> {
        let reject = |reason, detail: String| Rejection { reason, detail, source: None, id: None };
        if bytes.len() > self.rules.max_bytes {
            return Err(reject(
                Reason::TooLarge,
                format!("{} bytes, over the limit of {} bytes", bytes.len(), self.rules.max_bytes),
            ));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| reject(Reason::NotUtf8, format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
        // Before any parser sees it: the envelope is one level above `data`.
        if let Err(err) = tally_domain::event::check_depth(text, MAX_DATA_DEPTH + 1) {
            return Err(reject(Reason::TooDeep, format!("the event {err}; `data` may nest {MAX_DATA_DEPTH} levels")));
        }
        let object = match Members::parse(text) {
            Ok(object) => object,
            Err(err) => {
                return Err(match serde_json::from_str::<&RawValue>(text).map(Leaf::of) {
                    Ok(Ok(leaf)) => {
                        reject(Reason::NotCloudEvent, format!("a JSON {} instead of an object", leaf.kind()))
                    }
                    _ => reject(Reason::NotJson, err.to_string()),
                })
            }
        };
        let text_of = |name: &str| match object.get(name).map(Leaf::of) {
            Some(Ok(Leaf::Str(s))) => Some(s.into_owned()),
            _ => None,
        };
        self.decode_object(&object, now).map_err(|(reason, detail)| Rejection {
            reason,
            detail,
            source: text_of("source"),
            id: text_of("id"),
        })
    }

    fn decode_object<'a>(&self, object: &Members<'a>, now: DateTime<Utc>) -> Result<Decoded, (Reason, String)> {
        fn leaf(raw: &RawValue) -> Result<Leaf<'_>, (Reason, String)> {
            Leaf::of(raw).map_err(|e| (Reason::NotJson, e.to_string()))
        }
        match object.get("specversion") {
            Some(raw) if leaf(raw)? == Leaf::Str("1.0".into()) => {}
            Some(raw) => return Err((Reason::NotCloudEvent, format!("specversion: {} is not \"1.0\"", raw.get()))),
            None => return Err((Reason::NotCloudEvent, "specversion: missing".into())),
        }
        for (name, _) in object.iter() {
            // CloudEvents attribute names are lower-case letters and digits; anything
            // else is not an extension attribute but a malformed event.
            let well_formed = name == "data_base64"
                || !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !well_formed {
                return Err((
                    Reason::NotCloudEvent,
                    format!("{name:?}: not a CloudEvents attribute name (lower-case letters and digits only)"),
                ));
            }
        }
        let mut fields: [Cow<'a, str>; 5] = Default::default();
        for (slot, name) in fields.iter_mut().zip(ATTRIBUTES) {
            *slot = match object.get(name).map(leaf).transpose()? {
                None | Some(Leaf::Null) => return Err((Reason::MissingField, format!("{name}: missing"))),
                Some(Leaf::Str(s)) if s.is_empty() => return Err((Reason::MissingField, format!("{name}: empty"))),
                // Ids and names end up in logs, terminals, CSV files and SQL: no control
                // characters (NUL, escapes, line breaks).
                Some(Leaf::Str(s)) if s.chars().any(char::is_control) => {
                    let c = s.chars().find(|c| c.is_control()).unwrap_or_default();
                    return Err((
                        Reason::InvalidField,
                        format!("{name}: contains the control character U+{:04X}", u32::from(c)),
                    ));
                }
                Some(Leaf::Str(s)) => s,
                Some(other) => {
                    return Err((Reason::InvalidField, format!("{name}: a {} instead of a string", other.kind())))
                }
            };
        }
        let [id, source, event_type, subject, time] = fields;
        let time = DateTime::parse_from_rfc3339(&time)
            .map_err(|e| (Reason::BadTime, format!("time: {time:?} is not an RFC 3339 timestamp ({e})")))?
            .with_timezone(&Utc);
        if time > now + self.rules.future_skew {
            return Err((
                Reason::TimeInFuture,
                format!(
                    "time: {} is more than {} s ahead of {}",
                    time.to_rfc3339(),
                    self.rules.future_skew.num_seconds(),
                    now.to_rfc3339()
                ),
            ));
        }
        if let Some(window) = self.rules.late_window {
            if time < now - window {
                return Err((
                    Reason::TimeTooOld,
                    format!("time: {} is older than the late window of {} days", time.to_rfc3339(), window.num_days()),
                ));
            }
        }
        if let Some(raw) = object.get("datacontenttype") {
            let json = matches!(leaf(raw)?, Leaf::Str(t) if t.starts_with("application/json") || t.ends_with("+json"));
            if !json {
                return Err((Reason::InvalidField, format!("datacontenttype: {} is not JSON", raw.get())));
            }
        }
        if object.contains("data_base64") {
            return Err((Reason::InvalidField, "data_base64: binary data cannot be metered; send JSON `data`".into()));
        }
        let data = match object.get("data").map(|raw| (raw, leaf(raw))) {
            None => "{}",
            Some((_, leaf)) => match leaf? {
                Leaf::Null => "{}",
                Leaf::Object(text) => text,
                other => return Err((Reason::InvalidField, format!("data: a {} instead of an object", other.kind()))),
            },
        };
        let mut event = UsageEvent::from_data(CustomerId::new(subject), source, id, event_type.as_ref(), time, data)
            .map_err(|e| match e {
                DataError::TooDeep { .. } => (Reason::TooDeep, format!("data: {e}")),
                DataError::Json(e) => (Reason::NotJson, format!("data: {e}")),
            })?;
        let meters = self.meters.get(event_type.as_ref()).map(Vec::as_slice).unwrap_or_default();
        for meter in meters {
            self.check_value(meter, &event)?;
        }
        // Unmetered numbers the store cannot hold stay readable as text in `data`.
        event.numbers.retain(|(_, v)| storable(v));
        Ok(Decoded { event, metered: !meters.is_empty() })
    }

    fn check_value(&self, meter: &Meter, event: &UsageEvent) -> Result<(), (Reason, String)> {
        let Some(path) = meter.value.as_deref() else {
            return Ok(()); // count
        };
        let named = |what: String| format!("data.{path}: {what} (meter {})", meter.key);
        let Some(text) = event.string(path) else {
            if !meter.value_required {
                return Ok(());
            }
            return Err((Reason::MissingValue, named("missing".into())));
        };
        if meter.aggregation == Aggregation::UniqueCount {
            return Ok(());
        }
        let Some(value) = event.number(path) else {
            return Err(match tally_domain::decimal::parse_exact(text) {
                Err(tally_domain::decimal::DecimalTextError::OutOfRange(_)) => {
                    (Reason::ValueOutOfRange, named(format!("{text} cannot be held exactly")))
                }
                _ => (Reason::NonNumericValue, named(format!("{text:?} is not a number"))),
            });
        };
        if value.is_sign_negative() && !value.is_zero() {
            return Err((Reason::NegativeValue, named(format!("{value} is negative"))));
        }
        if !storable(&value) {
            return Err((
                Reason::ValueOutOfRange,
                named(format!("{value} cannot be held exactly (at most {DECIMAL_SCALE} decimals, below {MAX_VALUE})")),
            ));
        }
        Ok(())
    }
}
