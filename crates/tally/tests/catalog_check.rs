//! `tally catalog check`: a summary for a valid catalog, every problem for an invalid one.

mod common;

use common::*;

#[test]
fn a_valid_catalog_is_summarized() {
    let out = tally().args(["catalog", "check"]).arg(sample_catalog()).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().next().unwrap().ends_with("catalog.toml: valid, 5 meters, 4 plans"), "{text}");
    assert!(text.contains("Plan pro \"Pro\": USD, billed every month"));
    assert!(text.contains("fee    platform             49.00 USD in advance, prorated"));
    assert!(text.contains("graduated per 3600: up to 100 at 2.99; up to 1000 at 2.49; above at 1.99"));
    assert!(text.contains("minimum commitment 5000.00 USD"));
}

#[test]
fn every_problem_of_an_invalid_catalog_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[meters]]\nkey = \"m\"\nevent_type = \"x\"\naggregation = \"sum\"\nvalue = \"v\"\n\
         [[plans]]\nkey = \"p\"\ncurrency = \"EURO\"\ninterval = \"month\"\n\
         [[plans.charges]]\nkey = \"c\"\nmeter = \"m\"\nper = 0.5\nprice = { model = \"per_unit\" }\n",
    )
    .unwrap();
    let out = tally().args(["catalog", "check"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(lines[0].ends_with(
        "bad.toml: plans[p].currency: unknown currency \"EURO\" (expected an ISO 4217 code such as USD, EUR, JPY)"
    ));
    assert!(lines[1].contains("plans[p].charges[c].per: is a TOML float (0.5)"));
    assert!(lines[2].ends_with("plans[p].charges[c].price.unit_price: missing required field"));
    assert!(lines[3].ends_with("bad.toml: 3 problems found"));
}
