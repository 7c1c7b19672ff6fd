//! Aggregated usage: what a subscription consumed in a period, per meter and dimensions.
//!
//! This is the input of the rating engine. [`RateRequest`] is the `usage.json` file of
//! `tally rate` (see the pricing contract); the invoicer builds the same type from
//! the store's aggregates.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

use crate::decimal::parse_exact;
use crate::ids::{MeterKey, PlanKey};
use crate::period::Period;

/// Dimension name to value, ordered, so equal dimension sets compare and hash equal.
pub type Dimensions = BTreeMap<String, String>;

/// One meter's aggregated quantity for one combination of dimension values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    /// The meter that measured it.
    pub meter: MeterKey,
    /// Dimension values of this row (may be empty).
    pub dimensions: Dimensions,
    /// Aggregated quantity; never negative.
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
}

/// A request to rate one subscription's usage for one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRequest {
    /// The plan to price with.
    pub plan: PlanKey,
    /// The billing period.
    pub period: Period,
    /// When the subscription was active, for fee proration; the whole period if `None`.
    pub active: Option<Period>,
    /// Usage rows; rows with the same meter and dimensions add up.
    pub usage: Vec<UsageRow>,
}

/// A usage file that cannot be rated, naming the file and the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}: {}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct UsageError {
    /// The file as named by the caller.
    pub file: String,
    /// Path to the field, e.g. `usage[3].quantity`; empty for a syntax error.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// An exact decimal read from a JSON string (`"1200"`) or number (`1200`, `0.1`), never via f64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactDecimal(pub Decimal);

impl<'de> Deserialize<'de> for ExactDecimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        // With serde_json's arbitrary_precision, a number keeps its exact text.
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => parse_exact(&text).map(ExactDecimal).map_err(D::Error::custom),
            serde_json::Value::Number(n) => parse_exact(&n.to_string()).map(ExactDecimal).map_err(D::Error::custom),
            other => Err(D::Error::custom(format!("expected a decimal, found {}", json_kind(&other)))),
        }
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    plan: String,
    period: Period,
    #[serde(default)]
    active: Option<Period>,
    usage: Vec<RawRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    meter: String,
    #[serde(default)]
    dimensions: Dimensions,
    quantity: ExactDecimal,
}

impl RateRequest {
    /// Parses a `usage.json` document; `file` names it in errors.
    pub fn from_json_str(text: &str, file: &str) -> Result<Self, UsageError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawRequest = serde_path_to_error::deserialize(&mut de).map_err(|err| {
            let path = err.path().to_string();
            UsageError {
                file: file.to_owned(),
                path: if path == "." { String::new() } else { path },
                message: err.inner().to_string(),
            }
        })?;
        de.end().map_err(|err| UsageError { file: file.to_owned(), path: String::new(), message: err.to_string() })?;
        let mut usage = Vec::with_capacity(raw.usage.len());
        for (i, row) in raw.usage.into_iter().enumerate() {
            if row.quantity.0 < Decimal::ZERO {
                return Err(UsageError {
                    file: file.to_owned(),
                    path: format!("usage[{i}].quantity"),
                    message: format!("{} is negative; quantities must be zero or more", row.quantity.0),
                });
            }
            usage.push(UsageRow {
                meter: MeterKey::new(row.meter),
                dimensions: row.dimensions,
                quantity: row.quantity.0,
            });
        }
        Ok(RateRequest { plan: PlanKey::new(raw.plan), period: raw.period, active: raw.active, usage })
    }
}

impl fmt::Display for UsageRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?} = {}", self.meter, self.dimensions, self.quantity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{
      "plan": "pro",
      "period": { "start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z" },
      "usage": [
        { "meter": "llm_tokens", "dimensions": { "model": "gpt-4o" }, "quantity": "1500000" },
        { "meter": "gpu", "quantity": 0.1 },
        { "meter": "gpu", "quantity": 12345678901234567890.123456789 }
      ]
    }"#;

    fn err(text: &str) -> UsageError {
        RateRequest::from_json_str(text, "usage.json").unwrap_err()
    }

    #[test]
    fn reads_strings_and_numbers_exactly() {
        let req = RateRequest::from_json_str(OK, "usage.json").unwrap();
        assert_eq!(req.usage[0].quantity.to_string(), "1500000");
        assert_eq!(req.usage[1].quantity.to_string(), "0.1");
        assert_eq!(req.usage[2].quantity.to_string(), "12345678901234567890.123456789");
        assert_eq!(req.active, None);
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let negative = OK.replace("\"1500000\"", "\"-1\"");
        assert_eq!(
            err(&negative).to_string(),
            "usage.json: usage[0].quantity: -1 is negative; quantities must be zero or more"
        );
        let not_decimal = OK.replace("\"1500000\"", "\"lots\"");
        assert!(err(&not_decimal).to_string().starts_with("usage.json: usage[0].quantity: \"lots\" is not a decimal"));
        let unknown = OK.replace("\"meter\": \"gpu\", \"quantity\": 0.1", "\"meter\": \"gpu\", \"qty\": 0.1");
        assert!(
            err(&unknown).to_string().starts_with("usage.json: usage[1].qty: unknown field `qty`"),
            "{}",
            err(&unknown)
        );
        let inverted = OK.replace("2026-12-01", "2026-10-01");
        assert!(err(&inverted).to_string().starts_with("usage.json: period: end 2026-10-01"), "{}", err(&inverted));
        assert!(err("{").to_string().contains("EOF while parsing"), "{}", err("{"));
        let no_plan = OK.replace("\"plan\": \"pro\",", "");
        assert_eq!(err(&no_plan).to_string(), "usage.json: missing field `plan` at line 9 column 5");
    }
}
