//! Turns catalog TOML into a validated [`Catalog`], collecting every problem.
//!
//! Reading order matters for the messages: meters are read first so that charges can
//! be checked against their meter's dimensions; an entry whose key is known is named
//! by its key (`plans[pro]`), one without a usable key by its position (`plans[2]`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rust_decimal::Decimal;
use toml::Table;

use super::error::CatalogError;
use super::model::{Aggregation, Catalog, Charge, Fee, Interval, Meter, Plan, Price, Tier};
use super::reader::{Fields, Problems};
use crate::ids::{ChargeKey, FeeKey, MeterKey, PlanKey};
use crate::money::Currency;

/// Key reserved for the minimum-commitment true-up line, so no fee or charge may use it.
pub const MINIMUM_COMMITMENT_KEY: &str = "minimum_commitment";

impl Catalog {
    /// Reads and validates a catalog file; errors name `path` as given.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read { file: file.clone(), source })?;
        Self::from_toml_str(&text, &file)
    }

    /// Validates catalog TOML; `file` names the source in every message.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Catalog, CatalogError> {
        let root: Table = toml::from_str(text).map_err(|err| CatalogError::Syntax {
            file: file.to_owned(),
            message: err.to_string().trim().replace('\n', " "),
        })?;
        let mut p = Problems::default();
        let catalog = read_catalog(&root, &mut p);
        match catalog {
            Some(catalog) if p.0.is_empty() => Ok(catalog),
            _ => Err(CatalogError::Invalid { file: file.to_owned(), problems: p.0 }),
        }
    }
}

fn read_catalog(root: &Table, p: &mut Problems) -> Option<Catalog> {
    let mut fields = Fields::new(root, "");
    let meter_tables = fields.tables("meters", p).unwrap_or_default();
    let plan_tables = fields.tables("plans", p);
    fields.finish(p);

    let mut meters = Vec::new();
    let mut meter_keys: BTreeMap<String, Option<usize>> = BTreeMap::new();
    for (i, table) in meter_tables.into_iter().enumerate() {
        let (key, meter) = read_meter(table, i, p);
        let Some(key) = key else { continue };
        if meter_keys.contains_key(&key) {
            p.push(format!("meters[{key}].key"), format!("duplicate meter key {key:?}"));
            continue;
        }
        let index = meter.map(|m| {
            meters.push(m);
            meters.len() - 1
        });
        meter_keys.insert(key, index);
    }

    let Some(plan_tables) = plan_tables else {
        if !root.contains_key("plans") {
            p.push("plans", "the catalog defines no plans; add at least one [[plans]] table");
        }
        return None;
    };
    let mut plans = Vec::new();
    let mut plan_keys = BTreeSet::new();
    for (i, table) in plan_tables.into_iter().enumerate() {
        let (key, plan) = read_plan(table, i, &meters, &meter_keys, p);
        if let Some(key) = key {
            if !plan_keys.insert(key.clone()) {
                p.push(format!("plans[{key}].key"), format!("duplicate plan key {key:?}"));
                continue;
            }
        }
        plans.extend(plan);
    }
    if plan_keys.is_empty() && p.0.is_empty() {
        p.push("plans", "the catalog defines no plans; add at least one [[plans]] table");
    }

    let meter_index = meters.iter().enumerate().map(|(i, m)| (m.key.clone(), i)).collect();
    let plan_index = plans.iter().enumerate().map(|(i, pl): (usize, &Plan)| (pl.key.clone(), i)).collect();
    Some(Catalog { meters, plans, meter_index, plan_index })
}

/// Reads an entry's `key`, checks its form, and renames the entry's path after it.
fn read_key(fields: &mut Fields<'_>, collection: &str, meter_style: bool, p: &mut Problems) -> Option<String> {
    let key = fields.req_string("key", p)?;
    let valid = !key.is_empty()
        && key.bytes().all(|b| {
            if meter_style {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
            } else {
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
            }
        });
    if !valid {
        let rule = if meter_style { "[a-z0-9_]+" } else { "[A-Za-z0-9_.-]+" };
        p.push(fields.at("key"), format!("{key:?} is not a valid key: use {rule}"));
        return None;
    }
    fields.set_path(format!("{collection}[{key}]"));
    Some(key)
}

fn read_meter(table: &Table, index: usize, p: &mut Problems) -> (Option<String>, Option<Meter>) {
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
    let mut value_ok = true;
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
        (Some(key), Some(event_type), Some(aggregation)) if value_ok && dims_ok => {
            Some(Meter { key: MeterKey::new(key), event_type, aggregation, value, dimensions })
        }
        _ => None,
    };
    (key, meter)
}

fn read_plan(
    table: &Table,
    index: usize,
    meters: &[Meter],
    meter_keys: &BTreeMap<String, Option<usize>>,
    p: &mut Problems,
) -> (Option<String>, Option<Plan>) {
    let before = p.0.len();
    let mut f = Fields::new(table, format!("plans[{index}]"));
    let key = read_key(&mut f, "plans", false, p);
    let name = f.string("name", p);
    let currency = f.req_string("currency", p).and_then(|code| match Currency::from_code(&code) {
        Ok(c) => Some(c),
        Err(err) => {
            p.push(f.at("currency"), err.to_string());
            None
        }
    });
    let interval = f.req_string("interval", p).and_then(|name| {
        let found = Interval::ALL.iter().find(|(_, n)| *n == name).map(|(i, _)| *i);
        if found.is_none() {
            p.push(f.at("interval"), format!("unknown interval {name:?}; expected one of: {}", names(&Interval::ALL)));
        }
        found
    });
    let minimum_commitment = f.decimal("minimum_commitment", p);
    at_least(&f, "minimum_commitment", minimum_commitment, Decimal::ZERO, p);
    let fee_tables = f.tables("fees", p).unwrap_or_default();
    let charge_tables = f.tables("charges", p).unwrap_or_default();
    let plan_path = f.path().to_owned();
    f.finish(p);

    let mut line_keys = BTreeSet::new();
    let mut fees = Vec::new();
    for (i, t) in fee_tables.into_iter().enumerate() {
        let mut ff = Fields::new(t, format!("{plan_path}.fees[{i}]"));
        let fee_key = read_line_key(&mut ff, &plan_path, "fees", &mut line_keys, p);
        let amount = ff.req_decimal("amount", p);
        at_least(&ff, "amount", amount, Decimal::ZERO, p);
        let prorate = ff.bool("prorate", p).unwrap_or(true);
        ff.finish(p);
        if let (Some(k), Some(amount)) = (fee_key, amount) {
            fees.push(Fee { key: FeeKey::new(k), amount, prorate });
        }
    }
    let mut charges = Vec::new();
    for (i, t) in charge_tables.into_iter().enumerate() {
        let mut cf = Fields::new(t, format!("{plan_path}.charges[{i}]"));
        let charge_key = read_line_key(&mut cf, &plan_path, "charges", &mut line_keys, p);
        if let Some(charge) = read_charge(cf, charge_key, meters, meter_keys, p) {
            charges.push(charge);
        }
    }
    let plan = match (key.clone(), currency, interval) {
        (Some(key), Some(currency), Some(interval)) if p.0.len() == before => {
            Some(Plan { key: PlanKey::new(key), name, currency, interval, minimum_commitment, fees, charges })
        }
        _ => None,
    };
    (key, plan)
}

/// A fee's or charge's key: unique among all lines of the plan, since it names the line.
fn read_line_key(
    f: &mut Fields<'_>,
    plan_path: &str,
    kind: &str,
    seen: &mut BTreeSet<String>,
    p: &mut Problems,
) -> Option<String> {
    let key = read_key(f, &format!("{plan_path}.{kind}"), false, p)?;
    if key == MINIMUM_COMMITMENT_KEY {
        p.push(f.at("key"), format!("{key:?} is reserved for the minimum-commitment line"));
        return None;
    }
    if !seen.insert(key.clone()) {
        p.push(f.at("key"), format!("duplicate line key {key:?}: fee and charge keys must be unique within a plan"));
        return None;
    }
    Some(key)
}

fn read_charge(
    mut f: Fields<'_>,
    key: Option<String>,
    meters: &[Meter],
    meter_keys: &BTreeMap<String, Option<usize>>,
    p: &mut Problems,
) -> Option<Charge> {
    let before = p.0.len();
    let meter_key = f.req_string("meter", p);
    let meter = match meter_key.as_deref().map(|k| (k, meter_keys.get(k))) {
        Some((k, None)) => {
            p.push(f.at("meter"), format!("unknown meter {k:?}; define it in a [[meters]] table"));
            None
        }
        Some((_, Some(index))) => index.map(|i| &meters[i]),
        None => None,
    };
    let filter = f.string_map("filter", p).unwrap_or_default();
    let group_by = f.string_list("group_by", p).unwrap_or_default();
    unique_names(&f, "group_by", &group_by, p);
    if let Some(meter) = meter {
        for dim in filter.keys() {
            if !meter.dimensions.contains(dim) {
                p.push(format!("{}.{dim}", f.at("filter")), not_a_dimension(dim, meter));
            }
        }
        for dim in &group_by {
            if !meter.dimensions.contains(dim) {
                p.push(f.at("group_by"), not_a_dimension(dim, meter));
            }
        }
    }
    let included = f.decimal("included", p);
    at_least(&f, "included", included, Decimal::ZERO, p);
    let per = f.decimal("per", p);
    if matches!(per, Some(v) if v <= Decimal::ZERO) {
        p.push(f.at("per"), "must be greater than zero");
    }
    let minimum = f.decimal("minimum", p);
    at_least(&f, "minimum", minimum, Decimal::ZERO, p);
    let maximum = f.decimal("maximum", p);
    at_least(&f, "maximum", maximum, Decimal::ZERO, p);
    if let (Some(min), Some(max)) = (minimum, maximum) {
        if max < min {
            p.push(f.at("maximum"), format!("{max} is below minimum {min}"));
        }
    }
    let price = f.req_table("price", p).and_then(|t| read_price(t, f.at("price"), p));
    if matches!(price, Some(Price::Dynamic { .. })) && per.is_some() {
        p.push(f.at("per"), "does not apply to a dynamic price (it multiplies the carried cost); remove it");
    }
    f.finish(p);
    if p.0.len() != before {
        return None;
    }
    Some(Charge {
        key: ChargeKey::new(key?),
        meter: meter?.key.clone(),
        filter,
        group_by,
        included: included.unwrap_or(Decimal::ZERO),
        per: per.unwrap_or(Decimal::ONE),
        minimum,
        maximum,
        price: price?,
    })
}

const PRICE_MODELS: [&str; 5] = ["per_unit", "package", "graduated", "volume", "dynamic"];

fn read_price(table: &Table, path: String, p: &mut Problems) -> Option<Price> {
    let before = p.0.len();
    let mut f = Fields::new(table, path);
    let model = f.req_string("model", p);
    let price = match model.as_deref() {
        Some("per_unit") => {
            let unit_price = f.req_decimal("unit_price", p);
            at_least(&f, "unit_price", unit_price, Decimal::ZERO, p);
            unit_price.map(|unit_price| Price::PerUnit { unit_price })
        }
        Some("package") => {
            let size = f.req_decimal("size", p);
            if matches!(size, Some(s) if s <= Decimal::ZERO) {
                p.push(f.at("size"), "must be greater than zero");
            }
            let package_price = f.req_decimal("package_price", p);
            at_least(&f, "package_price", package_price, Decimal::ZERO, p);
            Some(Price::Package { size: size?, package_price: package_price? })
        }
        Some(model @ ("graduated" | "volume")) => {
            let tiers = read_tiers(&mut f, p)?;
            Some(if model == "graduated" { Price::Graduated { tiers } } else { Price::Volume { tiers } })
        }
        Some("dynamic") => {
            let multiplier = f.req_decimal("multiplier", p);
            at_least(&f, "multiplier", multiplier, Decimal::ZERO, p);
            multiplier.map(|multiplier| Price::Dynamic { multiplier })
        }
        Some(other) => {
            p.push(
                f.at("model"),
                format!("unknown price model {other:?}; expected one of: {}", PRICE_MODELS.join(", ")),
            );
            return None;
        }
        None => return None,
    };
    f.finish(p);
    if p.0.len() != before {
        return None;
    }
    price
}

fn read_tiers(f: &mut Fields<'_>, p: &mut Problems) -> Option<Vec<Tier>> {
    let tables = f.req_tables("tiers", p)?;
    if tables.is_empty() {
        p.push(f.at("tiers"), "needs at least one tier");
        return None;
    }
    let before = p.0.len();
    let last = tables.len() - 1;
    let mut tiers = Vec::with_capacity(tables.len());
    let mut previous: Option<Decimal> = None;
    for (i, t) in tables.into_iter().enumerate() {
        let mut tf = Fields::new(t, format!("{}[{i}]", f.at("tiers")));
        let up_to = tf.decimal("up_to", p);
        let unit_price = tf.decimal("unit_price", p);
        let flat_price = tf.decimal("flat_price", p);
        at_least(&tf, "unit_price", unit_price, Decimal::ZERO, p);
        at_least(&tf, "flat_price", flat_price, Decimal::ZERO, p);
        if !t.contains_key("unit_price") && !t.contains_key("flat_price") {
            p.push(tf.path().to_owned(), "a tier needs a unit_price, a flat_price or both");
        }
        match (i == last, up_to) {
            (true, Some(_)) => p.push(
                tf.at("up_to"),
                "the last tier must have no up_to: it prices every unit above the tier before it",
            ),
            (false, None) if !t.contains_key("up_to") => {
                p.push(tf.at("up_to"), "missing: only the last tier may leave up_to out")
            }
            (false, Some(bound)) => {
                if bound <= Decimal::ZERO {
                    p.push(tf.at("up_to"), "must be greater than zero");
                } else if let Some(prev) = previous.filter(|prev| bound <= *prev) {
                    p.push(
                        tf.at("up_to"),
                        format!("{bound} is not above the previous tier's up_to {prev}; bounds must strictly increase"),
                    );
                }
                previous = Some(bound);
            }
            _ => {}
        }
        tf.finish(p);
        tiers.push(Tier {
            up_to,
            unit_price: unit_price.unwrap_or(Decimal::ZERO),
            flat_price: flat_price.unwrap_or(Decimal::ZERO),
        });
    }
    (p.0.len() == before).then_some(tiers)
}

fn at_least(f: &Fields<'_>, field: &str, value: Option<Decimal>, floor: Decimal, p: &mut Problems) {
    if let Some(v) = value.filter(|v| *v < floor) {
        p.push(f.at(field), format!("{v} is negative; must be zero or more"));
    }
}

fn non_empty(f: &Fields<'_>, field: &str, value: &str, p: &mut Problems) -> bool {
    if value.is_empty() {
        p.push(f.at(field), "must not be empty");
    }
    !value.is_empty()
}

fn unique_names(f: &Fields<'_>, field: &str, names: &[String], p: &mut Problems) -> bool {
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

fn not_a_dimension(dim: &str, meter: &Meter) -> String {
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

fn names<T>(all: &[(T, &'static str)]) -> String {
    all.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
}
