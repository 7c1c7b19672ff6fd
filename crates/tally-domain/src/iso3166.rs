//! The shape of ISO 3166 codes, checked where customers' billing details and the
//! catalog's tax rates name places, so both accept the same codes.

/// An ISO 3166-1 alpha-2 country code: two capital letters (`DE`, `JP`, `US`).
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// An ISO 3166-2 subdivision code without its country: one to three capital letters
/// or digits (`CA`, `NY`, `13`).
pub fn is_subdivision(code: &str) -> bool {
    (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}
