//! `rate`: one subscription, one period, one plan. Adds up the usage rows, prices the
//! fees and every charge of the plan, reports what no charge picked up, and totals.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tally_domain::{Catalog, Charge, Currency, Dimensions, MeterKey, Plan, RateRequest, UsageRow};

use crate::charge::price_usage;
use crate::commitment::true_up;
use crate::error::RatingError;
use crate::fees::fee_amount;
use crate::price::{self, Overflow};
use crate::rated::{Line, LineKind, RatedPeriod, UsageDetail};

/// Key of the minimum-commitment true-up line.
const MINIMUM_COMMITMENT: &str = "minimum_commitment";

/// Usage of one meter: distinct dimension sets with their added-up quantity, and whether
/// some charge picked each up.
struct MeterUsage<'a> {
    rows: Vec<(&'a Dimensions, Decimal, bool)>,
}

/// Prices `request` with the catalog's plan.
///
/// Rows with the same meter and dimensions add up first, so the result does not depend
/// on row order. Charges with no usage give a zero line, except `group_by` charges,
/// which have no group to show.
pub fn rate(catalog: &Catalog, request: &RateRequest) -> Result<RatedPeriod, RatingError> {
    let plan = catalog.plan(request.plan.as_str()).ok_or_else(|| RatingError::UnknownPlan {
        plan: request.plan.to_string(),
        known: catalog.plans().iter().map(|p| p.key.to_string()).collect(),
    })?;
    let mut usage = add_up(catalog, &request.usage)?;
    let currency = plan.currency;
    let mut lines = Vec::with_capacity(plan.fees.len() + plan.charges.len() + 1);

    let active = request.active.unwrap_or(request.period).intersect(&request.period);
    for fee in &plan.fees {
        let amount = fee_amount(fee, currency, &request.period, active.as_ref())
            .map_err(|Overflow| RatingError::Overflow { line: fee.key.to_string() })?;
        lines.push(Line { key: fee.key.to_string(), kind: LineKind::Fee, usage: None, amount });
    }
    for charge in &plan.charges {
        let meter_usage = usage.get_mut(&charge.meter);
        rate_charge(charge, currency, meter_usage, &mut lines)
            .map_err(|Overflow| RatingError::Overflow { line: charge.key.to_string() })?;
    }
    finish(plan, lines, unrated(usage))
}

/// Adds up rows per (meter, dimensions), checking meters and quantities.
fn add_up<'a>(catalog: &Catalog, rows: &'a [UsageRow]) -> Result<BTreeMap<&'a MeterKey, MeterUsage<'a>>, RatingError> {
    let mut sums: BTreeMap<(&MeterKey, &Dimensions), Decimal> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        if catalog.meter(row.meter.as_str()).is_none() {
            return Err(RatingError::UnknownMeter { index, meter: row.meter.to_string() });
        }
        if row.quantity < Decimal::ZERO {
            return Err(RatingError::NegativeQuantity { index, quantity: row.quantity });
        }
        let sum = sums.entry((&row.meter, &row.dimensions)).or_default();
        *sum = price::add(*sum, row.quantity).map_err(|Overflow| RatingError::Overflow { line: "usage".into() })?;
    }
    let mut by_meter: BTreeMap<&MeterKey, MeterUsage<'a>> = BTreeMap::new();
    for ((meter, dimensions), quantity) in sums {
        by_meter.entry(meter).or_insert_with(|| MeterUsage { rows: Vec::new() }).rows.push((dimensions, quantity, false));
    }
    Ok(by_meter)
}

/// Appends the lines of one charge: one per group, or one (possibly zero) without group_by.
fn rate_charge(charge: &Charge, currency: Currency, usage: Option<&mut MeterUsage<'_>>, lines: &mut Vec<Line>) -> Result<(), Overflow> {
    let mut groups: BTreeMap<Dimensions, Decimal> = BTreeMap::new();
    if charge.group_by.is_empty() {
        groups.insert(Dimensions::new(), Decimal::ZERO);
    }
    for (dimensions, quantity, picked) in usage.into_iter().flat_map(|u| u.rows.iter_mut()) {
        if !charge.filter.iter().all(|(k, v)| dimensions.get(k) == Some(v)) {
            continue;
        }
        *picked = true;
        let group: Dimensions =
            charge.group_by.iter().filter_map(|k| dimensions.get(k).map(|v| (k.clone(), v.clone()))).collect();
        let sum = groups.entry(group).or_default();
        *sum = price::add(*sum, *quantity)?;
    }
    let mut tiers = Vec::new();
    for (dimensions, quantity) in groups {
        let priced = price_usage(charge, currency, quantity, &mut tiers)?;
        lines.push(Line {
            key: charge.key.to_string(),
            kind: LineKind::Usage,
            usage: Some(UsageDetail { dimensions, quantity, billable_quantity: priced.billable_quantity, tiers: tiers.clone() }),
            amount: priced.amount,
        });
    }
    Ok(())
}

fn unrated(usage: BTreeMap<&MeterKey, MeterUsage<'_>>) -> Vec<UsageRow> {
    usage
        .into_iter()
        .flat_map(|(meter, u)| {
            u.rows.into_iter().filter(|(_, _, picked)| !picked).map(move |(dimensions, quantity, _)| UsageRow {
                meter: meter.clone(),
                dimensions: dimensions.clone(),
                quantity,
            })
        })
        .collect()
}

/// Totals the lines and adds the minimum-commitment true-up.
fn finish(plan: &Plan, mut lines: Vec<Line>, unrated: Vec<UsageRow>) -> Result<RatedPeriod, RatingError> {
    let overflow = |Overflow| RatingError::Overflow { line: "subtotal".into() };
    // Zero written with the currency's decimals, so an empty invoice still reads "0.00".
    let zero = plan.currency.round(Decimal::ZERO).unwrap_or(Decimal::ZERO);
    let subtotal = lines.iter().try_fold(zero, |sum, line| price::add(sum, line.amount)).map_err(overflow)?;
    let mut total = subtotal;
    if let Some(amount) = true_up(plan.minimum_commitment, plan.currency, subtotal).map_err(overflow)? {
        total = price::add(subtotal, amount).map_err(overflow)?;
        lines.push(Line { key: MINIMUM_COMMITMENT.into(), kind: LineKind::MinimumCommitment, usage: None, amount });
    }
    Ok(RatedPeriod { plan: plan.key.clone(), currency: plan.currency, lines, unrated, subtotal, total })
}
