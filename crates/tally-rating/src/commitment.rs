//! The plan's minimum commitment: a true-up line when the subtotal falls short of it.
//! A partial period commits to its share of the minimum, prorated like a fee
//! (`minimum * active / period`, rounded to the minor unit), unless the plan says
//! `prorate_minimum_commitment = false`.

use rust_decimal::Decimal;
use tally_domain::{Currency, Period, Plan};

use crate::price::{self, Overflow};

/// The minimum the `active` part of `period` commits to (`None`: not active, nothing).
pub(crate) fn prorated_minimum(
    plan: &Plan,
    minimum: Decimal,
    period: &Period,
    active: Option<&Period>,
) -> Result<Decimal, Overflow> {
    let exact = match active {
        None => Decimal::ZERO,
        Some(_) if !plan.prorate_minimum_commitment => minimum,
        Some(active) if active == period => minimum,
        Some(active) => {
            // Multiplying first so nothing is lost before the division, as for fees.
            let scaled = price::mul(minimum, Decimal::from(active.millis()))?;
            price::div(scaled, Decimal::from(period.millis()))?
        }
    };
    plan.currency.round(exact).ok_or(Overflow)
}

/// The true-up amount, rounded, if `subtotal` is below `minimum`; `None` otherwise.
pub(crate) fn true_up(
    minimum: Option<Decimal>,
    currency: Currency,
    subtotal: Decimal,
) -> Result<Option<Decimal>, Overflow> {
    match minimum {
        Some(minimum) if subtotal < minimum => {
            let shortfall = minimum.checked_sub(subtotal).ok_or(Overflow)?;
            currency.round(shortfall).ok_or(Overflow).map(Some)
        }
        _ => Ok(None),
    }
}
