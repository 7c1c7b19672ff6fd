//! Price models: from a billable quantity to an unrounded amount, with the tier breakdown.
//!
//! This is the innermost loop of rating. It writes tier breakdowns into a buffer the
//! caller owns, so pricing a line allocates nothing.

use rust_decimal::Decimal;
use tally_domain::{Price, Tier};

use crate::rated::TierCharge;

/// The arithmetic left the decimal range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

pub(crate) fn add(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_add(b).ok_or(Overflow)
}

pub(crate) fn mul(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_mul(b).ok_or(Overflow)
}

pub(crate) fn div(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_div(b).ok_or(Overflow)
}

/// The amount of `billable` units under `price`, before clamping and rounding.
///
/// `per` is the charge's divisor: `billable` is already divided by it, but per-unit
/// prices multiply the undivided quantity first and divide last (`q * p / per`), so
/// that a price per million tokens stays exact for every token count.
/// `tiers` is cleared and receives one entry per tier touched.
pub(crate) fn amount(
    price: &Price,
    undivided: Decimal,
    per: Decimal,
    billable: Decimal,
    tiers: &mut Vec<TierCharge>,
) -> Result<Decimal, Overflow> {
    tiers.clear();
    match price {
        Price::PerUnit { unit_price } => {
            // When `billable` is exact (`per` divides the quantity, e.g. a power of ten),
            // one multiplication suffices; otherwise multiply first and divide last.
            if per == Decimal::ONE || billable.checked_mul(per) == Some(undivided) {
                mul(billable, *unit_price)
            } else {
                div(mul(undivided, *unit_price)?, per)
            }
        }
        Price::Package { size, package_price } => {
            if billable.is_zero() {
                return Ok(Decimal::ZERO);
            }
            mul(div(billable, *size)?.ceil(), *package_price)
        }
        Price::Graduated { tiers: table } => graduated(table, billable, tiers),
        Price::Volume { tiers: table } => volume(table, billable, tiers),
        Price::Dynamic { multiplier } => mul(billable, *multiplier),
    }
}

/// Each tier prices the units inside it, plus its flat price once if any unit is inside.
fn graduated(table: &[Tier], q: Decimal, out: &mut Vec<TierCharge>) -> Result<Decimal, Overflow> {
    let mut total = Decimal::ZERO;
    let mut lower = Decimal::ZERO;
    for (i, tier) in table.iter().enumerate() {
        if q <= lower {
            break;
        }
        let upper = match tier.up_to {
            Some(bound) if bound < q => bound,
            _ => q,
        };
        let units = upper - lower;
        let mut amount = if tier.unit_price.is_zero() { Decimal::ZERO } else { mul(units, tier.unit_price)? };
        if !tier.flat_price.is_zero() {
            amount = add(amount, tier.flat_price)?;
        }
        out.push(TierCharge {
            tier: i + 1,
            up_to: tier.up_to,
            quantity: units,
            unit_price: tier.unit_price,
            flat_price: tier.flat_price,
            amount,
        });
        total = add(total, amount)?;
        lower = upper;
    }
    Ok(total)
}

/// All units at the price of the tier whose range contains the quantity, plus its flat price.
fn volume(table: &[Tier], q: Decimal, out: &mut Vec<TierCharge>) -> Result<Decimal, Overflow> {
    if q.is_zero() {
        return Ok(Decimal::ZERO);
    }
    let (i, tier) = table
        .iter()
        .enumerate()
        .find(|(_, t)| t.up_to.is_none_or(|bound| q <= bound))
        .unwrap_or((table.len() - 1, &table[table.len() - 1]));
    let amount = add(mul(q, tier.unit_price)?, tier.flat_price)?;
    out.push(TierCharge {
        tier: i + 1,
        up_to: tier.up_to,
        quantity: q,
        unit_price: tier.unit_price,
        flat_price: tier.flat_price,
        amount,
    });
    Ok(amount)
}
