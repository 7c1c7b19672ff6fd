//! ISO 4217 currencies in active use, and rounding half away from zero to their minor unit.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Why a code is not a currency Tally can bill in.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CurrencyError {
    /// Not an ISO 4217 alphabetic code at all.
    #[error("unknown currency {0:?} (expected an ISO 4217 code such as USD, EUR, JPY)")]
    Unknown(String),
    /// A code that ISO has withdrawn in favour of another.
    #[error("currency {code} is superseded by {by}; bill in {by}")]
    Superseded {
        /// The withdrawn code.
        code: String,
        /// The code that replaced it.
        by: String,
    },
    /// Precious metals, testing and "no currency" codes have no minor unit to round to.
    #[error("currency {0} has no minor unit (a metal, testing or special code) and cannot be billed in")]
    NoMinorUnit(String),
}

/// A currency Tally can bill in: an ISO 4217 code with a defined minor unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency {
    iso: iso_currency::Currency,
    minor_units: u32,
}

impl Currency {
    /// Looks up an ISO 4217 alphabetic code (upper case, as ISO writes it).
    pub fn from_code(code: &str) -> Result<Self, CurrencyError> {
        let iso = iso_currency::Currency::from_code(code).ok_or_else(|| CurrencyError::Unknown(code.to_owned()))?;
        if let Some(by) = iso.is_superseded() {
            return Err(CurrencyError::Superseded { code: code.to_owned(), by: by.code().to_owned() });
        }
        let minor_units = iso.exponent().ok_or_else(|| CurrencyError::NoMinorUnit(code.to_owned()))?;
        Ok(Self { iso, minor_units: u32::from(minor_units) })
    }

    /// The ISO 4217 alphabetic code, e.g. `USD`.
    pub fn code(&self) -> &'static str {
        self.iso.code()
    }

    /// Decimals of the minor unit: USD 2, JPY 0, KWD 3, CLF 4.
    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }

    /// `amount` written with the currency's decimals (`0` is `0.00` in USD), as
    /// statements, receivables and exports show it; an amount [`Currency::round`]
    /// cannot write is shown as it is.
    pub fn show(&self, amount: Decimal) -> String {
        self.round(amount).unwrap_or(amount).to_string()
    }

    /// Rounds an amount to the minor unit, half away from zero, and writes it with
    /// exactly that many decimals (`49` becomes `49.00` in USD). `None` if the
    /// rounded amount cannot be written with that many decimals (beyond ~7.9e25).
    pub fn round(&self, amount: Decimal) -> Option<Decimal> {
        let mut rounded = amount.round_dp_with_strategy(self.minor_units, RoundingStrategy::MidpointAwayFromZero);
        if rounded.scale() != self.minor_units {
            // rescale saturates instead of failing: a changed value means it did not fit.
            let before = rounded;
            rounded.rescale(self.minor_units);
            if rounded.scale() != self.minor_units || rounded != before {
                return None;
            }
        }
        Some(rounded)
    }
}

/// Ordered by code (`EUR` < `USD`), for reports and maps keyed by currency.
impl Ord for Currency {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.code().cmp(other.code())
    }
}

impl PartialOrd for Currency {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::from_code(code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::from_code(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn round(code: &str, amount: &str) -> String {
        Currency::from_code(code).unwrap().round(d(amount)).unwrap().to_string()
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        for (code, units) in [
            ("USD", 2),
            ("EUR", 2),
            ("GBP", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("CLP", 0),
            ("ISK", 0),
            ("VND", 0),
            ("KWD", 3),
            ("BHD", 3),
            ("JOD", 3),
            ("OMR", 3),
            ("TND", 3),
            ("IQD", 3),
            ("LYD", 3),
            ("CLF", 4),
            ("UYW", 4),
            ("INR", 2),
            ("CHF", 2),
            ("SLE", 2),
            ("VED", 2),
        ] {
            assert_eq!(Currency::from_code(code).unwrap().minor_units(), units, "{code}");
        }
    }

    #[test]
    fn rounds_half_away_from_zero_to_the_minor_unit() {
        assert_eq!(round("USD", "49"), "49.00");
        assert_eq!(round("USD", "0.125"), "0.13");
        assert_eq!(round("USD", "0.124999"), "0.12");
        assert_eq!(round("USD", "-0.125"), "-0.13");
        assert_eq!(round("USD", "2.675"), "2.68");
        assert_eq!(round("JPY", "12.5"), "13");
        assert_eq!(round("JPY", "11.5"), "12");
        assert_eq!(round("KWD", "1.0005"), "1.001");
        assert_eq!(round("KWD", "7"), "7.000");
        assert_eq!(round("CLF", "0.00005"), "0.0001");
    }

    #[test]
    fn refuses_codes_that_cannot_be_billed_in() {
        assert!(matches!(Currency::from_code("usd"), Err(CurrencyError::Unknown(_))));
        assert!(matches!(Currency::from_code("ABC"), Err(CurrencyError::Unknown(_))));
        assert!(matches!(Currency::from_code("XAU"), Err(CurrencyError::NoMinorUnit(_))));
        assert!(matches!(Currency::from_code("XXX"), Err(CurrencyError::NoMinorUnit(_))));
        let err = Currency::from_code("HRK").unwrap_err();
        assert_eq!(err.to_string(), "currency HRK is superseded by EUR; bill in EUR");
    }

    #[test]
    fn huge_amounts_round_or_are_refused_never_wrapped() {
        let usd = Currency::from_code("USD").unwrap();
        assert_eq!(usd.round(d("1000000000000000000000.005")).unwrap().to_string(), "1000000000000000000000.01");
        assert_eq!(usd.round(Decimal::MAX), None);
    }
}
