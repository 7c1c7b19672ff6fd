//! Turns catalog TOML into a validated [`Catalog`], collecting every problem.
//!
//! Reading order matters for the messages: meters are read first so that charges can
//! be checked against their meter's dimensions; an entry whose key is known is named
//! by its key (`plans[pro]`), one without a usable key by its position (`plans[2]`).
//! One file per part of the catalog: `meter.rs`, `plan.rs` (plans and fees),
//! `charge.rs`, `price.rs` (price models and tiers), and the shared `checks.rs`.

mod accounting;
mod charge;
mod checks;
mod meter;
mod plan;
mod price;
mod tax;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use toml::Table;

use super::error::CatalogError;
use super::model::{Catalog, Plan};
use super::reader::{Fields, Problems};

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
    let tax_table = fields.table("tax", p);
    let accounting = accounting::read_accounting(&mut fields, p);
    fields.finish(p);
    let tax = tax::read_tax(tax_table, p);

    let mut meters = Vec::new();
    let mut meter_keys: BTreeMap<String, Option<usize>> = BTreeMap::new();
    for (i, table) in meter_tables.into_iter().enumerate() {
        let (key, meter) = meter::read_meter(table, i, p);
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
        let (key, plan) = plan::read_plan(table, i, &meters, &meter_keys, p);
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
    for plan in &mut plans {
        plan.selectors = super::selectors::PlanSelectors::new(&plan.charges, &meter_index);
    }
    let plan_index = plans.iter().enumerate().map(|(i, pl): (usize, &Plan)| (pl.key.clone(), i)).collect();
    Some(Catalog { meters, plans, meter_index, plan_index, tax, accounting })
}

/// Reads an entry's `key`, checks its form, and renames the entry's path after it.
pub(super) fn read_key(
    fields: &mut Fields<'_>,
    collection: &str,
    meter_style: bool,
    p: &mut Problems,
) -> Option<String> {
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
