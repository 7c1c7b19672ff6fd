//! A customer's locale, and how documents write numbers, money and dates in it.
//!
//! The conventions (decimal mark, grouping, where the currency symbol goes, the date
//! order) come from glibc's locale database through `pure-rust-locales`, the crate
//! chrono itself uses for localized dates: some 300 locales kept by the people who
//! maintain glibc's, instead of a table of our own that would be wrong for the
//! countries we did not think of. Grouping is by thousands (every locale Tally's users
//! have asked for groups so; India's lakh grouping is not applied).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use pure_rust_locales::{locale_match, Locale as Glibc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::money::Currency;

/// A locale documents are written in: `en-US`, `de-DE`, `ja-JP` (`_` accepted too).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Locale(Glibc);

impl Default for Locale {
    fn default() -> Self {
        Locale(Glibc::en_US)
    }
}

impl FromStr for Locale {
    type Err = String;

    fn from_str(tag: &str) -> Result<Self, String> {
        let glibc = tag.replace('-', "_");
        match Glibc::try_from(glibc.as_str()) {
            Ok(l) if glibc != "POSIX" => Ok(Locale(l)),
            _ => Err(format!("unknown locale {tag:?} (expected a language and country such as en-US, de-DE, ja-JP)")),
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.to_string().replace('_', "-"))
    }
}

impl fmt::Debug for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Locale({self})")
    }
}

impl Serialize for Locale {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Locale {
    /// The language part, for `<html lang>`: `de-DE`.
    pub fn tag(&self) -> String {
        self.to_string()
    }

    /// `value` with the locale's decimal mark and thousands separator, exactly as
    /// many decimals as it has (a quantity: `1.234.567,5`).
    pub fn number(&self, value: Decimal) -> String {
        let (point, group) =
            (locale_match!(self.0 => LC_NUMERIC::DECIMAL_POINT), locale_match!(self.0 => LC_NUMERIC::THOUSANDS_SEP));
        grouped(&value.normalize().to_string(), point, group)
    }

    /// `amount` in `currency`, with its minor-unit decimals, the locale's marks, and
    /// its symbol where the locale puts it when the currency is the locale's own
    /// (`1.234,56 €` in de-DE, `$1,234.56` in en-US), the ISO code otherwise
    /// (`USD 1.234,56` in de-DE), so no reader mistakes one dollar for another.
    pub fn money(&self, amount: Decimal, currency: Currency) -> String {
        let point = locale_match!(self.0 => LC_MONETARY::MON_DECIMAL_POINT);
        let group = locale_match!(self.0 => LC_MONETARY::MON_THOUSANDS_SEP);
        let point = if point.is_empty() { "." } else { point };
        let digits = grouped(&currency.show(amount.abs()), point, group);
        let sign = if amount < Decimal::ZERO { "-" } else { "" };
        let own = locale_match!(self.0 => LC_MONETARY::INT_CURR_SYMBOL).trim() == currency.code();
        if !own {
            return format!("{sign}{} {digits}", currency.code());
        }
        let symbol = locale_match!(self.0 => LC_MONETARY::CURRENCY_SYMBOL);
        let before = locale_match!(self.0 => LC_MONETARY::P_CS_PRECEDES) == 1;
        let space = if locale_match!(self.0 => LC_MONETARY::P_SEP_BY_SPACE) == 1 { "\u{a0}" } else { "" };
        if before {
            format!("{sign}{symbol}{space}{digits}")
        } else {
            format!("{sign}{digits}{space}{symbol}")
        }
    }

    /// A price per unit: like [`Locale::money`], with as many decimals as the price
    /// has when it has more than the currency (`$0.000002`).
    pub fn unit_price(&self, price: Decimal, currency: Currency) -> String {
        let exact = price.normalize();
        if exact.scale() <= currency.minor_units() {
            return self.money(price, currency);
        }
        let point = locale_match!(self.0 => LC_MONETARY::MON_DECIMAL_POINT);
        let point = if point.is_empty() { "." } else { point };
        let shown = self.money(Decimal::ZERO, currency);
        let zero = grouped(&currency.show(Decimal::ZERO), point, "");
        let digits = grouped(&exact.to_string(), point, locale_match!(self.0 => LC_MONETARY::MON_THOUSANDS_SEP));
        shown.replacen(&zero, &digits, 1)
    }

    /// `day` in the locale's date order (`2026-11-30` is `11/30/2026` in en-US,
    /// `30.11.2026` in de-DE, `2026年11月30日` in ja-JP).
    pub fn date(&self, day: NaiveDate) -> String {
        let pattern = locale_match!(self.0 => LC_TIME::D_FMT);
        // Only numeric fields are allowed through: a pattern naming a month or day by
        // name would need chrono's unstable locale support.
        if pattern.contains("%b") || pattern.contains("%B") || pattern.contains("%a") || pattern.contains("%A") {
            return day.format("%Y-%m-%d").to_string();
        }
        day.format(pattern).to_string()
    }

    /// A rate as a percentage: `19%`, `7,25 %` in de-DE.
    pub fn percent(&self, rate: Decimal) -> String {
        let number = self.number((rate * Decimal::ONE_HUNDRED).normalize());
        match self.0.to_string().split('_').next() {
            Some("de" | "fr" | "sv" | "nb" | "fi" | "da" | "cs" | "pl") => format!("{number}\u{a0}%"),
            _ => format!("{number}%"),
        }
    }
}

/// `plain` (`-1234567.50`) with `point` for the decimal mark and `group` between
/// thousands of the whole part.
fn grouped(plain: &str, point: &str, group: &str) -> String {
    let (sign, digits) = plain.strip_prefix('-').map_or(("", plain), |d| ("-", d));
    let (whole, fraction) = digits.split_once('.').map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut out = String::with_capacity(plain.len() + 8);
    out.push_str(sign);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push_str(group);
        }
        out.push(c);
    }
    if let Some(f) = fraction {
        out.push_str(point);
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_money_and_dates_follow_the_locale() {
        let (us, de, jp): (Locale, Locale, Locale) =
            ("en-US".parse().unwrap(), "de_DE".parse().unwrap(), "ja-JP".parse().unwrap());
        let (usd, eur, jpy) = (
            Currency::from_code("USD").unwrap(),
            Currency::from_code("EUR").unwrap(),
            Currency::from_code("JPY").unwrap(),
        );
        assert_eq!(us.number(d("1234567.50")), "1,234,567.5");
        assert_eq!(de.number(d("1234567.50")), "1.234.567,5");
        assert_eq!(us.money(d("1234.5"), usd), "$1,234.50");
        assert_eq!(de.money(d("1234.5"), eur), "1.234,50\u{a0}€");
        assert_eq!(de.money(d("-1234.5"), usd), "-USD 1.234,50");
        assert_eq!(jp.money(d("11000"), jpy), "￥11,000");
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(us.date(day), "11/30/2026");
        assert_eq!(de.date(day), "30.11.2026");
        assert_eq!(jp.date(day), "2026年11月30日");
        assert_eq!(de.percent(d("0.19")), "19\u{a0}%");
        assert_eq!(us.percent(d("0.0725")), "7.25%");
        assert_eq!(us.to_string(), "en-US");
        assert!("xx-YY".parse::<Locale>().is_err());
        assert!("POSIX".parse::<Locale>().is_err());
    }
}
