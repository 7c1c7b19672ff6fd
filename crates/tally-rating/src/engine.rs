//! `rate`: one subscription, one period, one plan. Adds up the usage rows, prices the
//! fees and every charge of the plan, reports what no charge picked up, and totals.

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use rust_decimal::Decimal;
use tally_domain::{Catalog, Charge, Currency, Dimensions, MeterKey, Plan, RateRequest, UsageRow};

use crate::charge::price_usage;
use crate::commitment::{prorated_minimum, true_up};
use crate::error::RatingError;
use crate::fees::fee_amount;
use crate::price::{self, Overflow};
use crate::rated::{Line, LineKind, RatedPeriod, UsageDetail};
use crate::slots::Slots;

/// Key of the minimum-commitment true-up line.
const MINIMUM_COMMITMENT: &str = "minimum_commitment";

/// One distinct (meter, dimensions) row with its added-up quantity, and whether some
/// charge picked it up.
struct Row<'a> {
    meter: &'a MeterKey,
    dimensions: &'a Dimensions,
    quantity: Decimal,
    picked: bool,
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
    let mut rows = add_up(catalog, &request.usage)?;
    let currency = plan.currency;
    let mut lines = Vec::with_capacity(plan.fees.len() + plan.charges.len() + 1);

    let active = request.active.unwrap_or(request.period).intersect(&request.period);
    for fee in &plan.fees {
        let amount = fee_amount(fee, currency, &request.period, active.as_ref())
            .map_err(|Overflow| RatingError::Overflow { line: fee.key.to_string() })?;
        lines.push(Line { key: fee.key.to_string(), kind: LineKind::Fee, usage: None, amount });
    }
    // The rows of each meter read once into slots (see `slots.rs`), for all its charges.
    let mut meters: Vec<(&MeterKey, usize, usize, Slots<'_>)> = Vec::new();
    for charge in &plan.charges {
        let at = match meters.iter().position(|m| m.0 == &charge.meter) {
            Some(at) => at,
            None => {
                let start = rows.partition_point(|r| r.meter < &charge.meter);
                let end = start + rows[start..].partition_point(|r| r.meter == &charge.meter);
                let keys = plan.charges.iter().filter(|c| c.meter == charge.meter);
                let slots = Slots::new(keys, rows[start..end].iter().map(|r| r.dimensions));
                meters.push((&charge.meter, start, end, slots));
                meters.len() - 1
            }
        };
        let (_, start, end, slots) = &meters[at];
        rate_charge(charge, currency, &mut rows[*start..*end], slots, &mut lines)
            .map_err(|Overflow| RatingError::Overflow { line: charge.key.to_string() })?;
    }
    finish(plan, &request.period, active.as_ref(), lines, unrated(rows))
}

/// Exact aggregated usage per charge, as the store computes it for billing: for each
/// charge key of the plan, its groups (the values of its `group_by`, empty without one)
/// and their quantities. A charge absent from the map had no usage.
pub type ChargeUsage = BTreeMap<String, Vec<(Dimensions, Decimal)>>;

/// Prices a plan from usage already aggregated per charge (the invoicer's path).
///
/// Unlike [`rate`], nothing is added up here: every aggregation (max, unique count,
/// latest) was computed exactly over the charge's own filter and groups by the store,
/// so one line's quantity is taken as given. Fees, line order, rounding and the
/// minimum-commitment true-up are the same as [`rate`]'s.
pub fn rate_charges(
    catalog: &Catalog,
    plan: &str,
    period: &tally_domain::Period,
    active: Option<&tally_domain::Period>,
    usage: &ChargeUsage,
) -> Result<RatedPeriod, RatingError> {
    let plan = catalog.plan(plan).ok_or_else(|| RatingError::UnknownPlan {
        plan: plan.to_owned(),
        known: catalog.plans().iter().map(|p| p.key.to_string()).collect(),
    })?;
    let currency = plan.currency;
    let mut lines = Vec::with_capacity(plan.fees.len() + plan.charges.len() + 1);
    let active = active.copied().unwrap_or(*period).intersect(period);
    for fee in &plan.fees {
        let amount = fee_amount(fee, currency, period, active.as_ref())
            .map_err(|Overflow| RatingError::Overflow { line: fee.key.to_string() })?;
        lines.push(Line { key: fee.key.to_string(), kind: LineKind::Fee, usage: None, amount });
    }
    let mut tiers = Vec::new();
    let none = Vec::new();
    for charge in &plan.charges {
        let overflow = |Overflow| RatingError::Overflow { line: charge.key.to_string() };
        let mut groups: Vec<&(Dimensions, Decimal)> = usage.get(charge.key.as_str()).unwrap_or(&none).iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        let zero = (Dimensions::new(), Decimal::ZERO);
        if groups.is_empty() && charge.group_by.is_empty() {
            groups.push(&zero);
        }
        for (dimensions, quantity) in groups {
            if *quantity < Decimal::ZERO {
                return Err(RatingError::NegativeQuantity { index: 0, quantity: *quantity });
            }
            let priced = price_usage(charge, currency, *quantity, &mut tiers).map_err(overflow)?;
            lines.push(Line {
                key: charge.key.to_string(),
                kind: LineKind::Usage,
                usage: Some(UsageDetail {
                    dimensions: dimensions.clone(),
                    quantity: *quantity,
                    billable_quantity: priced.billable_quantity,
                    tiers: tiers.clone(),
                    bound: priced.bound,
                }),
                amount: priced.amount,
            });
        }
    }
    finish(plan, period, active.as_ref(), lines, Vec::new())
}

/// Adds up rows per (meter, dimensions), checking meters and quantities. The result is
/// sorted by meter, so each meter's rows are one contiguous slice; within a meter, by a
/// hash of the dimensions (then the dimensions, on equal hashes), so equal rows are
/// adjacent. Sorting by the dimension maps themselves was a third of `rate`'s time
/// (string compares of every key and value); only the unrated rows are put in
/// dimension order, at the end.
fn add_up<'a>(catalog: &Catalog, rows: &'a [UsageRow]) -> Result<Vec<Row<'a>>, RatingError> {
    let mut sorted = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        if catalog.meter(row.meter.as_str()).is_none() {
            return Err(RatingError::UnknownMeter { index, meter: row.meter.to_string() });
        }
        if row.quantity < Decimal::ZERO {
            return Err(RatingError::NegativeQuantity { index, quantity: row.quantity });
        }
        let hash = rustc_hash::FxBuildHasher.hash_one(&row.dimensions);
        sorted.push((
            hash,
            Row { meter: &row.meter, dimensions: &row.dimensions, quantity: row.quantity, picked: false },
        ));
    }
    sorted.sort_unstable_by(|(ha, a), (hb, b)| {
        (a.meter, *ha).cmp(&(b.meter, *hb)).then_with(|| a.dimensions.cmp(b.dimensions))
    });
    let mut merged: Vec<Row<'a>> = Vec::with_capacity(sorted.len());
    for (_, row) in sorted {
        match merged.last_mut() {
            Some(last) if last.meter == row.meter && last.dimensions == row.dimensions => {
                last.quantity = price::add(last.quantity, row.quantity)
                    .map_err(|Overflow| RatingError::Overflow { line: "usage".into() })?;
            }
            _ => merged.push(row),
        }
    }
    Ok(merged)
}

/// Appends the lines of one charge: one per group, or one (possibly zero) without group_by.
/// `rows` are the usage rows of the charge's meter, `slots` their dimension values.
fn rate_charge(
    charge: &Charge,
    currency: Currency,
    rows: &mut [Row<'_>],
    slots: &Slots<'_>,
    lines: &mut Vec<Line>,
) -> Result<(), Overflow> {
    let mut tiers = Vec::new();
    let mut push = |dimensions: Dimensions, quantity: Decimal, tiers: &mut Vec<_>| -> Result<(), Overflow> {
        let priced = price_usage(charge, currency, quantity, tiers)?;
        lines.push(Line {
            key: charge.key.to_string(),
            kind: LineKind::Usage,
            usage: Some(UsageDetail {
                dimensions,
                quantity,
                billable_quantity: priced.billable_quantity,
                tiers: tiers.clone(),
                bound: priced.bound,
            }),
            amount: priced.amount,
        });
        Ok(())
    };
    let Some(filter) = slots.filter(&charge.filter) else {
        // A filter value no row has: nothing matches.
        return if charge.group_by.is_empty() { push(Dimensions::new(), Decimal::ZERO, &mut tiers) } else { Ok(()) };
    };
    let matching = rows.iter_mut().enumerate().filter(|(i, _)| slots.matches(*i, &filter));
    if charge.group_by.is_empty() {
        let mut sum = Decimal::ZERO;
        for (_, row) in matching {
            row.picked = true;
            sum = price::add(sum, row.quantity)?;
        }
        return push(Dimensions::new(), sum, &mut tiers);
    }
    let mut groups: BTreeMap<Vec<Option<&str>>, Decimal> = BTreeMap::new();
    for (_, row) in matching {
        row.picked = true;
        let group = charge.group_by.iter().map(|k| row.dimensions.get(k).map(String::as_str)).collect();
        let sum = groups.entry(group).or_default();
        *sum = price::add(*sum, row.quantity)?;
    }
    for (values, quantity) in groups {
        let dimensions =
            charge.group_by.iter().zip(values).filter_map(|(k, v)| v.map(|v| (k.clone(), v.to_owned()))).collect();
        push(dimensions, quantity, &mut tiers)?;
    }
    Ok(())
}

/// The rows no charge picked up, by meter, then dimensions.
fn unrated(rows: Vec<Row<'_>>) -> Vec<UsageRow> {
    let mut left: Vec<Row<'_>> = rows.into_iter().filter(|r| !r.picked).collect();
    left.sort_unstable_by(|a, b| (a.meter, a.dimensions).cmp(&(b.meter, b.dimensions)));
    left.into_iter()
        .map(|r| UsageRow { meter: r.meter.clone(), dimensions: r.dimensions.clone(), quantity: r.quantity })
        .collect()
}

/// Totals the lines and adds the minimum-commitment true-up (the minimum prorated over
/// the `active` part of `period` like a fee, unless the plan opts out).
fn finish(
    plan: &Plan,
    period: &tally_domain::Period,
    active: Option<&tally_domain::Period>,
    mut lines: Vec<Line>,
    unrated: Vec<UsageRow>,
) -> Result<RatedPeriod, RatingError> {
    let overflow = |Overflow| RatingError::Overflow { line: "subtotal".into() };
    // Zero written with the currency's decimals, so an empty invoice still reads "0.00".
    let zero = plan.currency.round(Decimal::ZERO).unwrap_or(Decimal::ZERO);
    let subtotal = lines.iter().try_fold(zero, |sum, line| price::add(sum, line.amount)).map_err(overflow)?;
    let mut total = subtotal;
    let minimum = match plan.minimum_commitment {
        Some(minimum) => Some(prorated_minimum(plan, minimum, period, active).map_err(overflow)?),
        None => None,
    };
    if let Some(amount) = true_up(minimum, plan.currency, subtotal).map_err(overflow)? {
        total = price::add(subtotal, amount).map_err(overflow)?;
        lines.push(Line { key: MINIMUM_COMMITMENT.into(), kind: LineKind::MinimumCommitment, usage: None, amount });
    }
    Ok(RatedPeriod { plan: plan.key.clone(), currency: plan.currency, lines, unrated, subtotal, total })
}
