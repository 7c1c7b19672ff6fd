//! Reading usage for many invoices at once: one store query per distinct (period part,
//! plan), for the customers on that plan then, items being the plan's charges.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use tally_domain::{Catalog, CustomerId, Period, PlanKey};
use tally_rating::ChargeUsage;
use tally_store::{UsageItem, UsageQuery, UsageStore};

use crate::error::InvoicerError;

/// Usage per (period part, plan, customer), charge by charge.
#[derive(Debug, Default)]
pub(crate) struct UsageBook {
    by_span: HashMap<(Period, PlanKey), HashMap<CustomerId, ChargeUsage>>,
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
        let answers = store.aggregate_many(&queries).await?;
        for ((period, plan_key, plan), rows) in asked.into_iter().zip(answers) {
            let entry = book.by_span.entry((period, plan_key)).or_default();
            for row in rows {
                let charge = &plan.charges[row.item];
                let groups = row.dimensions.into_iter().filter(|(k, _)| charge.group_by.contains(k)).collect();
                entry
                    .entry(row.customer)
                    .or_default()
                    .entry(charge.key.to_string())
                    .or_default()
                    .push((groups, row.quantity));
            }
        }
        Ok(book)
    }

    /// A customer's usage in one part of a period under one plan (empty if none).
    pub(crate) fn get(&self, span: &Period, plan: &PlanKey, customer: &CustomerId) -> &ChargeUsage {
        static NONE: ChargeUsage = BTreeMap::new();
        self.by_span.get(&(*span, plan.clone())).and_then(|by_customer| by_customer.get(customer)).unwrap_or(&NONE)
    }
}
