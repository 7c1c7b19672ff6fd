use std::path::Path;

use super::*;

fn catalog() -> Catalog {
    Catalog::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/catalog.toml"))).unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn acme() -> Customer {
    Customer {
        id: CustomerId::new("acme"),
        name: "Acme AI".into(),
        currency: "USD".parse().unwrap(),
        timezone: "Europe/Berlin".parse().unwrap(),
        billing_details: BTreeMap::new(),
    }
}

fn subscription(phases: &[(&str, &str)]) -> Subscription {
    Subscription {
        id: SubscriptionId::new("sub-1"),
        customer: CustomerId::new("acme"),
        start: t(phases[0].1),
        end: None,
        anchor: "2026-11-01".parse().unwrap(),
        phases: phases.iter().map(|(plan, from)| Phase { plan: PlanKey::new(*plan), from: t(from) }).collect(),
    }
}

#[test]
fn a_plan_change_splits_the_period() {
    let s = subscription(&[("starter", "2026-10-31T23:00:00Z"), ("pro", "2026-11-15T23:00:00Z")]);
    s.validate(&acme(), &catalog()).unwrap();
    let november = s.cycle(Interval::Month, acme().timezone).period(0);
    assert_eq!(november.start(), t("2026-10-31T23:00:00Z"));
    let spans = s.spans(&november);
    assert_eq!(spans.len(), 2);
    assert_eq!((spans[0].0.as_str(), spans[0].1.end()), ("starter", t("2026-11-15T23:00:00Z")));
    assert_eq!(
        (spans[1].0.as_str(), spans[1].1.start(), spans[1].1.end()),
        ("pro", t("2026-11-15T23:00:00Z"), november.end())
    );
    // The period before the start has no span; an ended subscription stops at its end.
    assert!(s.spans(&s.cycle(Interval::Month, acme().timezone).period(-1)).is_empty());
    let ended = Subscription { end: Some(t("2026-11-20T00:00:00Z")), ..s };
    assert_eq!(ended.spans(&november).last().unwrap().1.end(), t("2026-11-20T00:00:00Z"));
}

#[test]
fn what_the_catalog_cannot_bill_is_refused_with_the_field_named() {
    let err = |s: Subscription| s.validate(&acme(), &catalog()).unwrap_err().to_string();
    assert_eq!(
        err(subscription(&[("nope", "2026-11-01T00:00:00Z")])),
        "phases[0].plan: nope is not a plan of the catalog"
    );
    assert!(
        err(subscription(&[("pro_eu", "2026-11-01T00:00:00Z")])).starts_with("phases[0].plan: pro_eu prices in EUR")
    );
    assert_eq!(
        err(subscription(&[("starter", "2026-11-10T00:00:00Z"), ("pro", "2026-11-05T00:00:00Z")])),
        "phases[1].from: phases must be in time order"
    );
    let mut no_plan = subscription(&[("starter", "2026-11-01T00:00:00Z")]);
    no_plan.phases.clear();
    assert_eq!(err(no_plan), "phases: a subscription needs a plan");
    let ends_early =
        Subscription { end: Some(t("2026-10-01T00:00:00Z")), ..subscription(&[("starter", "2026-11-01T00:00:00Z")]) };
    assert!(err(ends_early).starts_with("end: "));
}

#[test]
fn a_customer_reads_and_writes_its_zone_by_name() {
    let json = serde_json::to_string(&acme()).unwrap();
    assert!(json.contains("\"timezone\":\"Europe/Berlin\""), "{json}");
    assert_eq!(serde_json::from_str::<Customer>(&json).unwrap(), acme());
    let bad = json.replace("Europe/Berlin", "Mars/Olympus");
    assert!(serde_json::from_str::<Customer>(&bad).unwrap_err().to_string().contains("not an IANA time zone"));
}
