//! The plan's minimum commitment: a true-up line when the subtotal falls short of it.

use rust_decimal::Decimal;
use tally_domain::Currency;

use crate::price::Overflow;

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
