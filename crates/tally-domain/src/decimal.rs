//! Exact decimal text: how prices, quantities and amounts are read from user input.
//!
//! Every number that becomes money or a quantity passes through [`parse_exact`], which
//! never goes through a binary float and refuses text it cannot hold exactly rather
//! than rounding it silently.

use rust_decimal::Decimal;
use thiserror::Error;

/// Why a text is not an exact decimal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecimalTextError {
    /// The text is not a decimal number at all.
    #[error("{0:?} is not a decimal number")]
    NotANumber(String),
    /// The number has more significant digits than 28, or is beyond about 7.9e28.
    #[error("{0:?} cannot be held exactly (at most 28 significant digits, magnitude below 7.9e28)")]
    OutOfRange(String),
}

/// Parses decimal text exactly: `"2.50"`, `"-3"`, `"0.0000025"`, `"1.5e6"`.
///
/// Trailing zeros are kept as written (the scale is preserved); callers that print
/// quantities normalize them.
pub fn parse_exact(text: &str) -> Result<Decimal, DecimalTextError> {
    let looks_numeric = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if !looks_numeric {
        return Err(DecimalTextError::NotANumber(text.to_owned()));
    }
    let parsed = if text.contains(['e', 'E']) { Decimal::from_scientific(text) } else { Decimal::from_str_exact(text) };
    parsed.map_err(|err| {
        use rust_decimal::Error as E;
        match err {
            E::ExceedsMaximumPossibleValue
            | E::LessThanMinimumPossibleValue
            | E::Underflow
            | E::ScaleExceedsMaximumPrecision(_) => DecimalTextError::OutOfRange(text.to_owned()),
            // rust_decimal reports too many digits as a parse error: a well-formed
            // number it cannot hold is out of range, not "not a number".
            _ if well_formed(text) => DecimalTextError::OutOfRange(text.to_owned()),
            _ => DecimalTextError::NotANumber(text.to_owned()),
        }
    })
}

/// `[+-]digits[.digits][(e|E)[+-]digits]`: the shape of a number, whatever its size.
fn well_formed(text: &str) -> bool {
    fn digits(s: &str) -> (&str, bool) {
        let end = s.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
        (&s[end..], end > 0)
    }
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (rest, int) = digits(rest);
    let rest = match rest.strip_prefix('.') {
        Some(fraction) => match digits(fraction) {
            (rest, true) => rest,
            (_, false) => return false,
        },
        None => rest,
    };
    let rest = match rest.strip_prefix(['e', 'E']) {
        Some(exponent) => match digits(exponent.strip_prefix(['+', '-']).unwrap_or(exponent)) {
            (rest, true) => rest,
            (_, false) => return false,
        },
        None => rest,
    };
    int && rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn reads_plain_and_scientific_text_exactly() {
        assert_eq!(parse_exact("0.1").unwrap(), d("0.1"));
        assert_eq!(parse_exact("2.50").unwrap().to_string(), "2.50");
        assert_eq!(parse_exact("-3").unwrap(), d("-3"));
        assert_eq!(parse_exact("1.5e6").unwrap(), d("1500000"));
        assert_eq!(parse_exact("25E-7").unwrap(), d("0.0000025"));
        assert_eq!(parse_exact("0.0000000000000000000000000001").unwrap(), d("0.0000000000000000000000000001"));
    }

    #[test]
    fn refuses_what_it_cannot_hold_exactly() {
        assert!(matches!(parse_exact(""), Err(DecimalTextError::NotANumber(_))));
        assert!(matches!(parse_exact("1,5"), Err(DecimalTextError::NotANumber(_))));
        assert!(matches!(parse_exact("NaN"), Err(DecimalTextError::NotANumber(_))));
        assert!(matches!(parse_exact(" 1"), Err(DecimalTextError::NotANumber(_))));
        assert!(matches!(parse_exact("1.2.3"), Err(DecimalTextError::NotANumber(_))));
        // 29 significant digits would have to be rounded: refused, not rounded.
        assert!(parse_exact("0.00000000000000000000000000001").is_err());
        assert!(parse_exact("99999999999999999999999999999999").is_err());
        let eighty = "1".repeat(80);
        for big in [eighty.as_str(), "1.5e400", "-1e-400", "123456789012345678901234567890.5"] {
            assert!(matches!(parse_exact(big), Err(DecimalTextError::OutOfRange(_))), "{big}");
        }
        for not in ["1e", "--1", "1e+", "1-2"] {
            assert!(matches!(parse_exact(not), Err(DecimalTextError::NotANumber(_))), "{not}");
        }
    }
}
