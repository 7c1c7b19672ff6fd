//! Rating unit tests: each price model at its boundaries, included/per/min/max, fees,
//! the minimum commitment, currencies, errors; and property tests of the arithmetic.

mod models;
mod plans;
mod properties;

use std::str::FromStr;

use rust_decimal::Decimal;
use tally_domain::{Charge, ChargeKey, Currency, MeterKey, Price, Tier};

use crate::rated::TierCharge;
use crate::{price_usage, PricedUsage};

pub(crate) fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub(crate) fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

pub(crate) fn charge(price: Price) -> Charge {
    Charge {
        key: ChargeKey::new("c"),
        meter: MeterKey::new("m"),
        filter: Default::default(),
        group_by: vec![],
        included: Decimal::ZERO,
        per: Decimal::ONE,
        minimum: None,
        maximum: None,
        price,
        display: Default::default(),
        tax_category: "standard".into(),
        accounting: Default::default(),
    }
}

pub(crate) fn tier(up_to: Option<&str>, unit_price: &str, flat_price: &str) -> Tier {
    Tier { up_to: up_to.map(d), unit_price: d(unit_price), flat_price: d(flat_price) }
}

/// Prices `q` and returns (billable, amount as text, tiers).
pub(crate) fn priced(charge: &Charge, currency: Currency, q: &str) -> (String, String, Vec<TierCharge>) {
    let mut tiers = Vec::new();
    let PricedUsage { billable_quantity, amount, .. } = price_usage(charge, currency, d(q), &mut tiers).unwrap();
    (billable_quantity.normalize().to_string(), amount.to_string(), tiers)
}

pub(crate) fn amount(charge: &Charge, q: &str) -> String {
    priced(charge, usd(), q).1
}
