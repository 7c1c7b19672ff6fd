//! Customers and subscriptions: the same contract on the ClickHouse store (the real
//! server from deploy/local/services) and on the embedded store.

#[macro_use]
mod both_stores;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tally_domain::{Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};
use tally_store::AccountStore;

contract!(customers_are_written_replaced_and_listed, subscriptions_keep_their_phases_and_end);

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn customer(id: &str, name: &str, zone: &str) -> Customer {
    Customer {
        id: CustomerId::new(id),
        name: name.into(),
        currency: "EUR".parse().unwrap(),
        timezone: zone.parse().unwrap(),
        billing_details: BTreeMap::from([
            ("email".into(), format!("billing@{id}.example")),
            ("tax_id".into(), "DE123".into()),
        ]),
    }
}

async fn customers_are_written_replaced_and_listed(store: &impl AccountStore) {
    assert_eq!(store.customer(&CustomerId::new("acme")).await.unwrap(), None);
    store.put_customer(&customer("zeta", "Zeta", "Asia/Tokyo")).await.unwrap();
    store.put_customer(&customer("acme", "Acme", "Europe/Berlin")).await.unwrap();
    // Later writes win (versions a millisecond apart at least).
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let renamed = customer("acme", "Acme AI GmbH", "Europe/Berlin");
    store.put_customer(&renamed).await.unwrap();
    assert_eq!(store.customer(&CustomerId::new("acme")).await.unwrap(), Some(renamed.clone()));
    let all = store.customers().await.unwrap();
    assert_eq!(all, vec![renamed, customer("zeta", "Zeta", "Asia/Tokyo")]);
}

async fn subscriptions_keep_their_phases_and_end(store: &impl AccountStore) {
    let sub = |id: &str, who: &str| Subscription {
        id: SubscriptionId::new(id),
        customer: CustomerId::new(who),
        start: t("2026-10-31T23:00:00Z"),
        end: None,
        anchor: "2026-11-01".parse().unwrap(),
        phases: vec![Phase { plan: PlanKey::new("pro_eu"), from: t("2026-10-31T23:00:00Z") }],
    };
    store.put_subscription(&sub("sub-b", "acme")).await.unwrap();
    store.put_subscription(&sub("sub-a", "acme")).await.unwrap();
    store.put_subscription(&sub("sub-z", "zeta")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mut changed = sub("sub-a", "acme");
    changed.phases.push(Phase { plan: PlanKey::new("pro_eu"), from: t("2026-11-15T10:30:00.123Z") });
    changed.end = Some(t("2027-01-01T00:00:00Z"));
    store.put_subscription(&changed).await.unwrap();

    assert_eq!(store.subscription(&SubscriptionId::new("sub-a")).await.unwrap(), Some(changed.clone()));
    assert_eq!(store.subscription(&SubscriptionId::new("nope")).await.unwrap(), None);
    let of_acme = store.subscriptions(Some(&CustomerId::new("acme"))).await.unwrap();
    assert_eq!(of_acme, vec![changed, sub("sub-b", "acme")]);
    assert_eq!(store.subscriptions(None).await.unwrap().len(), 3);
}
