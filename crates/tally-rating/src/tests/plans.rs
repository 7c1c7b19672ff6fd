//! Whole plans through `rate`: filters, groups, unrated rows, fees, the minimum commitment.

use chrono::{DateTime, Utc};
use tally_domain::{Catalog, Period, PlanKey, RateRequest, UsageRow};

use super::*;
use crate::{rate, LineKind, RatingError};

fn catalog() -> Catalog {
    Catalog::from_toml_str(include_str!("../../../../config/catalog.toml"), "catalog.toml").unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn november() -> Period {
    Period::new(t("2026-11-01T00:00:00Z"), t("2026-12-01T00:00:00Z")).unwrap()
}

fn row(meter: &str, dims: &[(&str, &str)], q: &str) -> UsageRow {
    UsageRow {
        meter: MeterKey::new(meter),
        dimensions: dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        quantity: d(q),
    }
}

fn request(plan: &str, usage: Vec<UsageRow>) -> RateRequest {
    RateRequest { plan: PlanKey::new(plan), period: november(), active: None, usage }
}

fn line<'a>(rated: &'a crate::RatedPeriod, key: &str) -> &'a crate::Line {
    rated.lines.iter().find(|l| &*l.key == key).unwrap_or_else(|| panic!("no line {key}"))
}

#[test]
fn the_spec_example_prices_as_published() {
    let rated = rate(
        &catalog(),
        &request("pro", vec![row("llm_tokens", &[("model", "gpt-4o"), ("direction", "input")], "1500000")]),
    )
    .unwrap();
    assert_eq!(line(&rated, "platform").amount, d("49.00"));
    let input = line(&rated, "gpt4o_input");
    assert_eq!(input.amount.to_string(), "1.25");
    assert_eq!(input.usage.as_ref().unwrap().billable_quantity, d("0.5"));
    assert_eq!(rated.subtotal.to_string(), "50.25");
    assert_eq!(rated.total.to_string(), "50.25");
    assert!(rated.unrated.is_empty());
}

#[test]
fn charges_without_usage_show_zero_lines_and_unmatched_usage_is_unrated() {
    let rated = rate(
        &catalog(),
        &request(
            "pro",
            vec![
                row("llm_tokens", &[("model", "mistral-large"), ("direction", "input")], "5000"),
                row("gpu_seconds", &[("gpu_type", "l4"), ("region", "eu-1")], "3600"),
            ],
        ),
    )
    .unwrap();
    assert_eq!(rated.lines.len(), 1 + 7);
    assert!(rated.lines.iter().skip(1).all(|l| l.amount.is_zero() && l.kind == LineKind::Usage));
    assert_eq!(rated.unrated.len(), 2);
    assert_eq!(rated.unrated[0].meter.as_str(), "gpu_seconds");
    assert_eq!(rated.total.to_string(), "49.00");
}

#[test]
fn rows_with_the_same_meter_and_dimensions_add_up_and_filters_pick_their_rows() {
    let input = [("model", "gpt-4o"), ("direction", "input")];
    let rated = rate(
        &catalog(),
        &request(
            "starter",
            vec![
                row("llm_tokens", &input, "1000000"),
                row("llm_tokens", &input, "1000000"),
                row("llm_tokens", &[("model", "llama-3.1-70b"), ("direction", "input")], "1000000"),
                row("llm_tokens", &[("model", "llama-3.1-70b"), ("direction", "output")], "2000000"),
            ],
        ),
    )
    .unwrap();
    assert_eq!(line(&rated, "gpt4o_input").amount.to_string(), "5.00");
    let llama = line(&rated, "llama_tokens");
    assert_eq!(llama.usage.as_ref().unwrap().quantity, d("3000000"));
    assert_eq!(llama.amount.to_string(), "2.70");
}

#[test]
fn group_by_prices_each_group_on_its_own() {
    let rated = rate(
        &catalog(),
        &request(
            "starter",
            vec![
                row("gpu_seconds", &[("gpu_type", "h100"), ("region", "eu-1")], "7200"),
                row("gpu_seconds", &[("gpu_type", "h100"), ("region", "us-1")], "1800"),
                row("gpu_seconds", &[("gpu_type", "a100"), ("region", "us-1")], "900"),
            ],
        ),
    )
    .unwrap();
    let gpu: Vec<_> = rated.lines.iter().filter(|l| &*l.key == "gpu_hours").collect();
    assert_eq!(gpu.len(), 2);
    let a100 = gpu[0].usage.as_ref().unwrap();
    assert_eq!(a100.dimensions.get("gpu_type").map(String::as_str), Some("a100"));
    assert_eq!(a100.billable_quantity, d("0.25"));
    assert_eq!(gpu[0].amount.to_string(), "0.62"); // 0.6225
    assert_eq!(gpu[1].usage.as_ref().unwrap().billable_quantity, d("2.5"));
    assert_eq!(gpu[1].amount.to_string(), "6.23"); // 6.225 half away from zero
    assert_eq!(rated.subtotal.to_string(), "6.85");
}

#[test]
fn fees_prorate_over_the_active_part_of_the_period() {
    let mut req = request("pro", vec![]);
    req.active = Some(Period::new(t("2026-11-16T00:00:00Z"), t("2026-12-01T00:00:00Z")).unwrap());
    assert_eq!(line(&rate(&catalog(), &req).unwrap(), "platform").amount.to_string(), "24.50");
    req.active = Some(Period::new(t("2026-11-21T00:00:00Z"), t("2027-03-01T00:00:00Z")).unwrap());
    assert_eq!(line(&rate(&catalog(), &req).unwrap(), "platform").amount.to_string(), "16.33"); // 49 * 10/30
    req.active = Some(Period::new(t("2026-12-01T00:00:00Z"), t("2027-01-01T00:00:00Z")).unwrap());
    assert_eq!(line(&rate(&catalog(), &req).unwrap(), "platform").amount.to_string(), "0.00");
    // A fee with prorate = false bills in full for a partial period.
    let mut req = request("enterprise", vec![]);
    req.active = Some(Period::new(t("2026-11-16T00:00:00Z"), t("2026-12-01T00:00:00Z")).unwrap());
    assert_eq!(line(&rate(&catalog(), &req).unwrap(), "support").amount.to_string(), "500.00");
}

#[test]
fn a_subtotal_below_the_minimum_commitment_gets_a_true_up_line() {
    let rated =
        rate(&catalog(), &request("enterprise", vec![row("training_gpu_hours", &[("gpu_type", "h100")], "100")]))
            .unwrap();
    assert_eq!(rated.subtotal.to_string(), "720.00"); // 500 + 100 * 2.20
    let true_up = rated.lines.last().unwrap();
    assert_eq!((true_up.kind, &*true_up.key), (LineKind::MinimumCommitment, "minimum_commitment"));
    assert_eq!(true_up.amount.to_string(), "4280.00");
    assert_eq!(rated.total.to_string(), "5000.00");
    // Above the commitment: no true-up.
    let rated =
        rate(&catalog(), &request("enterprise", vec![row("training_gpu_hours", &[("gpu_type", "h100")], "3000")]))
            .unwrap();
    assert_eq!(rated.total.to_string(), "7100.00");
    assert!(rated.lines.iter().all(|l| l.kind != LineKind::MinimumCommitment));
}

#[test]
fn a_partial_period_commits_to_its_share_of_the_minimum() {
    // 15 of November's 30 days: half of 5,000 (the support fee does not prorate: 500).
    let mut req = request("enterprise", vec![row("training_gpu_hours", &[("gpu_type", "h100")], "100")]);
    req.active = Some(Period::new(t("2026-11-16T00:00:00Z"), t("2026-12-01T00:00:00Z")).unwrap());
    let rated = rate(&catalog(), &req).unwrap();
    assert_eq!(rated.subtotal.to_string(), "720.00");
    assert_eq!(line(&rated, "minimum_commitment").amount.to_string(), "1780.00");
    assert_eq!(rated.total.to_string(), "2500.00");
    // 10 of 30 days: 1,666.666... rounds to 1,666.67 before the shortfall is taken.
    req.active = Some(Period::new(t("2026-11-21T00:00:00Z"), t("2026-12-01T00:00:00Z")).unwrap());
    let rated = rate(&catalog(), &req).unwrap();
    assert_eq!(rated.total.to_string(), "1666.67");
    // Not active at all: no commitment.
    req.active = Some(Period::new(t("2026-12-01T00:00:00Z"), t("2027-01-01T00:00:00Z")).unwrap());
    let rated = rate(&catalog(), &req).unwrap();
    assert!(rated.lines.iter().all(|l| l.kind != LineKind::MinimumCommitment), "{rated:?}");
    // A plan that opts out keeps the whole minimum for any active part.
    let text = include_str!("../../../../config/catalog.toml").replace(
        "minimum_commitment = \"5000.00\"",
        "minimum_commitment = \"5000.00\"\nprorate_minimum_commitment = false",
    );
    let opted_out = Catalog::from_toml_str(&text, "catalog.toml").unwrap();
    req.active = Some(Period::new(t("2026-11-16T00:00:00Z"), t("2026-12-01T00:00:00Z")).unwrap());
    assert_eq!(rate(&opted_out, &req).unwrap().total.to_string(), "5000.00");
}

#[test]
fn bad_requests_are_refused_naming_the_field() {
    let err = rate(&catalog(), &request("gold", vec![])).unwrap_err();
    assert_eq!(err.to_string(), "plan: unknown plan \"gold\" (the catalog has: starter, pro, enterprise, pro_eu)");
    let err =
        rate(&catalog(), &request("pro", vec![row("llm_tokens", &[], "1"), row("tokens", &[], "1")])).unwrap_err();
    assert_eq!(err, RatingError::UnknownMeter { index: 1, meter: "tokens".into() });
    assert_eq!(err.to_string(), "usage[1].meter: unknown meter \"tokens\"");
    let err = rate(&catalog(), &request("pro", vec![row("llm_tokens", &[], "-1")])).unwrap_err();
    assert_eq!(err.to_string(), "usage[0].quantity: -1 is negative; quantities must be zero or more");
    let huge = "70000000000000000000000000000";
    let err = rate(&catalog(), &request("pro", vec![row("llm_tokens", &[], huge), row("llm_tokens", &[], huge)]))
        .unwrap_err();
    assert_eq!(err, RatingError::Overflow { line: "usage".into() });
}

#[test]
fn euro_plan_applies_line_minimums_per_group() {
    let rated = rate(
        &catalog(),
        &request(
            "pro_eu",
            vec![
                row("llm_tokens", &[("model", "gpt-4o"), ("direction", "input")], "10"),
                row("llm_tokens", &[("model", "gpt-4o"), ("direction", "output")], "2000000"),
            ],
        ),
    )
    .unwrap();
    assert_eq!(rated.currency.code(), "EUR");
    let tokens: Vec<_> = rated.lines.iter().filter(|l| &*l.key == "tokens").map(|l| l.amount.to_string()).collect();
    assert_eq!(tokens, vec!["1.00", "4.60"]);
    assert_eq!(rated.total.to_string(), "50.60");
}

#[test]
fn pre_aggregated_charges_price_like_the_rows_they_came_from() {
    use crate::{rate_charges, ChargeUsage};
    let rows = vec![
        row("llm_tokens", &[("model", "gpt-4o"), ("direction", "input")], "3500000"),
        row("llm_tokens", &[("model", "gpt-4o"), ("direction", "output")], "1200000"),
        row("gpu_seconds", &[("gpu_type", "h100"), ("region", "eu")], "720000"),
        row("training_sessions", &[("status", "completed")], "23"),
    ];
    let by_rows = rate(&catalog(), &request("pro", rows)).unwrap();
    let usage: ChargeUsage = [
        ("gpt4o_input", "3500000"),
        ("gpt4o_output", "1200000"),
        ("h100_hours", "720000"),
        ("training_sessions", "23"),
    ]
    .into_iter()
    .map(|(k, q)| (k.to_owned(), vec![(Default::default(), d(q))]))
    .collect();
    let by_charges = rate_charges(&catalog(), "pro", &november(), None, &usage).unwrap();
    assert_eq!(by_charges.lines, by_rows.lines);
    assert_eq!((by_charges.subtotal, by_charges.total), (by_rows.subtotal, by_rows.total));
    // Half the period active: the fee is prorated, usage is as given.
    let half = Period::new(t("2026-11-16T00:00:00Z"), t("2026-12-01T00:00:00Z")).unwrap();
    let prorated = rate_charges(&catalog(), "pro", &november(), Some(&half), &usage).unwrap();
    assert_eq!(line(&prorated, "platform").amount, d("24.50"));
    assert!(matches!(
        rate_charges(&catalog(), "nope", &november(), None, &usage),
        Err(RatingError::UnknownPlan { .. })
    ));
}
