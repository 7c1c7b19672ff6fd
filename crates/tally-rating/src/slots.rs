//! The dimension values of one meter's usage rows, read once per [`rate`](crate::rate)
//! call for all the charges of that meter.
//!
//! Matching each charge's `filter` against every row looked each filter key up in each
//! row's dimension map and compared the strings: 20 charges over 40 rows were 800 map
//! lookups per subscription, a third of `rate`'s time in `memcmp`. Here each row's
//! value for each filtered key is looked up once and numbered (the same text, the same
//! number), and a charge's filter becomes (slot, number) pairs: a match is a few
//! integer compares.

use std::collections::{BTreeMap, HashMap};

use tally_domain::{Charge, Dimensions};

/// Distinct values of one key, numbered from 1 in order of first appearance.
#[derive(Default)]
struct Values<'a> {
    seen: Vec<&'a str>,
    /// Built once there are more values than a linear search should walk.
    index: Option<HashMap<&'a str, u32>>,
}

/// Past this many distinct values of a key, they are found through a hash map.
const LINEAR: usize = 16;

impl<'a> Values<'a> {
    fn number(&self, value: &str) -> Option<u32> {
        match &self.index {
            Some(index) => index.get(value).copied(),
            None => self.seen.iter().position(|v| *v == value).map(|i| i as u32 + 1),
        }
    }

    fn number_or_add(&mut self, value: &'a str) -> u32 {
        if let Some(n) = self.number(value) {
            return n;
        }
        self.seen.push(value);
        let n = self.seen.len() as u32;
        match &mut self.index {
            Some(index) => {
                index.insert(value, n);
            }
            None if self.seen.len() > LINEAR => {
                self.index = Some(self.seen.iter().enumerate().map(|(i, v)| (*v, i as u32 + 1)).collect());
            }
            None => {}
        }
        n
    }
}

/// The filtered keys of one meter's charges and, per row, the number of its value of
/// each (0: the row has no such dimension).
pub(crate) struct Slots<'a> {
    keys: Vec<&'a str>,
    values: Vec<Values<'a>>,
    /// Row-major: `numbers[row * keys.len() + slot]`.
    numbers: Vec<u32>,
}

impl<'a> Slots<'a> {
    /// Reads `rows` for the filter keys of `charges`.
    pub(crate) fn new(
        charges: impl Iterator<Item = &'a Charge>,
        rows: impl Iterator<Item = &'a Dimensions>,
    ) -> Slots<'a> {
        let mut keys: Vec<&str> = charges.flat_map(|c| c.filter.keys().map(String::as_str)).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut values: Vec<Values<'a>> = keys.iter().map(|_| Values::default()).collect();
        let mut numbers = Vec::new();
        for dimensions in rows {
            for (slot, key) in keys.iter().enumerate() {
                numbers.push(dimensions.get(*key).map_or(0, |v| values[slot].number_or_add(v)));
            }
        }
        Slots { keys, values, numbers }
    }

    /// `filter` as (slot, number) pairs; `None` when a value it asks for is in no row
    /// (so no row matches).
    pub(crate) fn filter(&self, filter: &BTreeMap<String, String>) -> Option<Vec<(usize, u32)>> {
        filter
            .iter()
            .map(|(k, v)| {
                let slot = self.keys.iter().position(|key| key == k)?;
                Some((slot, self.values[slot].number(v)?))
            })
            .collect()
    }

    /// Whether row `row` has every value of `filter`.
    pub(crate) fn matches(&self, row: usize, filter: &[(usize, u32)]) -> bool {
        let numbers = &self.numbers[row * self.keys.len()..];
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
    fn values_are_numbered_the_same_past_the_linear_search() {
        let mut values = Values::default();
        let texts: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
        let first: Vec<u32> = texts.iter().map(|t| values.number_or_add(t)).collect();
        let again: Vec<u32> = texts.iter().map(|t| values.number_or_add(t)).collect();
        assert_eq!(first, again);
        assert_eq!(first, (1..=100).collect::<Vec<u32>>());
        assert!(values.index.is_some());
        assert_eq!(values.number("m99"), Some(100));
        assert_eq!(values.number("absent"), None);
    }

    #[test]
    fn a_row_matches_when_it_has_every_filtered_value() {
        let rows = [
            dims(&[("model", "a"), ("direction", "in")]),
            dims(&[("model", "a")]),
            dims(&[("model", "b"), ("direction", "in")]),
        ];
        let both = dims(&[("model", "a"), ("direction", "in")]);
        let mut charge = crate::tests::charge(tally_domain::Price::PerUnit { unit_price: crate::tests::d("1") });
        charge.filter = both.clone();
        let slots = Slots::new(std::iter::once(&charge), rows.iter());
        let f = slots.filter(&both).unwrap();
        assert_eq!((0..3).map(|r| slots.matches(r, &f)).collect::<Vec<_>>(), [true, false, false]);
        let model_b = slots.filter(&dims(&[("model", "b")])).unwrap();
        assert_eq!((0..3).map(|r| slots.matches(r, &model_b)).collect::<Vec<_>>(), [false, false, true]);
        assert!(slots.filter(&dims(&[("model", "z")])).is_none(), "a value in no row matches nothing");
        assert!(slots.filter(&dims(&[("region", "eu")])).is_none(), "a key no charge filtered on is no slot");
        assert!(slots.filter(&BTreeMap::new()).unwrap().is_empty(), "no filter: every row");
    }
}
