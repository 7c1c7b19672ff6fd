//! Catalog loading: the sample catalog loads, and every refusal of the pricing
//! contract is reported with its path, all problems at once.

use rust_decimal::Decimal;
use std::str::FromStr;

use super::*;

const METER: &str = r#"
[[meters]]
key = "llm_tokens"
event_type = "llm.tokens"
aggregation = "sum"
value = "tokens"
dimensions = ["model", "direction"]
"#;

fn plan_with(charge: &str) -> String {
    format!(
        "{METER}\n[[plans]]\nkey = \"pro\"\ncurrency = \"USD\"\ninterval = \"month\"\n\n[[plans.charges]]\n{charge}\n"
    )
}

fn problems(text: &str) -> Vec<String> {
    match Catalog::from_toml_str(text, "c.toml") {
        Ok(_) => panic!("catalog should have been refused:\n{text}"),
        Err(err) => err.lines(),
    }
}

fn assert_problem(text: &str, expected: &str) {
    let found = problems(text);
    assert!(found.iter().any(|l| l == expected), "expected {expected:?} among {found:#?}");
}

#[test]
fn the_sample_catalog_loads() {
    let text = include_str!("../../../../config/catalog.toml");
    let catalog = Catalog::from_toml_str(text, "config/catalog.toml").unwrap();
    assert_eq!(catalog.meters().len(), 5);
    let pro = catalog.plan("pro").unwrap();
    assert_eq!(pro.currency.code(), "USD");
    assert_eq!(pro.fees[0].amount, Decimal::from_str("49.00").unwrap());
    assert!(pro.fees[0].prorate);
    let h100 = pro.charges.iter().find(|c| c.key.as_str() == "h100_hours").unwrap();
    assert_eq!(h100.per, Decimal::from(3600));
    let Price::Graduated { tiers } = &h100.price else { panic!("graduated") };
    assert_eq!(tiers.len(), 3);
    assert_eq!(tiers[2].up_to, None);
    assert_eq!(catalog.plan("enterprise").unwrap().minimum_commitment, Some(Decimal::from(5000)));
    assert!(!catalog.plan("enterprise").unwrap().fees[0].prorate);
    assert_eq!(catalog.meter("training_sessions").unwrap().aggregation, Aggregation::UniqueCount);
}

#[test]
fn defaults_apply_when_optional_fields_are_left_out() {
    let text = plan_with("key = \"c\"\nmeter = \"llm_tokens\"\nprice = { model = \"per_unit\", unit_price = 2 }");
    let catalog = Catalog::from_toml_str(&text, "c.toml").unwrap();
    let charge = &catalog.plan("pro").unwrap().charges[0];
    assert_eq!((charge.included, charge.per), (Decimal::ZERO, Decimal::ONE));
    assert_eq!(charge.price, Price::PerUnit { unit_price: Decimal::from(2) });
}

#[test]
fn a_toml_float_is_refused_with_advice_to_quote_it() {
    let text = plan_with("key = \"c\"\nmeter = \"llm_tokens\"\nprice = { model = \"per_unit\", unit_price = 2.5 }");
    assert_problem(
        &text,
        "c.toml: plans[pro].charges[c].price.unit_price: is a TOML float (2.5); write decimals as strings, \
         e.g. unit_price = \"2.5\" (binary floats cannot hold most prices exactly)",
    );
}

#[test]
fn unknown_keys_are_refused_at_every_level() {
    assert_problem(
        &format!("foo = 1\n{METER}\n[[plans]]\nkey=\"p\"\ncurrency=\"USD\"\ninterval=\"month\""),
        "c.toml: foo: unknown field; expected one of: accounting, meters, plans, tax",
    );
    let text = plan_with("key = \"c\"\nmeter = \"llm_tokens\"\nincluded_units = \"5\"\nprice = { model = \"per_unit\", unit_price = \"1\" }");
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|l| l.starts_with("c.toml: plans[pro].charges[c].included_units: unknown field; expected one of:")),
        "{found:#?}"
    );
    let text = plan_with(
        "key = \"c\"\nmeter = \"llm_tokens\"\nprice = { model = \"per_unit\", unit_price = \"1\", tiers = [] }",
    );
    assert_problem(
        &text,
        "c.toml: plans[pro].charges[c].price.tiers: unknown field; expected one of: model, unit_price",
    );
}

#[test]
fn missing_and_mistyped_fields_are_named() {
    assert_problem(
        &plan_with("key = \"c\"\nprice = { model = \"per_unit\", unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].meter: missing required field",
    );
    assert_problem(
        &plan_with("key = \"c\"\nmeter = \"llm_tokens\""),
        "c.toml: plans[pro].charges[c].price: missing required field",
    );
    assert_problem(
        &plan_with("key = \"c\"\nmeter = 7\nprice = { model = \"per_unit\", unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].meter: expected a string, found an integer",
    );
    assert_problem(
        &plan_with("meter = \"llm_tokens\"\nprice = { model = \"per_unit\", unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[0].key: missing required field",
    );
    assert_problem(
        &plan_with("key = \"c\"\nmeter = \"llm_tokens\"\nprice = { model = \"per_unit\", unit_price = \"two\" }"),
        "c.toml: plans[pro].charges[c].price.unit_price: \"two\" is not a decimal number",
    );
}

#[test]
fn charge_rules_are_checked_against_the_meter() {
    assert_problem(
        &plan_with("key = \"c\"\nmeter = \"tokens\"\nprice = { model = \"per_unit\", unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].meter: unknown meter \"tokens\"; define it in a [[meters]] table",
    );
    assert_problem(
        &plan_with("key = \"c\"\nmeter = \"llm_tokens\"\nfilter = { region = \"eu\" }\nprice = { model = \"per_unit\", unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].filter.region: \"region\" is not a dimension of meter \"llm_tokens\" (its dimensions: model, direction)",
    );
    assert_problem(
        &plan_with("key = \"c\"\nmeter = \"llm_tokens\"\ngroup_by = [\"gpu\"]\nprice = { model = \"per_unit\", unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].group_by: \"gpu\" is not a dimension of meter \"llm_tokens\" (its dimensions: model, direction)",
    );
    assert_problem(
        &plan_with(
            "key = \"c\"\nmeter = \"llm_tokens\"\nper = \"0\"\nprice = { model = \"per_unit\", unit_price = \"1\" }",
        ),
        "c.toml: plans[pro].charges[c].per: must be greater than zero",
    );
    assert_problem(&plan_with("key = \"c\"\nmeter = \"llm_tokens\"\nincluded = \"-1\"\nprice = { model = \"per_unit\", unit_price = \"1\" }"), "c.toml: plans[pro].charges[c].included: -1 is negative; must be zero or more");
    assert_problem(
        &plan_with("key = \"c\"\nmeter = \"llm_tokens\"\nminimum = \"10\"\nmaximum = \"5\"\nprice = { model = \"per_unit\", unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].maximum: 5 is below minimum 10",
    );
    assert_problem(
        &plan_with("key = \"c\"\nmeter = \"llm_tokens\"\nper = \"10\"\nprice = { model = \"dynamic\", multiplier = \"1\" }"),
        "c.toml: plans[pro].charges[c].per: does not apply to a dynamic price (it multiplies the carried cost); remove it",
    );
}

#[test]
fn tiers_must_increase_and_carry_a_price() {
    let tiers = |t: &str| {
        plan_with(&format!("key = \"c\"\nmeter = \"llm_tokens\"\nprice = {{ model = \"graduated\", tiers = [{t}] }}"))
    };
    assert_problem(
        &tiers("{ up_to = \"100\", unit_price = \"1\" }, { up_to = \"100\", unit_price = \"1\" }, { unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].price.tiers[1].up_to: 100 is not above the previous tier's up_to 100; bounds must strictly increase",
    );
    assert_problem(
        &tiers("{ up_to = \"100\" }, { unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].price.tiers[0]: a tier needs a unit_price, a flat_price or both",
    );
    assert_problem(
        &tiers("{ up_to = \"100\", unit_price = \"1\" }, { up_to = \"200\", unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].price.tiers[1].up_to: the last tier must have no up_to: it prices every unit above the tier before it",
    );
    assert_problem(
        &tiers("{ unit_price = \"1\" }, { unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].price.tiers[0].up_to: missing: only the last tier may leave up_to out",
    );
    assert_problem(&tiers(""), "c.toml: plans[pro].charges[c].price.tiers: needs at least one tier");
    assert_problem(
        &tiers("{ up_to = \"0\", unit_price = \"1\" }, { unit_price = \"1\" }"),
        "c.toml: plans[pro].charges[c].price.tiers[0].up_to: must be greater than zero",
    );
    assert_problem(
        &plan_with("key = \"c\"\nmeter = \"llm_tokens\"\nprice = { model = \"volume\" }"),
        "c.toml: plans[pro].charges[c].price.tiers: missing required field",
    );
    assert_problem(
        &plan_with(
            "key = \"c\"\nmeter = \"llm_tokens\"\nprice = { model = \"package\", size = \"0\", package_price = \"1\" }",
        ),
        "c.toml: plans[pro].charges[c].price.size: must be greater than zero",
    );
    assert_problem(
        &plan_with("key = \"c\"\nmeter = \"llm_tokens\"\nprice = { model = \"stairstep\" }"),
        "c.toml: plans[pro].charges[c].price.model: unknown price model \"stairstep\"; expected one of: per_unit, package, graduated, volume, dynamic",
    );
}

#[test]
fn duplicate_keys_and_unknown_currency_are_refused() {
    let text = format!(
        "{METER}{METER}\n[[plans]]\nkey = \"p\"\ncurrency = \"XYZ\"\ninterval = \"fortnight\"\n\
         [[plans.fees]]\nkey = \"base\"\namount = \"1\"\n[[plans.fees]]\nkey = \"base\"\namount = \"2\"\n\
         [[plans]]\nkey = \"p\"\ncurrency = \"USD\"\ninterval = \"month\"\n"
    );
    let found = problems(&text);
    for expected in [
        "c.toml: meters[llm_tokens].key: duplicate meter key \"llm_tokens\"",
        "c.toml: plans[p].currency: unknown currency \"XYZ\" (expected an ISO 4217 code such as USD, EUR, JPY)",
        "c.toml: plans[p].interval: unknown interval \"fortnight\"; expected one of: day, week, month, quarter, year",
        "c.toml: plans[p].fees[base].key: duplicate line key \"base\": fee and charge keys must be unique within a plan",
        "c.toml: plans[p].key: duplicate plan key \"p\"",
    ] {
        assert!(found.iter().any(|l| l == expected), "expected {expected:?} among {found:#?}");
    }
}

#[test]
fn a_meter_value_is_required_unless_said_otherwise() {
    let text = |extra: &str| {
        format!("[[meters]]\nkey = \"m\"\nevent_type = \"x\"\naggregation = \"sum\"\nvalue = \"n\"\n{extra}\n[[plans]]\nkey = \"p\"\ncurrency = \"USD\"\ninterval = \"month\"\n")
    };
    let catalog = Catalog::from_toml_str(&text(""), "c.toml").unwrap();
    assert!(catalog.meter("m").unwrap().value_required);
    let catalog = Catalog::from_toml_str(&text("required = false"), "c.toml").unwrap();
    assert!(!catalog.meter("m").unwrap().value_required);
}

#[test]
fn meter_rules_are_checked() {
    let meter =
        |body: &str| format!("[[meters]]\n{body}\n[[plans]]\nkey = \"p\"\ncurrency = \"USD\"\ninterval = \"month\"\n");
    assert_problem(
        &meter("key = \"LLM\"\nevent_type = \"x\"\naggregation = \"count\""),
        "c.toml: meters[0].key: \"LLM\" is not a valid key: use [a-z0-9_]+",
    );
    assert_problem(&meter("key = \"m\"\nevent_type = \"x\"\naggregation = \"avg\""), "c.toml: meters[m].aggregation: unknown aggregation \"avg\"; expected one of: sum, count, max, min, unique_count, latest");
    assert_problem(
        &meter("key = \"m\"\nevent_type = \"x\"\naggregation = \"sum\""),
        "c.toml: meters[m].value: missing required field (the sum aggregation reads a value)",
    );
    assert_problem(
        &meter("key = \"m\"\nevent_type = \"x\"\naggregation = \"count\"\nvalue = \"n\""),
        "c.toml: meters[m].value: a count meter reads no value; remove the field",
    );
    assert_problem(
        &meter("key = \"m\"\naggregation = \"count\""),
        "c.toml: meters[m].event_type: missing required field",
    );
    assert_problem(
        &meter("key = \"m\"\nevent_type = \"x\"\naggregation = \"count\"\nrequired = false"),
        "c.toml: meters[m].required: only a meter that reads a value can make it optional; remove the field",
    );
    assert_problem(
        &meter("key = \"m\"\nevent_type = \"x\"\naggregation = \"sum\"\nvalue = \"n\"\nrequired = \"no\""),
        "c.toml: meters[m].required: expected true or false, found a string",
    );
    assert_problem(&meter("key = \"m\"\nevent_type = \"x\"\naggregation = \"max\"\nvalue = \"a..b\""), "c.toml: meters[m].value: \"a..b\" is not a dotted path into the event's data, e.g. \"tokens\" or \"usage.tokens\"");
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let text = format!(
        "{METER}\n[[plans]]\nkey = \"p\"\ncurrency = \"usd\"\ninterval = \"month\"\nminimum_commitment = 10.5\n\
         [[plans.charges]]\nkey = \"a\"\nmeter = \"nope\"\nprice = {{ model = \"per_unit\", unit_price = \"-1\" }}\n\
         [[plans.charges]]\nkey = \"b\"\nmeter = \"llm_tokens\"\nprice = {{ model = \"graduated\", tiers = [{{ up_to = \"5\" }}] }}\n"
    );
    let found = problems(&text);
    assert_eq!(found.len(), 6, "{found:#?}");
}

#[test]
fn syntax_errors_name_the_file_and_line() {
    let err = Catalog::from_toml_str("[[meters]\nkey = ", "bad.toml").unwrap_err();
    let line = err.to_string();
    assert!(line.starts_with("bad.toml: not valid TOML: "), "{line}");
    assert!(line.contains("line 1"), "{line}");
    assert!(!line.contains('\n'));
}

#[test]
fn a_catalog_without_plans_is_refused() {
    assert_problem(METER, "c.toml: plans: the catalog defines no plans; add at least one [[plans]] table");
}

#[test]
fn display_fields_are_read_checked_and_left_out_of_the_price_fingerprint() {
    let base = "key = \"in\"\nmeter = \"llm_tokens\"\nper = \"1000000\"\nprice = { model = \"per_unit\", unit_price = \"2.50\" }";
    let labelled = format!(
        "{base}\nname = \"GPT-4o input tokens\"\ndescription = \"Prompt tokens sent to GPT-4o\"\nunit = \"1M tokens\""
    );
    let fee = "\n[[plans.fees]]\nkey = \"platform\"\namount = \"49.00\"\nname = \"Platform fee\"\n";
    let with = Catalog::from_toml_str(&format!("{}{fee}", plan_with(&labelled)), "c.toml").unwrap();
    let without = Catalog::from_toml_str(&plan_with(base), "c.toml").unwrap();
    let plan = with.plan("pro").unwrap();
    let display = &plan.charges[0].display;
    assert_eq!(display.name.as_deref(), Some("GPT-4o input tokens"));
    assert_eq!(display.description.as_deref(), Some("Prompt tokens sent to GPT-4o"));
    assert_eq!(display.unit.as_deref(), Some("1M tokens"));
    assert_eq!(plan.fees[0].display.name.as_deref(), Some("Platform fee"));
    assert_eq!(without.plan("pro").unwrap().charges[0].display, Display::default());
    // Labels are not prices: the fingerprint of the same charge is the same without them
    // (the fee is a price, so compare the charge-only plans), and a price changes it.
    let relabelled = Catalog::from_toml_str(&plan_with(&labelled.replace("GPT-4o input", "Input")), "c.toml").unwrap();
    let labelled_only = Catalog::from_toml_str(&plan_with(&labelled), "c.toml").unwrap();
    assert_eq!(labelled_only.plan("pro").unwrap().prices, without.plan("pro").unwrap().prices);
    assert_eq!(relabelled.plan("pro").unwrap().prices, without.plan("pro").unwrap().prices);
    let repriced = Catalog::from_toml_str(&plan_with(&base.replace("2.50", "2.40")), "c.toml").unwrap();
    assert_ne!(repriced.plan("pro").unwrap().prices, without.plan("pro").unwrap().prices);
    // Printed on documents: one line of text, not empty, not a novel.
    for (field, value, reason) in [
        ("name", "\"  \"", "is empty; leave it out or give text"),
        ("unit", "\"1M\\ntokens\"", "holds a control character (a line break, a tab, an escape); use one line of text"),
        ("description", &format!("\"{}\"", "x".repeat(201)), "is longer than 200 characters"),
    ] {
        let text = plan_with(&format!("{base}\n{field} = {value}"));
        assert_problem(&text, &format!("c.toml: plans[pro].charges[in].{field}: {reason}"));
    }
    assert_problem(
        &plan_with(&format!("{base}\nname = 7")),
        "c.toml: plans[pro].charges[in].name: expected a string, found an integer",
    );
}

#[test]
fn accounting_names_fall_back_from_the_line_to_the_plan_to_the_catalog_and_price_nothing() {
    let base = format!(
        "accounting = {{ income_account = \"4000\", tax_code = \"TAX\" }}\n{}",
        plan_with("key = \"tokens\"\nmeter = \"llm_tokens\"\nprice = { model = \"per_unit\", unit_price = \"0.002\" }\naccounting = { item = \"LLM tokens\" }")
    );
    let with_plan =
        base.replace("interval = \"month\"\n", "interval = \"month\"\naccounting = { income_account = \"4100\" }\n");
    let catalog = Catalog::from_toml_str(&with_plan, "c.toml").unwrap();
    let a = catalog.accounting("pro", "tokens");
    assert_eq!(a.income_account.as_deref(), Some("4100"), "the plan's over the catalog's");
    assert_eq!(a.item.as_deref(), Some("LLM tokens"), "the charge's own");
    assert_eq!(a.tax_code.as_deref(), Some("TAX"), "the catalog's");
    assert_eq!(catalog.accounting("gone", "x").income_account.as_deref(), Some("4000"));
    let without = Catalog::from_toml_str(&base, "c.toml").unwrap();
    assert_eq!(catalog.plan("pro").unwrap().prices, without.plan("pro").unwrap().prices, "accounting prices nothing");
    assert_problem(
        &base.replace("item = \"LLM tokens\"", "item = \"\""),
        "c.toml: plans[pro].charges[tokens].accounting.item: \"\": give a name of 1 to 100 characters on one line",
    );
    assert_problem(
        &base.replace("tax_code = \"TAX\"", "tax_kode = \"TAX\""),
        "c.toml: accounting.tax_kode: unknown field; expected one of: income_account, item, tax_code",
    );
}

#[test]
fn each_charge_is_resolved_to_its_meter_and_numbered_filter_slots() {
    let text = format!(
        r#"{METER}
[[meters]]
key = "gpu_seconds"
event_type = "gpu.usage"
aggregation = "sum"
value = "seconds"
dimensions = ["gpu"]

[[plans]]
key = "pro"
currency = "USD"
interval = "month"
[[plans.charges]]
key = "h100"
meter = "gpu_seconds"
filter = {{ gpu = "h100" }}
price = {{ model = "per_unit", unit_price = "1" }}
[[plans.charges]]
key = "gpt_in"
meter = "llm_tokens"
filter = {{ model = "gpt", direction = "input" }}
price = {{ model = "per_unit", unit_price = "1" }}
[[plans.charges]]
key = "gpt_out"
meter = "llm_tokens"
filter = {{ model = "gpt", direction = "output" }}
price = {{ model = "per_unit", unit_price = "1" }}
[[plans.charges]]
key = "tokens"
meter = "llm_tokens"
price = {{ model = "per_unit", unit_price = "1" }}
"#
    );
    let catalog = Catalog::from_toml_str(&text, "c.toml").unwrap();
    let s = catalog.plan("pro").unwrap().selectors();
    // Meters in order of first use by a charge; positions are the catalog's.
    assert_eq!(s.meters.iter().map(|m| m.meter).collect::<Vec<_>>(), [1, 0]);
    assert_eq!(s.meters[0].keys, ["gpu"]);
    assert_eq!(s.meters[1].keys, ["direction", "model"]);
    assert_eq!(s.charges.iter().map(|c| c.meter).collect::<Vec<_>>(), [0, 1, 1, 1]);
    // One value, one number, shared by the charges that ask for it.
    assert_eq!(s.charges[1].filter, [(0, 1), (1, 1)]);
    assert_eq!(s.charges[2].filter, [(0, 2), (1, 1)]);
    assert!(s.charges[3].filter.is_empty());
    assert_eq!(s.meters[1].number(0, "output"), 2);
    assert_eq!(s.meters[1].number(1, "claude"), 0, "a value no filter asks for");
}
