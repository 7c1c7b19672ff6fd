//! Exchange rates: what one currency is worth in another on a day, and the conversion
//! of amounts to a reporting currency.
//!
//! Rates come from files a finance team already has (the European Central Bank's
//! reference rates, or a plain `date,base,quote,rate` table: [`file`]); a [`RateBook`]
//! answers "what is 1 USD in EUR on 30 November" from them: the rate of that day or,
//! when none was published (a weekend, a bank holiday), the latest one before it, at
//! most `max_age_days` older. A pair the book does not hold directly is derived: its
//! inverse, or a cross rate through a common base (USD to JPY through the ECB's EUR
//! rates). Derived rates are rounded to [`DERIVED_DECIMALS`] places, so a report can
//! be checked by hand. A missing rate is an error naming the pair and the day, never 1.

pub mod file;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, TimeDelta};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::Currency;

/// Decimal places a derived rate (an inverse or a cross rate) is rounded to.
pub const DERIVED_DECIMALS: u32 = 10;

/// One published rate: 1 `base` is worth `rate` `quote` on `day`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRate {
    /// The day it is the reference rate of.
    pub day: NaiveDate,
    /// The currency priced.
    pub base: Currency,
    /// The currency it is priced in.
    pub quote: Currency,
    /// Units of `quote` for one `base`; above zero.
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
}

/// The rate a document was converted with, kept on the document: 1 unit of its
/// currency is `rate` units of `currency`, the rate of day `on`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The reporting currency.
    pub currency: Currency,
    /// Units of the reporting currency for one unit of the document's.
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
    /// The day of the rate used (the issue day, or the latest published before it).
    pub on: NaiveDate,
    /// How it was found: `same`, `direct`, `inverse` or `cross:EUR`.
    pub how: String,
}

impl Exchange {
    /// `amount` in the reporting currency, rounded half away from zero to its minor unit.
    pub fn convert(&self, amount: Decimal) -> Decimal {
        self.currency.round(amount * self.rate).unwrap_or(amount * self.rate)
    }
}

/// Why no rate could be given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FxError {
    /// Nothing published for the pair on the day or in the days allowed before it.
    #[error(
        "no exchange rate from {from} to {to} on {day} or in the {max_age_days} days before it \
         (load rates with `tally rates load FILE` or POST /v1/rates)"
    )]
    Missing {
        /// The document's currency.
        from: Currency,
        /// The reporting currency.
        to: Currency,
        /// The day a rate was wanted for.
        day: NaiveDate,
        /// How much older a rate may be.
        max_age_days: u32,
    },
    /// A rates file that cannot be read; names the line and the field.
    #[error("rates file, line {line}, {field}: {reason}")]
    File {
        /// 1-based line of the file.
        line: u64,
        /// The column.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// Rates by pair and day, answering conversions (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct RateBook {
    pairs: HashMap<(Currency, Currency), BTreeMap<NaiveDate, Decimal>>,
    bases: BTreeSet<Currency>,
}

impl RateBook {
    /// A book of `rates`; a later rate for the same pair and day replaces an earlier one.
    pub fn new(rates: impl IntoIterator<Item = ExchangeRate>) -> RateBook {
        let mut book = RateBook::default();
        for r in rates {
            book.bases.insert(r.base);
            book.pairs.entry((r.base, r.quote)).or_default().insert(r.day, r.rate);
        }
        book
    }

    /// No rates at all.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The latest rate of (`base`, `quote`) on or before `day`, not before `oldest`.
    fn published(
        &self,
        base: Currency,
        quote: Currency,
        day: NaiveDate,
        oldest: NaiveDate,
    ) -> Option<(NaiveDate, Decimal)> {
        let (on, rate) = self.pairs.get(&(base, quote))?.range(oldest..=day).next_back()?;
        Some((*on, *rate))
    }

    /// What 1 `from` is worth in `to` on `day` (see the module docs): the freshest of
    /// the direct, inverse and cross rates, preferring the direct one on a tie.
    pub fn exchange(
        &self,
        from: Currency,
        to: Currency,
        day: NaiveDate,
        max_age_days: u32,
    ) -> Result<Exchange, FxError> {
        if from == to {
            return Ok(Exchange { currency: to, rate: Decimal::ONE, on: day, how: "same".into() });
        }
        let oldest = day - TimeDelta::days(i64::from(max_age_days));
        let derived = |r: Decimal| r.round_dp(DERIVED_DECIMALS).normalize();
        let mut best: Option<Exchange> = None;
        let mut offer = |on: NaiveDate, rate: Decimal, how: String| {
            if rate > Decimal::ZERO && best.as_ref().is_none_or(|b| on > b.on) {
                best = Some(Exchange { currency: to, rate, on, how });
            }
        };
        if let Some((on, rate)) = self.published(from, to, day, oldest) {
            offer(on, rate, "direct".into());
        }
        if let Some((on, rate)) = self.published(to, from, day, oldest) {
            if !rate.is_zero() {
                offer(on, derived(Decimal::ONE / rate), "inverse".into());
            }
        }
        for &base in &self.bases {
            if base == from || base == to {
                continue;
            }
            let legs = (self.published(base, from, day, oldest), self.published(base, to, day, oldest));
            if let (Some((on_from, per_from)), Some((on_to, per_to))) = legs {
                if !per_from.is_zero() {
                    offer(on_from.min(on_to), derived(per_to / per_from), format!("cross:{base}"));
                }
            }
        }
        best.ok_or(FxError::Missing { from, to, day, max_age_days })
    }
}

#[cfg(test)]
mod tests;
