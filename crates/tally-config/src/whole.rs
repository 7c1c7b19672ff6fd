//! Whole numbers read strictly. The `config` crate turns `2.7` into 3 and `1e400` into
//! the largest integer when a field asks for one; these fields ask for "any value" and
//! refuse a fraction, a float, a negative number or text that is not digits, naming
//! what was written, so `max_body_bytes = 1e400` is an error rather than no limit.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// A `usize` from an integer (or, from the environment, digits); never from a float.
pub fn usize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    struct Whole;
    impl Visitor<'_> for Whole {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number such as 64")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<usize, E> {
            usize::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<usize, E> {
            usize::try_from(v).map_err(|_| E::custom(format!("{v} is negative; give a whole number such as 64")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<usize, E> {
            Err(E::custom(format!("{v} is not a whole number; give one such as 64")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
            v.trim().parse().map_err(|_| E::custom(format!("{v:?} is not a whole number; give one such as 64")))
        }
    }
    deserializer.deserialize_any(Whole)
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::usize")]
        n: usize,
    }

    #[test]
    fn only_whole_numbers_pass() {
        assert_eq!(toml::from_str::<T>("n = 64").unwrap().n, 64);
        for bad in ["n = 2.7", "n = 1e400", "n = -1", "n = \"x\"", "n = 3.0"] {
            assert!(toml::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
}
