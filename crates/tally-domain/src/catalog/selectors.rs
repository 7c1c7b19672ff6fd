//! Which usage rows each charge of a plan picks, resolved once when the catalog loads.
//!
//! Rating a subscription matches every charge's `filter` against the usage rows of its
//! meter. Done with the keys and values as text, that was string compares per charge and
//! row: most of a `rate()` call (see docs/benchmarks.md, "Rating a whole subscription").
//! Here a plan's charges are grouped by meter (the meter's position in the catalog, an
//! integer), the dimension keys their filters use are numbered (slots), and so are the
//! values the filters ask for. A charge's filter becomes (slot, number) pairs; a usage row
//! is read once per slot (its value's number, or 0 for a value no filter asks for), and
//! a match is a few integer compares.
//!
//! The values sit in `rustc-hash` maps (the compiler's own fast hasher, already in the
//! workspace): a row's value is hashed once per slot, and the maps hold only the
//! catalog's few values, so a hasher that resists crafted keys buys nothing here.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::model::Charge;
use crate::ids::MeterKey;

/// The charges of one plan on one meter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeterSelector {
    /// The meter's position in [`Catalog::meters`](super::Catalog::meters).
    pub meter: usize,
    /// The dimension keys any of these charges filters on, sorted: the slots.
    pub keys: Vec<String>,
    /// Per slot, the values the filters ask for, numbered from 1.
    values: Vec<FxHashMap<String, u32>>,
}

impl MeterSelector {
    /// The number of `value` in slot `slot`; 0 when no filter asks for it.
    pub fn number(&self, slot: usize, value: &str) -> u32 {
        self.values[slot].get(value).copied().unwrap_or(0)
    }

    /// How many values the filters ask for in slot `slot`: its numbers are 1 to this.
    pub fn values_in(&self, slot: usize) -> usize {
        self.values[slot].len()
    }
}

/// How one charge selects rows: its meter's selector and its filter as (slot, number)
/// pairs (every number at least 1, so a row's 0 never matches).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChargeSelector {
    /// Index into [`PlanSelectors::meters`].
    pub meter: usize,
    /// The filter, resolved.
    pub filter: Vec<(usize, u32)>,
}

/// The selectors of every charge of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanSelectors {
    /// One per meter the plan's charges use, in order of first use.
    pub meters: Vec<MeterSelector>,
    /// One per charge, in the plan's charge order.
    pub charges: Vec<ChargeSelector>,
}

impl PlanSelectors {
    /// Resolves `charges` against the catalog's meter positions. A charge whose meter is
    /// not in `meter_index` cannot come out of the loader; it would get a meter position
    /// past the catalog's meters, so that it matches no row.
    pub(crate) fn new(charges: &[Charge], meter_index: &BTreeMap<MeterKey, usize>) -> PlanSelectors {
        let mut meters: Vec<(&MeterKey, MeterSelector)> = Vec::new();
        let mut at_of_charge = Vec::with_capacity(charges.len());
        for charge in charges {
            let at = match meters.iter().position(|(key, _)| *key == &charge.meter) {
                Some(at) => at,
                None => {
                    let meter = meter_index.get(&charge.meter).copied().unwrap_or(usize::MAX);
                    meters.push((&charge.meter, MeterSelector { meter, ..MeterSelector::default() }));
                    meters.len() - 1
                }
            };
            let selector = &mut meters[at].1;
            for key in charge.filter.keys() {
                if let Err(slot) = selector.keys.binary_search(key) {
                    selector.keys.insert(slot, key.clone());
                }
            }
            at_of_charge.push(at);
        }
        for (_, selector) in &mut meters {
            selector.values = vec![FxHashMap::default(); selector.keys.len()];
        }
        let mut resolved = Vec::with_capacity(charges.len());
        for (charge, at) in charges.iter().zip(at_of_charge) {
            let selector = &mut meters[at].1;
            let filter = charge
                .filter
                .iter()
                .map(|(key, value)| {
                    // Found: the first pass inserted every filter key of these charges.
                    let slot = selector.keys.binary_search(key).unwrap_or_default();
                    let values = &mut selector.values[slot];
                    let next = values.len() as u32 + 1;
                    (slot, *values.entry(value.clone()).or_insert(next))
                })
                .collect();
            resolved.push(ChargeSelector { meter: at, filter });
        }
        PlanSelectors { meters: meters.into_iter().map(|(_, s)| s).collect(), charges: resolved }
    }
}
