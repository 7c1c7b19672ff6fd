//! Durations written the way people write them ("500ms", "1h", "90days").

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A duration read from text with `humantime` ("30s", "5m", "1h 30m") and shown the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl Span {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// The duration for date arithmetic. Every span of the settings is bounded by
    /// `Settings::validate` far below `TimeDelta::MAX`, which a larger one saturates to.
    pub fn delta(self) -> chrono::TimeDelta {
        chrono::TimeDelta::from_std(self.0).unwrap_or(chrono::TimeDelta::MAX)
    }
}

impl fmt::Display for Span {
    /// Whole days as days (`35days`, as the settings write them: humantime would say
    /// `1month 4days 13h 26m 24s`, its month being 30.44 days); anything else as humantime.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if self.0.subsec_nanos() == 0 && secs > 0 && secs % 86_400 == 0 {
            write!(f, "{}days", secs / 86_400)
        } else {
            write!(f, "{}", humantime::format_duration(self.0))
        }
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Span, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = Span;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"500ms\", \"30s\", \"5m\" or \"1h\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Span, E> {
                humantime::parse_duration(text.trim()).map(Span).map_err(|err| {
                    E::custom(format!("{text:?} is not a duration ({err}); write e.g. \"30s\", \"5m\", \"1h\""))
                })
            }
        }
        deserializer.deserialize_str(Text)
    }
}
