//! Property tests of the rating arithmetic.

use proptest::prelude::*;
use tally_domain::{Catalog, Period, PlanKey, RateRequest, UsageRow};

use super::*;
use crate::price;
use crate::{rate, LineKind};

/// Non-negative decimals with up to 6 decimals and 12 integer digits.
fn decimal() -> impl Strategy<Value = Decimal> {
    (0i64..1_000_000_000_000_000_000, 0u32..=6).prop_map(|(m, s)| Decimal::new(m, s))
}

fn small_decimal() -> impl Strategy<Value = Decimal> {
    (0i64..100_000_000, 0u32..=6).prop_map(|(m, s)| Decimal::new(m, s))
}

/// Valid tier tables: 1 to 6 tiers, strictly increasing bounds, last unbounded.
fn tier_table() -> impl Strategy<Value = Vec<Tier>> {
    prop::collection::vec((1i64..1_000_000, small_decimal(), small_decimal()), 1..6).prop_map(|steps| {
        let mut bound = Decimal::ZERO;
        let last = steps.len() - 1;
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (step, unit_price, flat_price))| {
                bound += Decimal::new(step, 2);
                Tier { up_to: (i != last).then_some(bound), unit_price, flat_price }
            })
            .collect()
    })
}

fn exact(p: &Price, q: Decimal) -> Decimal {
    let mut tiers = Vec::new();
    price::amount(p, q, Decimal::ONE, q, true, &mut tiers).unwrap()
}

/// Powers of ten as a catalog writes them (`per = "1000000"`), and other divisors.
fn per() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (0u32..=12).prop_map(|k| Decimal::from(10u64.pow(k))),
        (2i64..100_000_000).prop_map(Decimal::from),
        small_decimal().prop_filter("positive", |d| *d > Decimal::ZERO),
    ]
}

proptest! {
    #[test]
    fn moving_the_point_is_the_division(q in decimal(), per in per()) {
        let divided = q.checked_div(per).unwrap();
        match price::shift_by_power_of_ten(q, per) {
            Some(shifted) => {
                prop_assert_eq!(shifted, divided);
                prop_assert_eq!(shifted * per, q, "exact: it multiplies back");
            }
            None => {
                let text = per.normalize().to_string();
                let power_of_ten = text.starts_with('1') && text[1..].chars().all(|c| c == '0');
                prop_assert!(!power_of_ten || per.scale() != 0, "{} is a power of ten written without decimals", per);
            }
        }
    }

    #[test]
    fn a_price_per_power_of_ten_is_the_price_multiplied_first_and_divided_last(
        q in decimal(), included in small_decimal(), unit_price in small_decimal(), k in 0u32..=9,
    ) {
        let per = Decimal::from(10u64.pow(k));
        let c = Charge { included, per, ..charge(Price::PerUnit { unit_price }) };
        let mut tiers = Vec::new();
        let priced = price_usage(&c, usd(), q, &mut tiers).unwrap();
        let after = (q - included).max(Decimal::ZERO);
        prop_assert_eq!(priced.billable_quantity, after.checked_div(per).unwrap());
        prop_assert_eq!(priced.amount, usd().round(after * unit_price / per).unwrap());
    }

    #[test]
    fn graduated_never_decreases_as_quantity_grows(tiers in tier_table(), a in decimal(), b in decimal()) {
        let p = Price::Graduated { tiers };
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(exact(&p, lo) <= exact(&p, hi));
    }

    #[test]
    fn package_never_decreases_as_quantity_grows(size in small_decimal(), price in small_decimal(), a in decimal(), b in decimal()) {
        prop_assume!(size > Decimal::ZERO);
        let p = Price::Package { size, package_price: price };
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(exact(&p, lo) <= exact(&p, hi));
    }

    #[test]
    fn graduated_equals_the_sum_of_its_tier_breakdown(tiers in tier_table(), q in decimal()) {
        let c = charge(Price::Graduated { tiers });
        let mut breakdown = Vec::new();
        let priced = price_usage(&c, usd(), q, &mut breakdown).unwrap();
        let sum: Decimal = breakdown.iter().map(|t| t.amount).sum();
        prop_assert_eq!(sum, exact(&c.price, q));
        prop_assert_eq!(priced.amount, usd().round(sum).unwrap());
        let units: Decimal = breakdown.iter().map(|t| t.quantity).sum();
        prop_assert_eq!(units, q);
    }

    #[test]
    fn volume_is_one_tiers_price_times_quantity_plus_its_flat_price(tiers in tier_table(), q in decimal()) {
        prop_assume!(q > Decimal::ZERO);
        let c = charge(Price::Volume { tiers: tiers.clone() });
        let mut breakdown = Vec::new();
        price_usage(&c, usd(), q, &mut breakdown).unwrap();
        prop_assert_eq!(breakdown.len(), 1);
        let used = &tiers[breakdown[0].tier - 1];
        prop_assert_eq!(exact(&c.price, q), q * used.unit_price + used.flat_price);
        // The tier used is the first whose bound holds q.
        let lower = if breakdown[0].tier == 1 { Decimal::ZERO } else { tiers[breakdown[0].tier - 2].up_to.unwrap() };
        prop_assert!(q > lower && used.up_to.is_none_or(|b| q <= b));
    }

    #[test]
    fn subtotal_is_the_sum_of_rounded_lines_and_order_does_not_matter(
        rows in prop::collection::vec((0usize..6, 0usize..3, decimal()), 0..40),
        plan in prop::sample::select(vec!["starter", "pro", "enterprise", "pro_eu"]),
        seed in any::<u64>(),
    ) {
        let catalog = Catalog::from_toml_str(include_str!("../../../../config/catalog.toml"), "catalog.toml").unwrap();
        let models = ["gpt-4o", "llama-3.1-70b", "mistral-large", "claude", "h100", "a100"];
        let directions = ["input", "output", "cached"];
        let usage: Vec<UsageRow> = rows
            .iter()
            .map(|(m, dir, q)| UsageRow {
                meter: MeterKey::new("llm_tokens"),
                dimensions: [("model", models[*m]), ("direction", directions[*dir])].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                quantity: *q,
            })
            .collect();
        let period = Period::new("2026-11-01T00:00:00Z".parse().unwrap(), "2026-12-01T00:00:00Z".parse().unwrap()).unwrap();
        let req = RateRequest { plan: PlanKey::new(plan), period, active: None, usage: usage.clone() };
        let rated = rate(&catalog, &req).unwrap();
        let lines: Decimal = rated.lines.iter().filter(|l| l.kind != LineKind::MinimumCommitment).map(|l| l.amount).sum();
        prop_assert_eq!(rated.subtotal, lines);
        let all: Decimal = rated.lines.iter().map(|l| l.amount).sum();
        prop_assert_eq!(rated.total, all);
        prop_assert!(rated.lines.iter().all(|l| l.amount.scale() == rated.currency.minor_units()));

        // Shuffle deterministically and rate again: identical result.
        let mut shuffled = usage;
        let mut state = seed;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (state >> 33) as usize % (i + 1));
        }
        let again = rate(&catalog, &RateRequest { usage: shuffled, ..req }).unwrap();
        prop_assert_eq!(again, rated);
    }
}
