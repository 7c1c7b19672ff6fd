//! Which periods of a subscription are due: ended more than the grace period ago and
//! overlapping the subscription's term.

use chrono::{DateTime, TimeDelta, Utc};
use tally_domain::{AccountError, BillingCycle, Catalog, Customer, Subscription};

/// The subscription's billing cycle: its plans' interval (one for all phases, checked
/// by validation) from its anchor, in the customer's time zone.
pub fn cycle_of(
    subscription: &Subscription,
    customer: &Customer,
    catalog: &Catalog,
) -> Result<BillingCycle, AccountError> {
    subscription.validate(customer, catalog)?;
    let plan =
        catalog.plan(subscription.phases[0].plan.as_str()).expect("validate checked that every phase's plan exists");
    Ok(subscription.cycle(plan.interval, customer.timezone))
}

/// Indices of the periods that ended at least `grace` before `now` and overlap the
/// subscription's term, oldest first. Closing them is idempotent, so the invoicer may
/// ask again and again; the store says which are closed already.
pub fn due_periods(
    subscription: &Subscription,
    cycle: &BillingCycle,
    now: DateTime<Utc>,
    grace: TimeDelta,
) -> Vec<i64> {
    let first = cycle.index_at(subscription.start);
    let cutoff = now - grace;
    let mut due = Vec::new();
    let mut index = first;
    loop {
        let period = cycle.period(index);
        if period.end() > cutoff || subscription.end.is_some_and(|end| period.start() >= end) {
            return due;
        }
        due.push(index);
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use tally_domain::{CustomerId, Interval, Phase, PlanKey, SubscriptionId};

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn subscription(start: &str, end: Option<&str>) -> Subscription {
        Subscription {
            id: SubscriptionId::new("s"),
            customer: CustomerId::new("c"),
            start: t(start),
            end: end.map(t),
            anchor: "2026-11-01".parse().unwrap(),
            phases: vec![Phase { plan: PlanKey::new("pro"), from: t(start) }],
        }
    }

    #[test]
    fn periods_are_due_after_the_grace_period_and_within_the_term() {
        let cycle = BillingCycle::new(Interval::Month, "2026-11-01".parse().unwrap(), chrono_tz::Tz::UTC);
        let hour = TimeDelta::hours(1);
        let s = subscription("2026-11-10T00:00:00Z", None);
        assert_eq!(due_periods(&s, &cycle, t("2026-12-01T00:59:59Z"), hour), Vec::<i64>::new(), "still in grace");
        assert_eq!(due_periods(&s, &cycle, t("2026-12-01T01:00:00Z"), hour), vec![0]);
        assert_eq!(due_periods(&s, &cycle, t("2027-02-15T00:00:00Z"), hour), vec![0, 1, 2]);
        let ended = subscription("2026-11-10T00:00:00Z", Some("2026-12-01T00:00:00Z"));
        assert_eq!(due_periods(&ended, &cycle, t("2027-02-15T00:00:00Z"), hour), vec![0], "nothing after the end");
    }
}
