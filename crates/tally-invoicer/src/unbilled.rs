//! Usage that is stored but will never be on an invoice, and why: its customer id is
//! unknown, it falls outside every subscription of its customer (before a start, after
//! an end, a customer without one), or no charge of the plan in force picks it up (a
//! meter the plan does not price, dimensions no charge's filter matches). Usage inside
//! a subscription that a charge picks up is billed when its period closes (or is, as
//! late usage) and is not reported.
//!
//! The store aggregates every meter by all of its dimensions, one query per distinct
//! window for all customers at once (the range itself; each subscription span; the
//! parts of the range no subscription of a customer covers), the way the invoicer reads
//! usage. Quantities are the meter's aggregation over each window, summed over the
//! windows of a reason (a `unique_count` meter counts per window).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tally_domain::{Catalog, CustomerId, Dimensions, Period, PlanKey};
use tally_store::{AccountStore, UsageItem, UsageQuery, UsageStore};

use crate::error::InvoicerError;

/// Why usage is not billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// No customer has its id.
    UnknownCustomer,
    /// Its time is in no subscription of its customer.
    OutsideSubscription,
    /// In a subscription, but no charge of the plan in force picks it up.
    NoCharge,
}

impl Reason {
    /// Every reason, in report order.
    pub const ALL: [Reason; 3] = [Reason::UnknownCustomer, Reason::OutsideSubscription, Reason::NoCharge];

    /// Its stable name (`unknown_customer`, `outside_subscription`, `no_charge`).
    pub fn name(self) -> &'static str {
        match self {
            Reason::UnknownCustomer => "unknown_customer",
            Reason::OutsideSubscription => "outside_subscription",
            Reason::NoCharge => "no_charge",
        }
    }
}

/// Unbilled usage of one customer, meter and set of dimensions, for one reason.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unbilled {
    /// The customer id the events carry.
    pub customer: CustomerId,
    /// Why.
    pub reason: Reason,
    /// The meter.
    pub meter: String,
    /// For `no_charge`: the plan in force.
    pub plan: Option<PlanKey>,
    /// The events' dimensions (those the meter keeps).
    pub dimensions: Dimensions,
    /// The quantity, in the meter's units.
    pub quantity: rust_decimal::Decimal,
}

/// What a window's rows are looked at for.
#[derive(Debug, Clone)]
enum Look {
    /// The whole range: customers unknown, or known with no subscription span in it.
    Whole,
    /// A part of the range no subscription of this customer covers.
    Outside(CustomerId),
    /// A subscription span of this customer on this plan.
    Inside(CustomerId, PlanKey),
}

/// The usage stored for `range` that no invoice will bill, by customer, reason, meter
/// and dimensions.
pub async fn unbilled<S>(store: &S, catalog: &Catalog, range: &Period) -> Result<Vec<Unbilled>, InvoicerError>
where
    S: UsageStore + AccountStore,
{
    let known: BTreeSet<CustomerId> = store.customers().await?.into_iter().map(|c| c.id).collect();
    let mut spans: BTreeMap<CustomerId, Vec<(PlanKey, Period)>> = BTreeMap::new();
    for subscription in store.subscriptions(None).await? {
        spans.entry(subscription.customer.clone()).or_default().extend(subscription.spans(range));
    }
    let mut windows: BTreeMap<(i64, i64), Vec<Look>> = BTreeMap::new();
    let key = |p: &Period| (p.start().timestamp_millis(), p.end().timestamp_millis());
    windows.entry(key(range)).or_default().push(Look::Whole);
    for (customer, parts) in spans.iter().filter(|(_, parts)| !parts.is_empty()) {
        for (plan, span) in parts {
            windows.entry(key(span)).or_default().push(Look::Inside(customer.clone(), plan.clone()));
        }
        for gap in gaps(range, parts.iter().map(|(_, s)| *s)) {
            windows.entry(key(&gap)).or_default().push(Look::Outside(customer.clone()));
        }
    }
    let items: Vec<UsageItem> = catalog
        .meters()
        .iter()
        .map(|m| UsageItem { meter: m.clone(), filter: BTreeMap::new(), group_by: m.dimensions.clone() })
        .collect();
    let mut queries = Vec::with_capacity(windows.len());
    let mut looks = Vec::with_capacity(windows.len());
    for ((start, end), wanted) in windows {
        let period = Period::new(
            chrono::DateTime::from_timestamp_millis(start).unwrap_or_default(),
            chrono::DateTime::from_timestamp_millis(end).unwrap_or_default(),
        )
        .expect("a window from a valid period");
        // One customer's window is asked for that customer only.
        let only = match wanted.as_slice() {
            [Look::Outside(c)] | [Look::Inside(c, _)] => Some(c.clone()),
            _ => None,
        };
        queries.push(UsageQuery { period, customer: only, customers: None, items: items.clone() });
        looks.push(wanted);
    }
    let answers = store.aggregate_many(&queries).await?;
    let mut out: BTreeMap<(CustomerId, Reason, String, Option<PlanKey>, Dimensions), rust_decimal::Decimal> =
        BTreeMap::new();
    for (wanted, rows) in looks.iter().zip(answers) {
        // Per customer, what this window is looked at for.
        let mut by_customer: HashMap<&CustomerId, Vec<&Look>> = HashMap::new();
        let mut whole = false;
        for look in wanted {
            match look {
                Look::Whole => whole = true,
                Look::Outside(c) | Look::Inside(c, _) => by_customer.entry(c).or_default().push(look),
            }
        }
        for row in rows {
            let meter = &items[row.item].meter;
            let mut add = |reason: Reason, plan: Option<PlanKey>| {
                let k = (row.customer.clone(), reason, meter.key.to_string(), plan, row.dimensions.clone());
                *out.entry(k).or_default() += row.quantity;
            };
            if whole && !spans.get(&row.customer).is_some_and(|p| !p.is_empty()) {
                let reason =
                    if known.contains(&row.customer) { Reason::OutsideSubscription } else { Reason::UnknownCustomer };
                add(reason, None);
            }
            for look in by_customer.get(&row.customer).into_iter().flatten() {
                match look {
                    Look::Outside(_) => add(Reason::OutsideSubscription, None),
                    Look::Inside(_, plan) => {
                        let picked = catalog.plan(plan.as_str()).is_some_and(|p| {
                            p.charges.iter().any(|c| {
                                c.meter == meter.key && c.filter.iter().all(|(k, v)| row.dimensions.get(k) == Some(v))
                            })
                        });
                        if !picked {
                            add(Reason::NoCharge, Some(plan.clone()));
                        }
                    }
                    Look::Whole => {}
                }
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|((customer, reason, meter, plan, dimensions), quantity)| Unbilled {
            customer,
            reason,
            meter,
            plan,
            dimensions,
            quantity,
        })
        .collect())
}

/// The parts of `range` none of `covered` covers, in order.
fn gaps(range: &Period, covered: impl Iterator<Item = Period>) -> Vec<Period> {
    let mut covered: Vec<Period> = covered.collect();
    covered.sort_by_key(|p| p.start());
    let mut out = Vec::new();
    let mut at = range.start();
    for part in covered {
        if part.start() > at {
            out.extend(Period::new(at, part.start().min(range.end())).ok());
        }
        at = at.max(part.end());
    }
    if at < range.end() {
        out.extend(Period::new(at, range.end()).ok());
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use tally_domain::Period;

    use super::gaps;

    fn p(a: &str, b: &str) -> Period {
        Period::new(a.parse::<DateTime<Utc>>().unwrap(), b.parse::<DateTime<Utc>>().unwrap()).unwrap()
    }

    #[test]
    fn gaps_are_what_no_span_covers() {
        let range = p("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
        assert_eq!(gaps(&range, std::iter::empty()), vec![range]);
        let spans =
            [p("2026-11-10T00:00:00Z", "2026-11-20T00:00:00Z"), p("2026-11-15T00:00:00Z", "2026-11-25T00:00:00Z")];
        assert_eq!(
            gaps(&range, spans.into_iter()),
            vec![p("2026-11-01T00:00:00Z", "2026-11-10T00:00:00Z"), p("2026-11-25T00:00:00Z", "2026-12-01T00:00:00Z")]
        );
        assert!(gaps(&range, std::iter::once(range)).is_empty());
    }
}
