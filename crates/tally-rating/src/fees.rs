//! Recurring flat fees, prorated over the part of the period the subscription was active.

use rust_decimal::Decimal;
use tally_domain::{Currency, Fee, Period};

use crate::price::{self, Overflow};

/// The fee's rounded amount for `period`, given the `active` part of it (`None`: not active at all).
pub(crate) fn fee_amount(
    fee: &Fee,
    currency: Currency,
    period: &Period,
    active: Option<&Period>,
) -> Result<Decimal, Overflow> {
    let exact = match active {
        None => Decimal::ZERO,
        Some(_) if !fee.prorate => fee.amount,
        Some(active) if active == period => fee.amount,
        Some(active) => {
            // amount * active / period, multiplying first so nothing is lost before the division.
            let scaled = price::mul(fee.amount, Decimal::from(active.millis()))?;
            price::div(scaled, Decimal::from(period.millis()))?
        }
    };
    currency.round(exact).ok_or(Overflow)
}
