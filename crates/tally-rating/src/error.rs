//! Why a rating request cannot be priced; each error names the field at fault.

use rust_decimal::Decimal;
use thiserror::Error;

/// A rating failure. Messages start with the path of the field in the usage request.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RatingError {
    /// The request names a plan the catalog does not have.
    #[error("plan: unknown plan {plan:?} (the catalog has: {})", known.join(", "))]
    UnknownPlan {
        /// The plan key as requested.
        plan: String,
        /// The catalog's plan keys.
        known: Vec<String>,
    },
    /// A usage row names a meter the catalog does not have.
    #[error("usage[{index}].meter: unknown meter {meter:?}")]
    UnknownMeter {
        /// Position of the row in the request.
        index: usize,
        /// The meter key as given.
        meter: String,
    },
    /// A usage row has a negative quantity.
    #[error("usage[{index}].quantity: {quantity} is negative; quantities must be zero or more")]
    NegativeQuantity {
        /// Position of the row in the request.
        index: usize,
        /// The quantity as given.
        quantity: Decimal,
    },
    /// An amount or quantity exceeds what a 96-bit decimal holds (about 7.9e28).
    #[error("{line}: the amount overflows the decimal range (about 7.9e28); check the quantities and prices")]
    Overflow {
        /// The line (fee or charge key, or `usage` for adding up rows).
        line: String,
    },
}
