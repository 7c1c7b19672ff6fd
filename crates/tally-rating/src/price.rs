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

#[inline]
pub(crate) fn add(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_add(b).ok_or(Overflow)
}

#[inline]
pub(crate) fn mul(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_mul(b).ok_or(Overflow)
}

#[inline]
pub(crate) fn div(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_div(b).ok_or(Overflow)
}

/// `value / per` when `per` is a power of ten written without decimals (1, 10, ...,
/// 1000000: the usual "per million tokens"), by moving the decimal point: the same
/// value as the division, exactly, without dividing. `None` when `per` is anything
/// else or the point would move past the 28 decimals a `Decimal` holds.
///
/// The quotient keeps the dividend's digits (1500000 / 10^6 is 1.500000 where the
/// division gives 1.50): equal values, and every document and export writes
/// quantities normalised, so the trailing zeros never show.
pub(crate) fn shift_by_power_of_ten(value: Decimal, per: Decimal) -> Option<Decimal> {
    if per.scale() != 0 || per.is_sign_negative() {
        return None;
    }
    let divisor = per.mantissa().unsigned_abs();
    // A lookup, not `ilog10`: that divides a 128-bit number, a tenth of a line's time.
    let exponent = POWERS_OF_TEN.binary_search(&divisor).ok()? as u32;
    if exponent == 0 {
        return Some(value);
    }
    let scale = value.scale() + exponent;
    if scale > MAX_SCALE {
        return None;
    }
    Decimal::try_from_i128_with_scale(value.mantissa(), scale).ok()
}

/// The most decimals a `Decimal` holds.
const MAX_SCALE: u32 = 28;

/// 10^0 to 10^28, the powers of ten a `Decimal`'s mantissa can hold.
const POWERS_OF_TEN: [u128; 29] = {
    let mut powers = [1u128; 29];
    let mut i = 1;
    while i < powers.len() {
        powers[i] = powers[i - 1] * 10;
        i += 1;
    }
    powers
};

/// The amount of `billable` units under `price`, before clamping and rounding.
///
/// `per` is the charge's divisor: `billable` is already divided by it, but per-unit
/// prices multiply the undivided quantity first and divide last (`q * p / per`), so
/// that a price per million tokens stays exact for every token count. `exact` says
/// that `billable * per` is `undivided` (the caller shifted the point, or `per` is 1).
/// `tiers` is cleared and receives one entry per tier touched.
pub(crate) fn amount(
    price: &Price,
    undivided: Decimal,
    per: Decimal,
    billable: Decimal,
    exact: bool,
    tiers: &mut Vec<TierCharge>,
) -> Result<Decimal, Overflow> {
    tiers.clear();
    match price {
        Price::PerUnit { unit_price } => {
            // When `billable` is exact (`per` divides the quantity, e.g. a power of ten),
            // one multiplication suffices; otherwise multiply first and divide last.
            if exact || per == Decimal::ONE || billable.checked_mul(per) == Some(undivided) {
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
///
/// One compare per tier: the catalog's bounds strictly increase, so the tier whose
/// bound holds `q` is the last one touched. (Asking "is `q` above the lower bound?"
/// as well cost a second compare of two decimals of different scales per tier.)
fn graduated(table: &[Tier], q: Decimal, out: &mut Vec<TierCharge>) -> Result<Decimal, Overflow> {
    let mut total = Decimal::ZERO;
    if q.is_zero() || q.is_sign_negative() {
        return Ok(total);
    }
    let mut lower = Decimal::ZERO;
    for (i, tier) in table.iter().enumerate() {
        let (upper, last) = match tier.up_to {
            Some(bound) if bound < q => (bound, false),
            _ => (q, true),
        };
        let units = if lower.is_zero() { upper } else { upper - lower };
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
        if last {
            break;
        }
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
