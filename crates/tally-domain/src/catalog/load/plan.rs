//! One `[[plans]]` entry with its fees; charges are read by `charge.rs`.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use toml::Table;

use super::checks::{at_least, names};
use super::{charge, read_key, MINIMUM_COMMITMENT_KEY};
use crate::catalog::model::{Fee, Interval, Meter, Plan};
use crate::catalog::reader::{Fields, Problems};
use crate::ids::{FeeKey, PlanKey};
use crate::money::Currency;

/// Returns the plan's key (when readable, even if the plan is not) and the plan.
pub(super) fn read_plan(
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
    let description = f.string("description", p);
    let description = display_text(&f, "description", description, p);
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
    let prorate_minimum_commitment = f.bool("prorate_minimum_commitment", p).unwrap_or(true);
    let tax_inclusive = f.bool("tax_inclusive", p).unwrap_or(false);
    let accounting = super::accounting::read_accounting(&mut f, p);
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
        let display = read_display(&mut ff, false, p);
        let tax_category = read_tax_category(&mut ff, p);
        let accounting = super::accounting::read_accounting(&mut ff, p);
        ff.finish(p);
        if let (Some(k), Some(amount)) = (fee_key, amount) {
            fees.push(Fee { key: FeeKey::new(k), amount, prorate, display, tax_category, accounting });
        }
    }
    let mut charges = Vec::new();
    for (i, t) in charge_tables.into_iter().enumerate() {
        let mut cf = Fields::new(t, format!("{plan_path}.charges[{i}]"));
        let charge_key = read_line_key(&mut cf, &plan_path, "charges", &mut line_keys, p);
        if let Some(charge) = charge::read_charge(cf, charge_key, meters, meter_keys, p) {
            charges.push(charge);
        }
    }
    let plan = match (key.clone(), currency, interval) {
        (Some(key), Some(currency), Some(interval)) if p.0.len() == before => {
            let key = PlanKey::new(key);
            let prices = fingerprint(table);
            let plan = Plan {
                key,
                name,
                description,
                currency,
                interval,
                minimum_commitment,
                prorate_minimum_commitment,
                fees,
                charges,
                tax_inclusive,
                prices,
                accounting,
                selectors: Default::default(),
            };
            Some(plan)
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

/// A short stable hash of what prices a plan: its table written canonically (keys
/// sorted at every level, values in TOML's own syntax), display fields (`name`,
/// `description`, `unit`) and `accounting` tables left out.
fn fingerprint(table: &Table) -> String {
    fn write(value: &toml::Value, out: &mut String) {
        match value {
            toml::Value::Table(t) => {
                let mut keys: Vec<&String> =
                    t.keys().filter(|k| !["name", "description", "unit", "accounting"].contains(&k.as_str())).collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(k);
                    out.push('=');
                    write(&t[k.as_str()], out);
                    out.push(';');
                }
                out.push('}');
            }
            toml::Value::Array(items) => {
                out.push('[');
                for item in items {
                    write(item, out);
                    out.push(',');
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    write(&toml::Value::Table(table.clone()), &mut text);
    crate::fingerprint(&text)
}

/// Longest display text accepted (a name or description on an invoice line).
const DISPLAY_MAX: usize = 200;

/// An optional display text: present means non-empty, at most [`DISPLAY_MAX`]
/// characters, one line, no control characters (it is printed on documents).
pub(super) fn display_text(f: &Fields<'_>, key: &str, text: Option<String>, p: &mut Problems) -> Option<String> {
    let text = text?;
    let bad = if text.trim().is_empty() {
        Some("is empty; leave it out or give text".to_owned())
    } else if text.chars().count() > DISPLAY_MAX {
        Some(format!("is longer than {DISPLAY_MAX} characters"))
    } else if text.chars().any(char::is_control) {
        Some("holds a control character (a line break, a tab, an escape); use one line of text".to_owned())
    } else {
        None
    };
    match bad {
        Some(reason) => {
            p.push(f.at(key), reason);
            None
        }
        None => Some(text),
    }
}

/// A fee's or charge's `tax_category`: a key-like name, `standard` when not given.
pub(super) fn read_tax_category(f: &mut Fields<'_>, p: &mut Problems) -> String {
    match f.string("tax_category", p) {
        Some(c) if !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') => c,
        Some(c) => {
            p.push(f.at("tax_category"), format!("{c:?} is not a category name: use [a-z0-9_]+"));
            String::new()
        }
        None => crate::catalog::STANDARD_CATEGORY.to_owned(),
    }
}

/// A fee's or charge's display fields (`unit` only for charges).
pub(super) fn read_display(f: &mut Fields<'_>, with_unit: bool, p: &mut Problems) -> crate::catalog::model::Display {
    let name = f.string("name", p);
    let name = display_text(f, "name", name, p);
    let description = f.string("description", p);
    let description = display_text(f, "description", description, p);
    let unit = if with_unit {
        let unit = f.string("unit", p);
        display_text(f, "unit", unit, p)
    } else {
        None
    };
    crate::catalog::model::Display { name, description, unit }
}
