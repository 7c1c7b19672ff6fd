//! The dimension values of one meter's usage rows, read once per [`rate`](crate::rate)
//! call for all the charges of that meter.
//!
//! Matching each charge's `filter` against every row looked each filter key up in each
//! row's dimension map and compared the strings: 20 charges over 40 rows were 800 map
//! lookups per subscription, a third of `rate`'s time in `memcmp`. The catalog resolves
//! each plan's filters to numbered slots once (`tally_domain::PlanSelectors`); here each
//! row's value for each slot is looked up once and replaced by its number, and a match
//! is a few integer compares.
//!
//! Even integer compares of every charge against every row grew as charges times rows
//! (half of `rate`'s own time with 20 charges). So the rows are also listed per slot and
//! number (a counting sort, in row order): a charge visits only the rows that have its
//! filter's first value, and checks the rest of its filter on those.

use tally_domain::{Dimensions, MeterSelector};

/// Per row of one meter, the number of its value in each slot of the meter's selector
/// (0: the row has no such dimension, or a value no filter asks for).
pub(crate) struct Slots {
    rows: usize,
    width: usize,
    /// Row-major: `numbers[row * width + slot]`.
    numbers: Vec<u32>,
    /// Per slot, the rows in order of their number in that slot (row order within a
    /// number): `listed[slot * rows..][..rows]`.
    listed: Vec<u32>,
    /// Per slot, where each number's rows start in its part of `listed`, and one past
    /// the last: `starts[first[slot] + number]`.
    starts: Vec<u32>,
    /// Per slot, where its numbers start in `starts`.
    first: Vec<usize>,
}

impl Slots {
    /// Reads `rows` for the slots of `selector`.
    pub(crate) fn new<'a>(selector: &MeterSelector, rows: impl ExactSizeIterator<Item = &'a Dimensions>) -> Slots {
        let width = selector.keys.len();
        let count = rows.len();
        let mut numbers = Vec::with_capacity(count * width);
        // Per slot, the previous row's value and its number: rows come ordered by
        // their dimensions, so a value often repeats, and comparing it costs less
        // than hashing it again.
        let mut previous: Vec<Option<(&str, u32)>> = vec![None; width];
        for dimensions in rows {
            for (slot, key) in selector.keys.iter().enumerate() {
                let number = match dimensions.get(key) {
                    None => 0,
                    Some(value) => match previous[slot] {
                        Some((seen, number)) if seen == value.as_str() => number,
                        _ => {
                            let number = selector.number(slot, value);
                            previous[slot] = Some((value.as_str(), number));
                            number
                        }
                    },
                };
                numbers.push(number);
            }
        }
        let mut first = Vec::with_capacity(width);
        let mut starts = Vec::new();
        let mut listed = vec![0u32; count * width];
        let mut next: Vec<u32> = Vec::new();
        for slot in 0..width {
            // Counting sort of the rows by their number in this slot.
            let base = starts.len();
            first.push(base);
            starts.resize(base + selector.values_in(slot) + 2, 0);
            for row in 0..count {
                starts[base + numbers[row * width + slot] as usize + 1] += 1;
            }
            for i in base + 1..starts.len() {
                starts[i] += starts[i - 1];
            }
            next.clear();
            next.extend_from_slice(&starts[base..starts.len() - 1]);
            for row in 0..count {
                let number = numbers[row * width + slot] as usize;
                listed[slot * count + next[number] as usize] = row as u32;
                next[number] += 1;
            }
        }
        Slots { rows: count, width, numbers, listed, starts, first }
    }

    /// Whether row `row` has every value of `filter` ((slot, number) pairs, numbers from 1).
    pub(crate) fn matches(&self, row: usize, filter: &[(usize, u32)]) -> bool {
        let numbers = &self.numbers[row * self.width..];
        filter.iter().all(|(slot, n)| numbers[*slot] == *n)
    }

    /// The rows that match `filter`, in row order.
    pub(crate) fn matching<'s>(&'s self, filter: &'s [(usize, u32)]) -> impl Iterator<Item = usize> + 's {
        let candidates: &[u32] = match filter.first() {
            None => &[],
            Some(&(slot, number)) => {
                let at = self.first[slot] + number as usize;
                let (from, to) = (self.starts[at] as usize, self.starts[at + 1] as usize);
                &self.listed[slot * self.rows..][from..to]
            }
        };
        let every = if filter.is_empty() { 0..self.rows } else { 0..0 };
        let rest = filter.get(1..).unwrap_or_default();
        candidates.iter().map(|&row| row as usize).filter(move |row| self.matches(*row, rest)).chain(every)
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
        for (charge, selector) in selectors.charges.iter().enumerate() {
            let listed: Vec<usize> = slots.matching(&selector.filter).collect();
            let wanted: Vec<usize> = (0..rows.len()).filter(|r| picked(charge)[*r]).collect();
            assert_eq!(listed, wanted, "charge {charge}: the listed rows are the matching ones, in row order");
        }
        assert_eq!(selectors.meters[0].number(1, "c"), 0, "a value no filter asks for has no number");
    }
}
