//! Every refusal of the pricing contract, through the CLI: non-zero exit, nothing on
//! stdout, and one line on stderr naming the file and the field.

mod common;

use std::path::PathBuf;

use common::*;

fn catalog(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("catalog.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn usage(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("usage.json");
    std::fs::write(&path, text).unwrap();
    path
}

const CATALOG: &str = include_str!("fixtures/spec_example.toml");
const USAGE: &str = include_str!("fixtures/spec_example_usage.json");

fn catalog_error(edit: (&str, &str)) -> String {
    let dir = tempfile::tempdir().unwrap();
    assert!(CATALOG.contains(edit.0), "fixture lacks {:?}", edit.0);
    let c = catalog(&dir, &CATALOG.replacen(edit.0, edit.1, 1));
    let err = rate_err(&c, &usage(&dir, USAGE));
    let file = c.display().to_string();
    assert!(err.starts_with(&format!("error: {file}: ")), "names the catalog file: {err}");
    err.replace(&file, "catalog.toml")
}

fn usage_error(edit: (&str, &str)) -> String {
    let dir = tempfile::tempdir().unwrap();
    assert!(USAGE.contains(edit.0), "fixture lacks {:?}", edit.0);
    let u = usage(&dir, &USAGE.replacen(edit.0, edit.1, 1));
    let err = rate_err(&catalog(&dir, CATALOG), &u);
    let file = u.display().to_string();
    assert!(err.starts_with(&format!("error: {file}: ")), "names the usage file: {err}");
    err.replacen(&file, "usage.json", 1)
}

#[test]
fn unknown_key_in_the_catalog() {
    assert_eq!(
        catalog_error(("per = \"1000000\"", "per = \"1000000\"\nincluded_units = \"5\"")),
        "error: catalog.toml: plans[pro].charges[gpt4o_input].included_units: unknown field; expected one of: \
         accounting, description, filter, group_by, included, key, maximum, meter, minimum, name, per, price, tax_category, unit"
    );
}

#[test]
fn missing_key_in_the_catalog() {
    assert_eq!(
        catalog_error(("currency = \"USD\"\n", "")),
        "error: catalog.toml: plans[pro].currency: missing required field"
    );
}

#[test]
fn wrong_type_in_the_catalog() {
    assert_eq!(
        catalog_error(("amount = \"49.00\"", "amount = true")),
        "error: catalog.toml: plans[pro].fees[platform].amount: expected a decimal string such as \"2.50\", found a boolean"
    );
}

#[test]
fn a_toml_float_says_to_quote_it() {
    assert_eq!(
        catalog_error(("unit_price = \"2.50\"", "unit_price = 2.50")),
        "error: catalog.toml: plans[pro].charges[gpt4o_input].price.unit_price: is a TOML float (2.5); write decimals \
         as strings, e.g. unit_price = \"2.5\" (binary floats cannot hold most prices exactly)"
    );
}

#[test]
fn a_charge_on_an_unknown_meter() {
    assert_eq!(
        catalog_error(("meter = \"llm_tokens\"", "meter = \"tokens\"")),
        "error: catalog.toml: plans[pro].charges[gpt4o_input].meter: unknown meter \"tokens\"; define it in a [[meters]] table"
    );
}

#[test]
fn non_increasing_tiers_and_a_tier_without_price() {
    let tiers = "price = { model = \"graduated\", tiers = [{ up_to = \"10\", unit_price = \"1\" }, { up_to = \"5\", unit_price = \"1\" }, { up_to = \"20\" }, { unit_price = \"1\" }] }";
    let err = catalog_error(("price = { model = \"per_unit\", unit_price = \"2.50\" }", tiers));
    assert_eq!(
        err,
        "error: catalog.toml: plans[pro].charges[gpt4o_input].price.tiers[1].up_to: 5 is not above the previous tier's \
         up_to 10; bounds must strictly increase (and 1 more problem; run `tally catalog check catalog.toml` to list them all)"
    );
}

#[test]
fn duplicate_keys_and_unknown_currency() {
    assert_eq!(
        catalog_error(("currency = \"USD\"", "currency = \"US$\"")),
        "error: catalog.toml: plans[pro].currency: unknown currency \"US$\" (expected an ISO 4217 code such as USD, EUR, JPY)"
    );
    assert_eq!(
        catalog_error(("key = \"gpt4o_input\"", "key = \"platform\"")),
        "error: catalog.toml: plans[pro].charges[platform].key: duplicate line key \"platform\": fee and charge keys must be unique within a plan"
    );
}

#[test]
fn a_usage_row_on_an_unknown_meter() {
    assert_eq!(
        usage_error(("\"meter\": \"llm_tokens\"", "\"meter\": \"tokens\"")),
        "error: usage.json: usage[0].meter: unknown meter \"tokens\""
    );
}

#[test]
fn a_negative_quantity() {
    assert_eq!(
        usage_error(("\"quantity\": \"1500000\"", "\"quantity\": \"-1500000\"")),
        "error: usage.json: usage[0].quantity: -1500000 is negative; quantities must be zero or more"
    );
}

#[test]
fn a_quantity_that_is_not_a_decimal() {
    let err = usage_error(("\"quantity\": \"1500000\"", "\"quantity\": \"1.5M\""));
    assert!(err.starts_with("error: usage.json: usage[0].quantity: \"1.5M\" is not a decimal number"), "{err}");
    let err = usage_error(("\"quantity\": \"1500000\"", "\"quantity\": true"));
    assert!(err.starts_with("error: usage.json: usage[0].quantity: expected a decimal, found a boolean"), "{err}");
}

#[test]
fn an_unknown_plan_and_a_malformed_usage_file() {
    assert_eq!(
        usage_error(("\"plan\": \"pro\"", "\"plan\": \"gold\"")),
        "error: usage.json: plan: unknown plan \"gold\" (the catalog has: pro)"
    );
    let err = usage_error(("\"usage\": [", "\"usage\": [["));
    assert!(err.starts_with("error: usage.json: usage[0][0]: invalid type: map, expected a string"), "{err}");
    let err = usage_error(("\"end\": \"2026-12-01T00:00:00Z\"", "\"end\": \"1 December\""));
    assert!(err.starts_with("error: usage.json: period.end: "), "{err}");
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = rate_err(&dir.path().join("nope.toml"), &usage(&dir, USAGE));
    assert!(err.contains("nope.toml: cannot read the catalog"), "{err}");
    let err = rate_err(&catalog(&dir, CATALOG), &dir.path().join("nope.json"));
    assert!(err.contains("nope.json: cannot read the usage file"), "{err}");
}
