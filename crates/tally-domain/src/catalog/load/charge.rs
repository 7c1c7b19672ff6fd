//! One `[[plans.charges]]` entry: meter, filter, group_by, included, per, bounds, price.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::checks::{at_least, not_a_dimension, unique_names};
use super::price::read_price;
use crate::catalog::model::{Charge, Meter, Price};
use crate::catalog::reader::{Fields, Problems};
use crate::ids::ChargeKey;

/// The charge, checked against its meter; `None` if anything in it is wrong.
pub(super) fn read_charge(
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
    let display = super::plan::read_display(&mut f, true, p);
    let tax_category = super::plan::read_tax_category(&mut f, p);
    let accounting = super::accounting::read_accounting(&mut f, p);
    f.finish(p);
    if p.0.len() != before {
        return None;
    }
    Some(Charge {
        display,
        tax_category,
        accounting,
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
