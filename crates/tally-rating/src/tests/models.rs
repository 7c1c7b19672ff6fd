//! Each price model at its boundaries: zero, exactly on `up_to`, one unit past it,
//! fractional and huge quantities.

use super::*;

fn tiers() -> Vec<Tier> {
    vec![tier(Some("100"), "2", "10"), tier(Some("1000"), "1.5", "0"), tier(None, "1", "5")]
}

#[test]
fn per_unit_prices_every_unit() {
    let c = charge(Price::PerUnit { unit_price: d("0.25") });
    assert_eq!(amount(&c, "0"), "0.00");
    assert_eq!(amount(&c, "1"), "0.25");
    assert_eq!(amount(&c, "3.5"), "0.88"); // 0.875 rounds half away from zero
    assert_eq!(amount(&c, "0.02"), "0.01"); // 0.005
    assert_eq!(amount(&c, "0.019999"), "0.00"); // 0.00499975
}

#[test]
fn included_and_per_apply_before_the_price() {
    let mut c = charge(Price::PerUnit { unit_price: d("2.50") });
    c.included = d("1000000");
    c.per = d("1000000");
    assert_eq!(priced(&c, usd(), "1500000").0, "0.5");
    assert_eq!(amount(&c, "1500000"), "1.25");
    assert_eq!(amount(&c, "1000000"), "0.00");
    assert_eq!(amount(&c, "999999"), "0.00");
    assert_eq!(priced(&c, usd(), "999999").0, "0");
    assert_eq!(amount(&c, "1000001"), "0.00"); // 0.0000025
    assert_eq!(amount(&c, "1002000"), "0.01"); // 0.005
}

#[test]
fn per_that_does_not_divide_evenly_stays_exact() {
    let mut c = charge(Price::PerUnit { unit_price: d("3") });
    c.per = d("3");
    assert_eq!(amount(&c, "1"), "1.00");
    assert_eq!(amount(&c, "7"), "7.00");
}

#[test]
fn huge_quantities_at_sub_micro_prices_neither_overflow_nor_drift() {
    let c = charge(Price::PerUnit { unit_price: d("0.0000001") });
    assert_eq!(amount(&c, "1000000000000000"), "100000000.00");
    assert_eq!(amount(&c, "1000000000000001"), "100000000.00");
    assert_eq!(amount(&c, "999999999999999.5"), "100000000.00");
    let c = charge(Price::PerUnit { unit_price: d("0.000000123456789") });
    assert_eq!(amount(&c, "1000000000000000"), "123456789.00");
    let mut c = charge(Price::PerUnit { unit_price: d("0.15") });
    c.per = d("1000000");
    // 10^15 tokens at $0.15 per million: exactly $150,000,000.00.
    assert_eq!(amount(&c, "1000000000000000"), "150000000.00");
    // The same tokens as a graduated price with a flat fee and sub-micro unit prices.
    let g = charge(Price::Graduated {
        tiers: vec![tier(Some("1000000000000"), "0.0000002", "1"), tier(None, "0.0000001", "0")],
    });
    // 10^12 * 2e-7 + 1 = 200001; (10^15 - 10^12) * 1e-7 = 99900000.
    assert_eq!(amount(&g, "1000000000000000"), "100100001.00");
}

#[test]
fn graduated_prices_each_tier_and_flat_prices_once() {
    let c = charge(Price::Graduated { tiers: tiers() });
    assert_eq!(amount(&c, "0"), "0.00");
    assert!(priced(&c, usd(), "0").2.is_empty());
    assert_eq!(amount(&c, "1"), "12.00"); // 1 * 2 + 10
    assert_eq!(amount(&c, "100"), "210.00"); // exactly on up_to: tier 2 untouched
    assert_eq!(priced(&c, usd(), "100").2.len(), 1);
    assert_eq!(amount(&c, "101"), "211.50"); // one unit past it
    assert_eq!(amount(&c, "100.5"), "210.75");
    assert_eq!(amount(&c, "1000"), "1560.00"); // 210 + 900 * 1.5
    assert_eq!(amount(&c, "1001"), "1566.00"); // + 1 * 1 + 5
    let (_, _, t) = priced(&c, usd(), "1001");
    assert_eq!(t.iter().map(|t| t.quantity).collect::<Vec<_>>(), vec![d("100"), d("900"), d("1")]);
    assert_eq!(t.iter().map(|t| t.amount).collect::<Vec<_>>(), vec![d("210"), d("1350"), d("6")]);
    assert_eq!(t.iter().map(|t| t.tier).collect::<Vec<_>>(), vec![1, 2, 3]);
}

#[test]
fn volume_prices_all_units_in_the_tier_that_holds_the_quantity() {
    let c = charge(Price::Volume { tiers: tiers() });
    assert_eq!(amount(&c, "0"), "0.00");
    assert!(priced(&c, usd(), "0").2.is_empty());
    assert_eq!(amount(&c, "0.5"), "11.00");
    assert_eq!(amount(&c, "100"), "210.00");
    assert_eq!(amount(&c, "100.001"), "150.00"); // 150.0015 in tier 2
    assert_eq!(amount(&c, "101"), "151.50");
    assert_eq!(amount(&c, "1000"), "1500.00");
    assert_eq!(amount(&c, "1001"), "1006.00");
    let (_, _, t) = priced(&c, usd(), "1001");
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].tier, t[0].quantity, t[0].amount), (3, d("1001"), d("1006")));
}

#[test]
fn package_charges_every_started_package() {
    let c = charge(Price::Package { size: d("10"), package_price: d("5.00") });
    assert_eq!(amount(&c, "0"), "0.00");
    assert_eq!(amount(&c, "0.001"), "5.00");
    assert_eq!(amount(&c, "10"), "5.00");
    assert_eq!(amount(&c, "10.0001"), "10.00");
    assert_eq!(amount(&c, "11"), "10.00");
    assert_eq!(amount(&c, "20"), "10.00");
    let c = charge(Price::Package { size: d("0.3"), package_price: d("1") });
    assert_eq!(amount(&c, "0.9"), "3.00");
    assert_eq!(amount(&c, "0.91"), "4.00");
}

#[test]
fn dynamic_multiplies_the_carried_cost() {
    let mut c = charge(Price::Dynamic { multiplier: d("1.15") });
    assert_eq!(amount(&c, "0"), "0.00");
    assert_eq!(amount(&c, "100.004"), "115.00"); // 115.0046
    assert_eq!(amount(&c, "100.01"), "115.01"); // 115.0115
    c.included = d("10");
    assert_eq!(amount(&c, "110"), "115.00");
    assert_eq!(priced(&c, usd(), "110").0, "100");
}

#[test]
fn line_minimum_applies_only_to_used_lines_and_maximum_caps() {
    let mut c = charge(Price::PerUnit { unit_price: d("0.01") });
    c.minimum = Some(d("5.00"));
    c.maximum = Some(d("100.00"));
    assert_eq!(amount(&c, "0"), "0.00");
    assert_eq!(amount(&c, "1"), "5.00");
    assert_eq!(amount(&c, "500"), "5.00");
    assert_eq!(amount(&c, "501"), "5.01");
    assert_eq!(amount(&c, "10000"), "100.00");
    assert_eq!(amount(&c, "1000000"), "100.00");
    // A used line whose units are all included still owes the minimum.
    c.included = d("1000");
    assert_eq!(amount(&c, "10"), "5.00");
}

#[test]
fn lines_round_to_each_currencys_minor_unit() {
    let c = charge(Price::PerUnit { unit_price: d("0.0125") });
    let jpy = Currency::from_code("JPY").unwrap();
    let kwd = Currency::from_code("KWD").unwrap();
    assert_eq!(priced(&c, jpy, "100").1, "1"); // 1.25
    assert_eq!(priced(&c, jpy, "120").1, "2"); // 1.5 away from zero
    assert_eq!(priced(&c, kwd, "100").1, "1.250");
    assert_eq!(priced(&c, kwd, "1.4").1, "0.018"); // 0.0175
}

#[test]
fn an_amount_beyond_the_decimal_range_is_an_overflow_not_a_panic() {
    let c = charge(Price::PerUnit { unit_price: d("1000000000") });
    let mut tiers = Vec::new();
    assert!(price_usage(&c, usd(), d("79000000000000000000000000000"), &mut tiers).is_err());
    let g = charge(Price::Graduated { tiers: vec![tier(None, "1000000000", "0")] });
    assert!(price_usage(&g, usd(), d("79000000000000000000000000000"), &mut tiers).is_err());
}
