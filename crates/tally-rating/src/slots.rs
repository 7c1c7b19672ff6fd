//! The dimension values of one meter's usage rows, read once per [`rate`](crate::rate)
//! call for all the charges of that meter.
//!
//! Matching each charge's `filter` against every row looked each filter key up in each
//! row's dimension map and compared the strings: 20 charges over 40 rows were 800 map
//! lookups per subscription, a third of `rate`'s time in `memcmp`. The catalog resolves
//! each plan's filters to numbered slots once (`tally_domain::PlanSelectors`); here each
//! row's value for each slot is looked up once and replaced by its number, and a match
//! is a few integer compares.

use tally_domain::{Dimensions, MeterSelector};

/// Per row of one meter, the number of its value in each slot of the meter's selector
/// (0: the row has no such dimension, or a value no filter asks for).
pub(crate) struct Slots {
    width: usize,
    /// Row-major: `numbers[row * width + slot]`.
    numbers: Vec<u32>,
}

impl Slots {
    /// Reads `rows` for the slots of `selector`.
    pub(crate) fn new<'a>(selector: &MeterSelector, rows: impl ExactSizeIterator<Item = &'a Dimensions>) -> Slots {
        let width = selector.keys.len();
        let mut numbers = Vec::with_capacity(rows.len() * width);
        for dimensions in rows {
            for (slot, key) in selector.keys.iter().enumerate() {
                numbers.push(dimensions.get(key).map_or(0, |v| selector.number(slot, v)));
            }
        }
        Slots { width, numbers }
    }

    /// Whether row `row` has every value of `filter` ((slot, number) pairs, numbers from 1).
    pub(crate) fn matches(&self, row: usize, filter: &[(usize, u32)]) -> bool {
        let numbers = &self.numbers[row * self.width..];
        filter.iter().all(|(slot, n)| numbers[*slot] == *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(pairs: &[(&str, &str)]) -> Dimensions {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_row_matches_when_it_has_every_filtered_value() {
        let text = r#"
[[meters]]
key = "tokens"
event_type = "llm.tokens"
aggregation = "sum"
value = "tokens"
dimensions = ["model", "direction", "region"]

[[plans]]
key = "p"
currency = "USD"
interval = "month"
[[plans.charges]]
key = "both"
meter = "tokens"
filter = { model = "a", direction = "in" }
price = { model = "per_unit", unit_price = "1" }
[[plans.charges]]
key = "model_b"
meter = "tokens"
filter = { model = "b" }
price = { model = "per_unit", unit_price = "1" }
[[plans.charges]]
key = "model_z"
meter = "tokens"
filter = { model = "z" }
price = { model = "per_unit", unit_price = "1" }
[[plans.charges]]
key = "all"
meter = "tokens"
price = { model = "per_unit", unit_price = "1" }
"#;
        let catalog = tally_domain::Catalog::from_toml_str(text, "slots.toml").unwrap();
        let selectors = catalog.plan("p").unwrap().selectors();
        assert_eq!(selectors.meters.len(), 1, "one meter, one selector");
        assert_eq!(selectors.meters[0].keys, ["direction", "model"], "the filtered keys, sorted");
        let rows = [
            dims(&[("model", "a"), ("direction", "in")]),
            dims(&[("model", "a"), ("region", "eu")]),
            dims(&[("model", "b"), ("direction", "in")]),
            dims(&[("model", "c"), ("direction", "in")]),
        ];
        let slots = Slots::new(&selectors.meters[0], rows.iter());
        let picked = |charge: usize| -> Vec<bool> {
            (0..rows.len()).map(|r| slots.matches(r, &selectors.charges[charge].filter)).collect()
        };
        assert_eq!(picked(0), [true, false, false, false]);
        assert_eq!(picked(1), [false, false, true, false]);
        assert_eq!(picked(2), [false, false, false, false], "a value in no row matches nothing");
        assert_eq!(picked(3), [true, true, true, true], "no filter: every row");
        assert_eq!(selectors.meters[0].number(1, "c"), 0, "a value no filter asks for has no number");
    }
}
