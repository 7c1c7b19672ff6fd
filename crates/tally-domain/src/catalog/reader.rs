//! A reader over one TOML table that records every problem instead of stopping at the first.
//!
//! serde's derive stops at the first error; a person fixing a catalog wants the whole
//! list. [`Fields`] hands out typed values by name, notes each problem with its full
//! path, and at [`Fields::finish`] reports keys nobody asked for as unknown.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use toml::{Table, Value};

use super::error::Problem;
use crate::decimal::parse_exact;

/// Problems found so far, in file order.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub(crate) Vec<Problem>);

impl Problems {
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { path: path.into(), message: message.into() });
    }
}

/// Joins a parent path and a field name.
pub(crate) fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// Typed access to one table's fields; see the module doc.
pub(crate) struct Fields<'t> {
    table: &'t Table,
    path: String,
    asked: BTreeSet<&'static str>,
}

impl<'t> Fields<'t> {
    pub(crate) fn new(table: &'t Table, path: impl Into<String>) -> Self {
        Self { table, path: path.into(), asked: BTreeSet::new() }
    }

    /// The path of this table, e.g. `plans[pro]`.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Renames the table's path once its key is known (`plans[#2]` becomes `plans[pro]`).
    pub(crate) fn set_path(&mut self, path: String) {
        self.path = path;
    }

    /// The path of one of this table's fields.
    pub(crate) fn at(&self, field: &str) -> String {
        join(&self.path, field)
    }

    fn take(&mut self, field: &'static str) -> Option<&'t Value> {
        self.asked.insert(field);
        self.table.get(field)
    }

    /// Whether a required field is there; notes it as missing if not.
    fn present(&mut self, field: &'static str, p: &mut Problems) -> bool {
        self.asked.insert(field);
        let found = self.table.contains_key(field);
        if !found {
            self.missing(field, p);
        }
        found
    }

    fn missing(&self, field: &str, p: &mut Problems) {
        p.push(self.at(field), "missing required field");
    }

    fn wrong_type(&self, field: &str, expected: &str, found: &Value, p: &mut Problems) {
        p.push(
            self.at(field),
            format!("expected {expected}, found {} {}", article(found.type_str()), found.type_str()),
        );
    }

    /// An optional string.
    pub(crate) fn string(&mut self, field: &'static str, p: &mut Problems) -> Option<String> {
        match self.take(field)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(field, "a string", other, p);
                None
            }
        }
    }

    /// A required string.
    pub(crate) fn req_string(&mut self, field: &'static str, p: &mut Problems) -> Option<String> {
        if !self.present(field, p) {
            return None;
        }
        self.string(field, p)
    }

    /// An optional boolean.
    pub(crate) fn bool(&mut self, field: &'static str, p: &mut Problems) -> Option<bool> {
        match self.take(field)? {
            Value::Boolean(b) => Some(*b),
            other => {
                self.wrong_type(field, "true or false", other, p);
                None
            }
        }
    }

    /// An optional exact decimal: a string such as `"2.50"` or an integer. A TOML float
    /// is refused with a message that says to quote it.
    pub(crate) fn decimal(&mut self, field: &'static str, p: &mut Problems) -> Option<Decimal> {
        let value = self.take(field)?;
        match value {
            Value::String(s) => match parse_exact(s) {
                Ok(d) => Some(d),
                Err(err) => {
                    p.push(self.at(field), err.to_string());
                    None
                }
            },
            Value::Integer(i) => Some(Decimal::from(*i)),
            Value::Float(f) => {
                p.push(
                    self.at(field),
                    format!(
                        "is a TOML float ({f}); write decimals as strings, e.g. {field} = \"{f}\" \
                         (binary floats cannot hold most prices exactly)"
                    ),
                );
                None
            }
            other => {
                self.wrong_type(field, "a decimal string such as \"2.50\"", other, p);
                None
            }
        }
    }

    /// A required exact decimal.
    pub(crate) fn req_decimal(&mut self, field: &'static str, p: &mut Problems) -> Option<Decimal> {
        if !self.present(field, p) {
            return None;
        }
        self.decimal(field, p)
    }

    /// An optional array of strings.
    pub(crate) fn string_list(&mut self, field: &'static str, p: &mut Problems) -> Option<Vec<String>> {
        let value = self.take(field)?;
        let Value::Array(items) = value else {
            self.wrong_type(field, "an array of strings", value, p);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                other => {
                    ok = false;
                    p.push(
                        format!("{}[{i}]", self.at(field)),
                        format!("expected a string, found {} {}", article(other.type_str()), other.type_str()),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// An optional table of string values, e.g. `filter = { model = "gpt-4o" }`.
    pub(crate) fn string_map(&mut self, field: &'static str, p: &mut Problems) -> Option<BTreeMap<String, String>> {
        let value = self.take(field)?;
        let Value::Table(table) = value else {
            self.wrong_type(field, "a table of strings", value, p);
            return None;
        };
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (key, item) in table {
            match item {
                Value::String(s) => {
                    out.insert(key.clone(), s.clone());
                }
                other => {
                    ok = false;
                    p.push(
                        join(&self.at(field), key),
                        format!("expected a string, found {} {}", article(other.type_str()), other.type_str()),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// An optional table (inline or not).
    pub(crate) fn table(&mut self, field: &'static str, p: &mut Problems) -> Option<&'t Table> {
        match self.take(field)? {
            Value::Table(t) => Some(t),
            other => {
                self.wrong_type(field, "a table", other, p);
                None
            }
        }
    }

    /// A required table (inline or not).
    pub(crate) fn req_table(&mut self, field: &'static str, p: &mut Problems) -> Option<&'t Table> {
        match self.take(field) {
            None => {
                self.missing(field, p);
                None
            }
            Some(Value::Table(t)) => Some(t),
            Some(other) => {
                self.wrong_type(field, "a table", other, p);
                None
            }
        }
    }

    /// An optional array of tables (`[[plans]]` or `tiers = [{...}, {...}]`).
    pub(crate) fn tables(&mut self, field: &'static str, p: &mut Problems) -> Option<Vec<&'t Table>> {
        let value = self.take(field)?;
        let Value::Array(items) = value else {
            self.wrong_type(field, "an array of tables", value, p);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::Table(t) => out.push(t),
                other => {
                    p.push(
                        format!("{}[{i}]", self.at(field)),
                        format!("expected a table, found {} {}", article(other.type_str()), other.type_str()),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    /// A required array of tables.
    pub(crate) fn req_tables(&mut self, field: &'static str, p: &mut Problems) -> Option<Vec<&'t Table>> {
        if !self.present(field, p) {
            return None;
        }
        self.tables(field, p)
    }

    /// Reports every key of the table that no accessor asked for.
    pub(crate) fn finish(self, p: &mut Problems) {
        let expected: Vec<&str> = self.asked.iter().copied().collect();
        for key in self.table.keys() {
            if !self.asked.contains(key.as_str()) {
                p.push(self.at(key), format!("unknown field; expected one of: {}", expected.join(", ")));
            }
        }
    }
}

fn article(type_name: &str) -> &'static str {
    if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}
