//! One `[[meters]]` entry.

use toml::Table;

use super::checks::{names, non_empty, unique_names};
use super::read_key;
use crate::catalog::model::{Aggregation, Meter};
use crate::catalog::reader::{Fields, Problems};
use crate::ids::MeterKey;

/// Returns the meter's key (when readable, even if the meter is not) and the meter.
pub(super) fn read_meter(table: &Table, index: usize, p: &mut Problems) -> (Option<String>, Option<Meter>) {
    let mut f = Fields::new(table, format!("meters[{index}]"));
    let key = read_key(&mut f, "meters", true, p);
    let event_type = f.req_string("event_type", p).filter(|t| non_empty(&f, "event_type", t, p));
    let aggregation = f.req_string("aggregation", p).and_then(|name| {
        let found = Aggregation::ALL.iter().find(|(_, n)| *n == name).map(|(a, _)| *a);
        if found.is_none() {
            p.push(
                f.at("aggregation"),
                format!("unknown aggregation {name:?}; expected one of: {}", names(&Aggregation::ALL)),
            );
        }
        found
    });
    let value = f.string("value", p);
    let dimensions = f.string_list("dimensions", p).unwrap_or_default();
    let required = f.bool("required", p);
    let mut value_ok = true;
    if required.is_some() && value.is_none() {
        p.push(f.at("required"), "only a meter that reads a value can make it optional; remove the field");
        value_ok = false;
    }
    match (aggregation, &value) {
        (Some(Aggregation::Count), Some(_)) => {
            p.push(f.at("value"), "a count meter reads no value; remove the field");
            value_ok = false;
        }
        (Some(agg), None) if agg != Aggregation::Count => {
            p.push(f.at("value"), format!("missing required field (the {} aggregation reads a value)", agg.name()));
            value_ok = false;
        }
        (_, Some(path)) if path.split('.').any(str::is_empty) => {
            p.push(
                f.at("value"),
                format!("{path:?} is not a dotted path into the event's data, e.g. \"tokens\" or \"usage.tokens\""),
            );
            value_ok = false;
        }
        _ => {}
    }
    let dims_ok = unique_names(&f, "dimensions", &dimensions, p);
    f.finish(p);
    let meter = match (key.clone(), event_type, aggregation) {
        (Some(key), Some(event_type), Some(aggregation)) if value_ok && dims_ok => Some(Meter {
            key: MeterKey::new(key),
            event_type,
            aggregation,
            value,
            value_required: required.unwrap_or(true),
            dimensions,
        }),
        _ => None,
    };
    (key, meter)
}
