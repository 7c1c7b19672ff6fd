//! Exchange rates in the store: one rate per (day, base, quote), loaded from rates
//! files by the CLI or the API and read whole by reports and by the invoicer when it
//! issues a document (a year of ECB rates is about 7,500 rows). Loading a rate again
//! for the same day and pair replaces it (the ECB seldom corrects one); documents
//! already issued keep the rate they were issued with.

use std::future::Future;

use tally_domain::ExchangeRate;

use crate::StoreError;

/// What every store can do with exchange rates.
pub trait RateStore: Send + Sync {
    /// Stores `rates`, replacing any of the same day, base and quote; returns how many
    /// were new or changed.
    fn put_rates(&self, rates: &[ExchangeRate]) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Every rate, by day, base, quote.
    fn rates(&self) -> impl Future<Output = Result<Vec<ExchangeRate>, StoreError>> + Send;
}

/// A rate back from its stored columns; anything unreadable is an error naming it.
pub(crate) fn rate_from(day: &str, base: &str, quote: &str, rate: &str) -> Result<ExchangeRate, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt {
        context: format!("exchange rate {day} {base}/{quote}"),
        message: format!("unreadable {what}"),
    };
    let value: rust_decimal::Decimal = rate.parse().map_err(|_| corrupt("rate"))?;
    if value <= rust_decimal::Decimal::ZERO {
        return Err(corrupt("rate (not above zero)"));
    }
    Ok(ExchangeRate {
        day: day.parse().map_err(|_| corrupt("day"))?,
        base: base.parse().map_err(|_| corrupt("base currency"))?,
        quote: quote.parse().map_err(|_| corrupt("quote currency"))?,
        rate: value,
    })
}
