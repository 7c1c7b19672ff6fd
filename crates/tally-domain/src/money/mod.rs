//! Money: currencies with their ISO 4217 minor units, and rounding to them.
//!
//! Amounts are plain `rust_decimal::Decimal` values paired with a [`Currency`]; the
//! only place an amount is rounded is [`Currency::round`], which the rating engine
//! calls once per invoice line, as the pricing contract orders.

mod currency;

pub use currency::{Currency, CurrencyError};
