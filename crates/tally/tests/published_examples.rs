//! Worked examples published by Stripe, Lago, an OpenMeter rate card and Kill Bill,
//! priced end to end by `tally rate`. Every expected figure is worked out here by
//! hand, not copied from the source page (some published pages get their sums wrong).

mod common;

use common::*;

/// Prices `quantity` units on `plan` of the published-examples catalog; returns the total.
fn total(plan: &str, quantity: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let usage = usage_file(dir.path(), plan, &[("units", quantity)]);
    let out = rate_ok(&fixture("published.toml"), &usage);
    out["total"].as_str().unwrap().to_owned()
}

#[test]
fn stripe_volume_fonts() {
    // All fonts at the rate of the tier the total falls in.
    assert_eq!(total("stripe_volume", "1"), "7.00"); // 1 x 7
    assert_eq!(total("stripe_volume", "5"), "35.00"); // 5 x 7
    assert_eq!(total("stripe_volume", "6"), "39.00"); // 6 x 6.5
    assert_eq!(total("stripe_volume", "10"), "65.00"); // 10 x 6.5
    assert_eq!(total("stripe_volume", "11"), "66.00"); // 11 x 6
    assert_eq!(total("stripe_volume", "20"), "120.00"); // 20 x 6
    assert_eq!(total("stripe_volume", "25"), "150.00"); // 25 x 6
}

#[test]
fn stripe_graduated_fonts() {
    assert_eq!(total("stripe_graduated", "5"), "35.00"); // 5 x 7
    assert_eq!(total("stripe_graduated", "6"), "41.50"); // 35 + 1 x 6.5
    assert_eq!(total("stripe_graduated", "10"), "67.50"); // 35 + 5 x 6.5
    assert_eq!(total("stripe_graduated", "20"), "127.50"); // 67.5 + 10 x 6
    assert_eq!(total("stripe_graduated", "25"), "157.50"); // 67.5 + 15 x 6
}

#[test]
fn stripe_package_rounds_partial_packages_up() {
    assert_eq!(total("stripe_package", "0"), "0.00");
    assert_eq!(total("stripe_package", "5"), "5.00"); // 1 package
    assert_eq!(total("stripe_package", "8"), "10.00"); // 2 packages
    assert_eq!(total("stripe_package", "11"), "15.00"); // 3 packages
}

#[test]
fn lago_volume_with_flat_fees() {
    assert_eq!(total("lago_volume", "65000"), "49.00"); // 65,000 x 0.0006 + 10
    assert_eq!(total("lago_volume", "10000"), "20.00"); // 10,000 x 0.001 + 10
    assert_eq!(total("lago_volume", "10001"), "18.00"); // 10,001 x 0.0008 + 10 = 18.0008
    assert_eq!(total("lago_volume", "100001"), "50.00"); // 100,001 x 0.0004 + 10 = 50.0004
}

#[test]
fn lago_graduated() {
    assert_eq!(total("lago_graduated", "100"), "100.00"); // 100 x 1
    assert_eq!(total("lago_graduated", "150"), "125.00"); // 100 + 50 x 0.5
    assert_eq!(total("lago_graduated", "250"), "155.00"); // 100 + 50 + 50 x 0.1
}

#[test]
fn lago_package_with_free_units() {
    assert_eq!(total("lago_package", "100"), "0.00"); // all free
    assert_eq!(total("lago_package", "101"), "5.00"); // 1 billable unit: 1 package
    assert_eq!(total("lago_package", "350"), "15.00"); // 250 billable: 3 packages
}

#[test]
fn openmeter_tiered_rate_card() {
    assert_eq!(total("openmeter_graduated", "15000"), "600.00"); // 1,000 x 0.10 + 9,000 x 0.05 + 5,000 x 0.01
    assert_eq!(total("openmeter_volume", "15000"), "150.00"); // 15,000 x 0.01
    assert_eq!(total("openmeter_volume", "1000"), "100.00"); // 1,000 x 0.10
    assert_eq!(total("openmeter_volume", "1001"), "50.05"); // 1,001 x 0.05
}

#[test]
fn killbill_bronze_blocks_over_the_allowance() {
    assert_eq!(total("killbill_bronze", "9000"), "100.00"); // within the 10,000 included
    assert_eq!(total("killbill_bronze", "12500"), "115.00"); // 2,500 over: 3 blocks x 5 + 100
}
