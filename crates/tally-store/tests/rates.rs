//! Exchange rates: the same contract on the ClickHouse store and on the embedded store.
//! Rates come back exactly as loaded (scale kept), a load of the same rate again stores
//! nothing new, and a corrected rate replaces the old one for that day and pair only.

#[macro_use]
mod both_stores;

use tally_domain::fx::file::parse;
use tally_store::RateStore;

contract!(rates_are_stored_once_per_day_and_pair_and_replaced_by_a_correction);

async fn rates_are_stored_once_per_day_and_pair_and_replaced_by_a_correction(store: &impl RateStore) {
    assert!(store.rates().await.unwrap().is_empty());
    let first = parse("Date,USD,JPY,\n2026-11-30,1.0512,160.12,\n2026-11-27,1.0550,158.20,\n").unwrap().rates;
    assert_eq!(store.put_rates(&first).await.unwrap(), 4);
    assert_eq!(store.put_rates(&first).await.unwrap(), 0, "the same rates again are nothing new");
    let plain =
        parse("date,base,quote,rate\n2026-11-30,EUR,USD,1.0513\n2026-11-30,USD,JPY,152.3400000001\n").unwrap().rates;
    assert_eq!(store.put_rates(&plain).await.unwrap(), 2);
    let read: Vec<String> =
        store.rates().await.unwrap().iter().map(|r| format!("{} {}/{} {}", r.day, r.base, r.quote, r.rate)).collect();
    assert_eq!(
        read,
        [
            "2026-11-27 EUR/JPY 158.2",
            "2026-11-27 EUR/USD 1.055",
            "2026-11-30 EUR/JPY 160.12",
            "2026-11-30 EUR/USD 1.0513",
            "2026-11-30 USD/JPY 152.3400000001",
        ]
    );
}
