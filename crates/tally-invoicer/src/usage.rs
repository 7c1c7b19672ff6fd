//! Reading usage for many invoices at once: one store query per distinct (period part,
//! plan), for the customers on that plan then, items being the plan's charges.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use tally_domain::{Catalog, CustomerId, Dimensions, Period, Plan, PlanKey};
use tally_rating::ChargeUsage;
use tally_store::{UsageItem, UsageQuery, UsageRow, UsageSink, UsageStore};

use crate::error::InvoicerError;

/// Rows filed by customer and charge as the store reads them, per query.
struct Filing<'c> {
    /// The plan of each query.
    asked: Vec<&'c Plan>,
    by_query: Vec<ByCustomer>,
}

/// One query's usage by customer, hashed with FxHash: a row's customer is looked up
/// for every row read, and SipHash was a tenth of filing them.
type ByCustomer = FxHashMap<CustomerId, ChargeUsage>;

impl UsageSink for Filing<'_> {
    fn push(&mut self, query: usize, row: UsageRow<'_>) {
        let charge = &self.asked[query].charges[row.item];
        let groups: Dimensions = charge
            .group_by
            .iter()
            .zip(row.groups)
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.clone(), (*value).to_owned()))
            .collect();
        // Looked up by the borrowed names first: most rows find their customer and
        // charge filed already, and making the keys for every row was most of the cost.
        let file = |by_charge: &mut ChargeUsage| match by_charge.get_mut(charge.key.as_str()) {
            Some(filed) => filed.push((groups, row.quantity)),
            None => {
                by_charge.insert(charge.key.to_string(), vec![(groups, row.quantity)]);
            }
        };
        let by_customer = &mut self.by_query[query];
        match by_customer.get_mut(row.customer) {
            Some(by_charge) => file(by_charge),
            None => {
                let mut by_charge = ChargeUsage::new();
                file(&mut by_charge);
                by_customer.insert(CustomerId::new(row.customer), by_charge);
            }
        }
    }

    fn restart(&mut self, query: usize) {
        self.by_query[query].clear();
    }
}

/// Usage per (period part, plan, customer), charge by charge.
#[derive(Debug, Default)]
pub(crate) struct UsageBook {
    by_span: HashMap<(Period, PlanKey), ByCustomer>,
}

impl UsageBook {
    /// Aggregates every `(span, plan)` asked for, one query each, all handed to the
    /// store at once. Each query asks only for the customers that wanted it (with
    /// `customer`, for that one customer).
    pub(crate) async fn read<S: UsageStore>(
        store: &S,
        catalog: &Catalog,
        wanted: impl IntoIterator<Item = (Period, PlanKey, CustomerId)>,
        customer: Option<&CustomerId>,
    ) -> Result<UsageBook, InvoicerError> {
        let mut book = UsageBook::default();
        let mut spans: BTreeMap<(i64, i64, PlanKey), BTreeSet<CustomerId>> = BTreeMap::new();
        for (p, plan, who) in wanted {
            spans.entry((p.start().timestamp_millis(), p.end().timestamp_millis(), plan)).or_default().insert(who);
        }
        let mut asked = Vec::new();
        let mut queries = Vec::new();
        for ((start, end, plan_key), customers) in spans {
            let period = Period::new(
                chrono::DateTime::from_timestamp_millis(start).unwrap_or_default(),
                chrono::DateTime::from_timestamp_millis(end).unwrap_or_default(),
            )
            .expect("a span from a valid period");
            let Some(plan) = catalog.plan(plan_key.as_str()) else { continue };
            let items: Vec<UsageItem> = plan
                .charges
                .iter()
                .map(|c| {
                    // The catalog loader checked that every charge's meter exists.
                    let meter = catalog.meter(c.meter.as_str()).expect("a validated catalog's meter").clone();
                    UsageItem { meter, filter: c.filter.clone(), group_by: c.group_by.clone() }
                })
                .collect();
            let customers = customer.is_none().then(|| Arc::new(customers));
            queries.push(UsageQuery { period, customer: customer.cloned(), customers, items });
            asked.push((period, plan_key, plan));
        }
        let mut filing = Filing {
            asked: asked.iter().map(|(_, _, plan)| *plan).collect(),
            by_query: asked.iter().map(|_| ByCustomer::default()).collect(),
        };
        store.aggregate_into(&queries, &mut filing).await?;
        for ((period, plan_key, _), usage) in asked.into_iter().zip(filing.by_query) {
            book.by_span.insert((period, plan_key), usage);
        }
        Ok(book)
    }

    /// A customer's usage in one part of a period under one plan (empty if none).
    pub(crate) fn get(&self, span: &Period, plan: &PlanKey, customer: &CustomerId) -> &ChargeUsage {
        static NONE: ChargeUsage = BTreeMap::new();
        self.by_span.get(&(*span, plan.clone())).and_then(|by_customer| by_customer.get(customer)).unwrap_or(&NONE)
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    fn row<'a>(customer: &'a str, item: usize, groups: &'a [&'a str], quantity: i64) -> UsageRow<'a> {
        UsageRow { customer, item, groups, quantity: Decimal::from(quantity) }
    }

    /// Rows are filed by query, customer and charge as they come, with their
    /// `group_by` values as groups; a restart forgets one query.
    #[test]
    fn rows_are_filed_by_charge_and_a_restart_forgets_only_its_query() {
        let catalog =
            Catalog::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/catalog.toml")))
                .unwrap();
        let plan = catalog.plan("starter").unwrap();
        let gpu = plan.charges.iter().position(|c| !c.group_by.is_empty()).unwrap();
        let plain = plan.charges.iter().position(|c| c.group_by.is_empty() && !c.filter.is_empty()).unwrap();
        let mut filing =
            Filing { asked: vec![plan, plan], by_query: vec![ByCustomer::default(), ByCustomer::default()] };
        filing.push(0, row("a", plain, &[], 5));
        filing.push(0, row("a", gpu, &["h100"], 2));
        filing.push(0, row("a", gpu, &["a100"], 3));
        filing.push(0, row("a", gpu, &[""], 4));
        filing.push(1, row("b", plain, &[], 7));
        filing.push(1, row("a", plain, &[], 1));

        let a = &filing.by_query[0][&CustomerId::new("a")];
        assert_eq!(a[plan.charges[plain].key.as_str()], vec![(Dimensions::new(), Decimal::from(5))]);
        let gpu_groups: Vec<(Option<String>, Decimal)> =
            a[plan.charges[gpu].key.as_str()].iter().map(|(d, q)| (d.get("gpu_type").cloned(), *q)).collect();
        let expected = [(Some("h100"), 2), (Some("a100"), 3), (None, 4)];
        let expected: Vec<(Option<String>, Decimal)> =
            expected.iter().map(|(g, q)| (g.map(str::to_owned), Decimal::from(*q))).collect();
        assert_eq!(gpu_groups, expected, "an empty value is a group the events lacked");

        filing.restart(1);
        assert!(filing.by_query[1].is_empty());
        filing.push(1, row("b", plain, &[], 8));
        assert_eq!(filing.by_query[0].len(), 1, "query 0 untouched");
        let b = &filing.by_query[1][&CustomerId::new("b")];
        assert_eq!(b[plan.charges[plain].key.as_str()], vec![(Dimensions::new(), Decimal::from(8))]);
    }
}
