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

/// A demo customer's billing profile, from where it is: country, region, locale, an
/// address; Tokyo customers have a Japanese legal name, so their PDFs need a CJK font.
fn details(id: &str, name: &str, zone: Tz) -> std::collections::BTreeMap<String, String> {
    let (country, region, locale, city) = match zone {
        Tz::America__New_York => ("US", Some("NY"), "en-US", "New York, NY 10001"),
        Tz::America__Los_Angeles => ("US", Some("CA"), "en-US", "Los Angeles, CA 90012"),
        Tz::Asia__Tokyo => ("JP", None, "ja-JP", "東京都千代田区丸の内1-1-1"),
        Tz::Europe__Berlin => ("DE", None, "de-DE", "10115 Berlin"),
        Tz::Europe__Paris => ("FR", None, "fr-FR", "75002 Paris"),
        _ => ("GB", None, "en-GB", "London EC1A 1BB"),
    };
    let mut details: std::collections::BTreeMap<String, String> = [
        ("email", format!("billing@{id}.example")),
        ("country", country.to_owned()),
        ("locale", locale.to_owned()),
        ("address", format!("1 Example Street\n{city}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(region) = region {
        details.insert("region".into(), region.into());
    }
    if zone == Tz::Asia__Tokyo {
        details.insert("legal_name".into(), format!("株式会社{}（{name}）", &id[id.len() - 3..]));
    }
    details
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
                name: name.clone(),
                currency: Currency::from_code(currency).expect("ISO currency"),
                timezone: zone,
                billing_details: details(&id, &name, zone),
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
