//! One usage line: included units, `per`, the price model, the line minimum and
//! maximum, and rounding to the currency, in the order the pricing contract gives.

use rust_decimal::Decimal;
use tally_domain::{Charge, Currency, Price};

use crate::price::{self, Overflow};
use crate::rated::TierCharge;

/// A priced usage quantity: what [`price_usage`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricedUsage {
    /// Quantity after `included` and `per`: the units the price model saw.
    pub billable_quantity: Decimal,
    /// The line amount, clamped and rounded to the currency's minor unit.
    pub amount: Decimal,
    /// The bound that set the amount, if one did.
    pub bound: Option<crate::rated::Bound>,
}

/// Prices `quantity` (the aggregated usage of one line) under `charge`.
///
/// `tiers` is a reusable buffer: it is cleared and receives the tiers touched.
pub fn price_usage(
    charge: &Charge,
    currency: Currency,
    quantity: Decimal,
    tiers: &mut Vec<TierCharge>,
) -> Result<PricedUsage, Overflow> {
    let after_included = if charge.included.is_zero() {
        quantity.max(Decimal::ZERO)
    } else {
        (quantity - charge.included).max(Decimal::ZERO)
    };
    let (billable, exact) = match charge.price {
        Price::Dynamic { .. } => (after_included, true),
        _ => match price::shift_by_power_of_ten(after_included, charge.per) {
            Some(shifted) => (shifted, true),
            None => (price::div(after_included, charge.per)?, false),
        },
    };
    let mut amount = price::amount(&charge.price, after_included, charge.per, billable, exact, tiers)?;
    let mut bound = None;
    if let Some(minimum) = charge.minimum {
        if quantity > Decimal::ZERO && amount < minimum {
            (amount, bound) = (minimum, Some(crate::rated::Bound::Minimum));
        }
    }
    if let Some(maximum) = charge.maximum {
        if amount > maximum {
            (amount, bound) = (maximum, Some(crate::rated::Bound::Maximum));
        }
    }
    let amount = currency.round(amount).ok_or(Overflow)?;
    Ok(PricedUsage { billable_quantity: billable, amount, bound })
}
