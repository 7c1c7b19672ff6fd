//! The demo's customers and subscriptions: AI companies on the sample catalog's four
//! plans, in six time zones, each subscribed from the first of the demo month (local).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use tally_domain::{Currency, Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};

const FIRST: [&str; 20] = [
    "Aurora", "Basalt", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Helix", "Iris", "Juniper", "Kestrel", "Lumen",
    "Meridian", "Nimbus", "Onyx", "Polaris", "Quartz", "Radiant", "Sable", "Tidal",
];
const SECOND: [&str; 16] = [
    "AI",
    "Labs",
    "Robotics",
    "Analytics",
    "Vision",
    "Speech",
    "Health AI",
    "Search",
    "Agents",
    "Compute",
    "Genomics",
    "Translate",
    "Studio",
    "Code",
    "Finance AI",
    "Legal AI",
];
/// Zones of customers billed in dollars, and in euros.
const USD_ZONES: [Tz; 4] = [Tz::UTC, Tz::America__New_York, Tz::America__Los_Angeles, Tz::Asia__Tokyo];
const EUR_ZONES: [Tz; 2] = [Tz::Europe__Berlin, Tz::Europe__Paris];

/// Every zone a demo customer can be in.
pub fn zones() -> impl Iterator<Item = Tz> {
    USD_ZONES.into_iter().chain(EUR_ZONES)
}

/// The customer id the usage generator gives customer `index`.
pub fn customer_id(index: u32) -> String {
    format!("customer-{index:06}")
}

/// The plan of customer `index`: one in twenty on Enterprise (the heaviest user among
/// them), a fifth on Pro in euros, a third on Pro, the rest on Starter.
fn plan(index: u32) -> &'static str {
    match index % 20 {
        0 => "enterprise",
        1..=4 => "pro_eu",
        5..=11 => "pro",
        _ => "starter",
    }
}

/// The demo's customers and their subscriptions, starting on the first of `month`
/// at local midnight.
pub fn accounts(customers: u32, month: NaiveDate) -> Vec<(Customer, Subscription)> {
    (0..customers)
        .map(|i| {
            let plan = plan(i);
            let (currency, zone) = if plan == "pro_eu" {
                ("EUR", EUR_ZONES[(i as usize / 20) % EUR_ZONES.len()])
            } else {
                ("USD", USD_ZONES[(i as usize / 3) % USD_ZONES.len()])
            };
            // A permutation of the 320 names (97 is prime to 320): neighbours get unrelated names.
            let names = FIRST.len() * SECOND.len();
            let k = (i as usize * 97 + 13) % names;
            let mut name = format!("{} {}", FIRST[k / SECOND.len()], SECOND[k % SECOND.len()]);
            let round = i as usize / names;
            if round > 0 {
                name.push_str(&format!(" {}", round + 1));
            }
            let id = customer_id(i);
            let customer = Customer {
                id: CustomerId::new(id.clone()),
                name,
                currency: Currency::from_code(currency).expect("ISO currency"),
                timezone: zone,
                billing_details: [("email".to_owned(), format!("billing@{id}.example"))].into(),
            };
            let start = local_midnight(zone, month);
            let subscription = Subscription {
                id: SubscriptionId::new(format!("sub-{id}")),
                customer: customer.id.clone(),
                start,
                end: None,
                anchor: month,
                phases: vec![Phase { plan: PlanKey::new(plan), from: start }],
            };
            (customer, subscription)
        })
        .collect()
}

/// The first instant of `date` in `zone`.
pub fn local_midnight(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    zone.from_local_datetime(&midnight).earliest().expect("no zone of the demo skips midnight").with_timezone(&Utc)
}
