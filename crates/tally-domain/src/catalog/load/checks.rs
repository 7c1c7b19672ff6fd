//! Checks several parts of the catalog share: bounds, non-empty names, dimensions.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use crate::catalog::model::Meter;
use crate::catalog::reader::{Fields, Problems};

pub(super) fn at_least(f: &Fields<'_>, field: &str, value: Option<Decimal>, floor: Decimal, p: &mut Problems) {
    if let Some(v) = value.filter(|v| *v < floor) {
        p.push(f.at(field), format!("{v} is negative; must be zero or more"));
    }
}

pub(super) fn non_empty(f: &Fields<'_>, field: &str, value: &str, p: &mut Problems) -> bool {
    if value.is_empty() {
        p.push(f.at(field), "must not be empty");
    }
    !value.is_empty()
}

pub(super) fn unique_names(f: &Fields<'_>, field: &str, names: &[String], p: &mut Problems) -> bool {
    let mut seen = BTreeSet::new();
    let mut ok = true;
    for name in names {
        if name.is_empty() {
            p.push(f.at(field), "names must not be empty");
            ok = false;
        } else if !seen.insert(name) {
            p.push(f.at(field), format!("{name:?} is listed twice"));
            ok = false;
        }
    }
    ok
}

pub(super) fn not_a_dimension(dim: &str, meter: &Meter) -> String {
    if meter.dimensions.is_empty() {
        format!(
            "{dim:?} is not a dimension of meter {:?}, which keeps none; add it to the meter's dimensions",
            meter.key.as_str()
        )
    } else {
        format!(
            "{dim:?} is not a dimension of meter {:?} (its dimensions: {})",
            meter.key.as_str(),
            meter.dimensions.join(", ")
        )
    }
}

pub(super) fn names<T>(all: &[(T, &'static str)]) -> String {
    all.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
}
