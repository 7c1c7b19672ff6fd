//! Tally's rating engine: pure, exact pricing of aggregated usage.
//!
//! [`rate`] turns (catalog, plan, period, usage) into priced invoice lines following
//! the pricing contract's order of operations: aggregate -> filter -> group_by ->
//! included -> per -> price model -> clamp to minimum/maximum -> round to the
//! currency's minor unit. All arithmetic is `rust_decimal` and checked: an overflow
//! is an error naming the line, never a wrapped or rounded-away amount. There is no
//! I/O, no clock and no randomness here, so the same input always gives the same
//! invoice; the invoicer, the HTTP preview and `tally rate` all call this one function.

mod charge;
mod commitment;
mod engine;
mod error;
mod fees;
mod price;
mod rated;
mod slots;

pub use charge::{price_usage, PricedUsage};
pub use engine::{rate, rate_charges, ChargeUsage};
pub use error::RatingError;
pub use price::Overflow;
pub use rated::{Bound, Line, LineKind, RatedPeriod, TierCharge, UsageDetail};

#[cfg(test)]
mod tests;
