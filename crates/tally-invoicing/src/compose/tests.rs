use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_domain::{CustomerId, Phase, SubscriptionId};

use super::*;

fn catalog() -> Catalog {
    Catalog::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/catalog.toml"))).unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn customer(zone: &str) -> Customer {
    Customer {
        id: CustomerId::new("acme"),
        name: "Acme".into(),
        currency: "USD".parse().unwrap(),
        timezone: zone.parse().unwrap(),
        billing_details: BTreeMap::new(),
    }
}

fn subscription(phases: &[(&str, &str)], end: Option<&str>) -> Subscription {
    Subscription {
        id: SubscriptionId::new("sub-1"),
        customer: CustomerId::new("acme"),
        start: t(phases[0].1),
        end: end.map(t),
        anchor: "2026-11-01".parse().unwrap(),
        phases: phases.iter().map(|(p, from)| Phase { plan: PlanKey::new(*p), from: t(from) }).collect(),
    }
}

fn tokens(input: &str) -> ChargeUsage {
    ChargeUsage::from([("gpt4o_input".to_owned(), vec![(Default::default(), d(input))])])
}

fn summary(invoice: &Invoice) -> Vec<(String, LineKind, String, String)> {
    invoice
        .lines
        .iter()
        .filter(|l| l.kind != LineKind::Usage || !l.amount.is_zero())
        .map(|l| (l.key.clone(), l.kind, l.service_period.start().to_rfc3339(), l.amount.to_string()))
        .collect()
}

fn line(key: &str, kind: LineKind, start: &str, amount: &str) -> (String, LineKind, String, String) {
    (key.to_owned(), kind, t(start).to_rfc3339(), amount.to_owned())
}

#[test]
fn the_first_period_bills_its_own_fees_usage_in_arrears_and_the_next_fees_in_advance() {
    let s = subscription(&[("pro", "2026-11-01T00:00:00Z")], None);
    let invoice = compose(&catalog(), &customer("UTC"), &s, 0, &[&tokens("3000000")], &[]).unwrap();
    assert_eq!(
        summary(&invoice),
        vec![
            line("platform", LineKind::Fee, "2026-11-01T00:00:00Z", "49.00"),
            line("gpt4o_input", LineKind::Usage, "2026-11-01T00:00:00Z", "5.00"),
            line("platform", LineKind::Fee, "2026-12-01T00:00:00Z", "49.00"),
        ]
    );
    assert_eq!(invoice.total, d("103.00"));
    assert_eq!(invoice.id, format!("sub-1@{}", t("2026-11-01T00:00:00Z").timestamp_millis()));
    assert_eq!(invoice.state, InvoiceState::Draft);
    // The next period: its fee was billed in advance, so only usage and the next fee.
    let billed = [BilledFee { plan: PlanKey::new("pro"), key: "platform".into(), amount: d("49.00") }];
    let december = compose(&catalog(), &customer("UTC"), &s, 1, &[&tokens("1000000")], &billed).unwrap();
    assert_eq!(
        summary(&december),
        vec![line("platform", LineKind::Fee, "2027-01-01T00:00:00Z", "49.00")],
        "1M tokens are included in pro: the usage line is zero"
    );
}

#[test]
fn a_plan_change_mid_period_splits_usage_and_corrects_the_fees() {
    // starter (no fee) until Nov 16, then pro (49.00/month, prorated): 15 of 30 days.
    let s = subscription(&[("starter", "2026-11-01T00:00:00Z"), ("pro", "2026-11-16T00:00:00Z")], None);
    let (a, b) = (tokens("2000000"), tokens("2000000"));
    let usage = [&a, &b];
    let invoice = compose(&catalog(), &customer("UTC"), &s, 0, &usage, &[]).unwrap();
    assert_eq!(
        summary(&invoice),
        vec![
            line("platform", LineKind::Fee, "2026-11-16T00:00:00Z", "24.50"),
            line("gpt4o_input", LineKind::Usage, "2026-11-01T00:00:00Z", "5.00"),
            line("gpt4o_input", LineKind::Usage, "2026-11-16T00:00:00Z", "2.50"),
            line("platform", LineKind::Fee, "2026-12-01T00:00:00Z", "49.00"),
        ],
        "starter prices every token, pro includes 1M"
    );
    // A change entered after November's invoice billed pro's December fee in advance:
    // December turns out pro until Dec 16 then starter: half the fee comes back.
    let s = subscription(&[("pro", "2026-11-01T00:00:00Z"), ("starter", "2026-12-16T00:00:00Z")], None);
    let billed = [BilledFee { plan: PlanKey::new("pro"), key: "platform".into(), amount: d("49.00") }];
    let december =
        compose(&catalog(), &customer("UTC"), &s, 1, &[&ChargeUsage::new(), &ChargeUsage::new()], &billed).unwrap();
    let fees: Vec<_> = summary(&december).into_iter().filter(|l| l.0 == "platform").collect();
    assert_eq!(fees, vec![line("platform", LineKind::FeeAdjustment, "2026-12-01T00:00:00Z", "-25.29")]);
    assert_eq!(december.total, d("-25.29"), "no fee in advance: starter has none");
}

#[test]
fn a_fee_prorated_from_a_late_start_says_the_part_it_bills() {
    // Issue 18: a start on Nov 10 billed 21 of 30 days but said "Nov 1 to Nov 30".
    let s = subscription(&[("pro", "2026-11-10T00:00:00Z")], None);
    let invoice = compose(&catalog(), &customer("UTC"), &s, 0, &[&ChargeUsage::new()], &[]).unwrap();
    let fee = invoice
        .lines
        .iter()
        .find(|l| l.kind == LineKind::Fee && l.service_period.start() < t("2026-12-01T00:00:00Z"))
        .unwrap();
    assert_eq!(
        (fee.service_period.start(), fee.service_period.end()),
        (t("2026-11-10T00:00:00Z"), t("2026-12-01T00:00:00Z"))
    );
    assert_eq!(fee.amount, d("34.30"), "21 of 30 days of 49.00");
}

#[test]
fn an_ended_subscription_is_credited_the_unused_fee_and_billed_nothing_ahead() {
    let s = subscription(&[("pro", "2026-11-01T00:00:00Z")], Some("2026-12-11T00:00:00Z"));
    let billed = [BilledFee { plan: PlanKey::new("pro"), key: "platform".into(), amount: d("49.00") }];
    let december = compose(&catalog(), &customer("UTC"), &s, 1, &[&ChargeUsage::new()], &billed).unwrap();
    assert_eq!(summary(&december), vec![line("platform", LineKind::FeeAdjustment, "2026-12-01T00:00:00Z", "-33.19")]);
}

#[test]
fn a_customer_in_tokyo_is_billed_from_local_midnight() {
    let s = subscription(&[("pro", "2026-10-31T15:00:00Z")], None);
    let invoice = compose(&catalog(), &customer("Asia/Tokyo"), &s, 0, &[&ChargeUsage::new()], &[]).unwrap();
    assert_eq!((invoice.period.start(), invoice.period.end()), (t("2026-10-31T15:00:00Z"), t("2026-11-30T15:00:00Z")));
}

#[test]
fn usage_must_match_the_spans() {
    let s = subscription(&[("starter", "2026-11-01T00:00:00Z"), ("pro", "2026-11-16T00:00:00Z")], None);
    let err = compose(&catalog(), &customer("UTC"), &s, 0, &[&ChargeUsage::new()], &[]).unwrap_err();
    assert_eq!(err.to_string(), "subscription sub-1: usage for 1 spans, the period has 2");
}

#[test]
fn a_dst_change_inside_the_period_prorates_by_real_hours() {
    // Berlin, starter until Mar 16, pro after: March has 743 hours (spring forward on
    // the 29th); pro is active from Mar 16 00:00 CET (Mar 15 23:00Z) for 383 of them.
    let mut s = subscription(&[("starter", "2026-02-28T23:00:00Z"), ("pro", "2026-03-15T23:00:00Z")], None);
    s.anchor = "2026-03-01".parse().unwrap();
    let invoice =
        compose(&catalog(), &customer("Europe/Berlin"), &s, 0, &[&ChargeUsage::new(), &ChargeUsage::new()], &[])
            .unwrap();
    assert_eq!((invoice.period.start(), invoice.period.end()), (t("2026-02-28T23:00:00Z"), t("2026-03-31T22:00:00Z")));
    let fee = invoice
        .lines
        .iter()
        .find(|l| l.kind == LineKind::Fee && l.service_period.start() < invoice.period.end())
        .unwrap();
    assert_eq!(fee.amount, d("25.26"), "49.00 * 383 / 743 = 25.258...");
    assert_eq!(fee.service_period.start(), t("2026-03-15T23:00:00Z"), "pro's part of March");
}

#[test]
fn an_anchor_on_the_31st_bills_february_to_its_last_day() {
    let mut s = subscription(&[("pro", "2026-01-31T00:00:00Z")], None);
    s.anchor = "2026-01-31".parse().unwrap();
    let feb = compose(&catalog(), &customer("UTC"), &s, 1, &[&ChargeUsage::new()], &[]).unwrap();
    assert_eq!((feb.period.start(), feb.period.end()), (t("2026-02-28T00:00:00Z"), t("2026-03-31T00:00:00Z")));
    let jan = compose(&catalog(), &customer("UTC"), &s, 0, &[&ChargeUsage::new()], &[]).unwrap();
    assert_eq!(jan.period.end(), t("2026-02-28T00:00:00Z"), "Jan 31 to Feb 28, then Feb 28 to Mar 31");
}

#[test]
fn lines_carry_the_catalogs_display_fields_and_the_html_shows_them() {
    let s = subscription(&[("pro", "2026-11-01T00:00:00Z")], None);
    let invoice = compose(&catalog(), &customer("UTC"), &s, 0, &[&tokens("3000000")], &[]).unwrap();
    let input = invoice.lines.iter().find(|l| l.key == "gpt4o_input").unwrap();
    assert_eq!(input.label.name.as_deref(), Some("GPT-4o input tokens"));
    assert_eq!(input.label.unit.as_deref(), Some("1M tokens"));
    assert_eq!(input.label.unit_price, Some(d("2.50")));
    let fee = invoice.lines.iter().find(|l| l.key == "platform").unwrap();
    assert_eq!((fee.label.name.as_deref(), fee.label.unit_price), (Some("Pro platform fee"), None));
    // Kept in the invoice's JSON, and an invoice stored before labels existed reads back
    // with none.
    let json = serde_json::to_value(&invoice).unwrap();
    assert_eq!(json["lines"][1]["label"]["name"], "GPT-4o input tokens");
    let mut old = json.clone();
    for line in old["lines"].as_array_mut().unwrap() {
        line.as_object_mut().unwrap().remove("label");
    }
    let read: Invoice = serde_json::from_value(old).unwrap();
    assert!(read.lines.iter().all(|l| l.label.is_empty()));
    let trail = crate::Trail::of(&invoice, &[]);
    let issuer = crate::document::Issuer { name: "Tally".into(), ..Default::default() };
    let sheet = crate::document::sheet(&invoice, &customer("UTC"), &issuer, &trail, None).unwrap();
    let page = crate::render::html(&sheet);
    assert!(page.contains("<td>GPT-4o input tokens<br>"), "{page}");
    assert!(page.contains("<td class=\"n\">2 × 1M tokens</td><td class=\"n\">$2.50 / 1M tokens</td>"), "{page}");
    assert!(page.contains("<small>Prompt tokens beyond the 1M included each month</small>"), "{page}");
    assert!(page.contains("<small>1,000,000 included in the plan</small>"), "{page}");
}
