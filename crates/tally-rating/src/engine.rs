//! `rate`: one subscription, one period, one plan. Adds up the usage rows, prices the
//! fees and every charge of the plan, reports what no charge picked up, and totals.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tally_domain::{Catalog, Charge, Currency, Dimensions, Plan, RateRequest, UsageRow};

use crate::charge::price_usage;
use crate::commitment::{prorated_minimum, true_up};
use crate::error::RatingError;
use crate::fees::fee_amount;
use crate::price::{self, Overflow};
use crate::rated::{Line, LineKind, RatedPeriod, UsageDetail};
use crate::slots::Slots;

/// Key of the minimum-commitment true-up line.
const MINIMUM_COMMITMENT: &str = "minimum_commitment";

/// One usage row of the request, with the position of its meter in the catalog (rows
/// are grouped by it, an integer, never by comparing meter keys) and whether some charge
/// picked it up.
struct Row<'a> {
    meter: usize,
    usage: &'a UsageRow,
    picked: bool,
}

/// Prices `request` with the catalog's plan.
///
/// Each charge adds up the rows its filter matches; rows with the same meter and
/// dimensions need not be merged first, since decimal sums are exact (within 28
/// significant digits) and so do not depend on row order. Unrated rows are merged per
/// meter and dimensions. Charges with no usage give a zero line, except `group_by`
/// charges, which have no group to show.
pub fn rate(catalog: &Catalog, request: &RateRequest) -> Result<RatedPeriod, RatingError> {
    let plan = catalog.plan(request.plan.as_str()).ok_or_else(|| RatingError::UnknownPlan {
        plan: request.plan.to_string(),
        known: catalog.plans().iter().map(|p| p.key.to_string()).collect(),
    })?;
    let mut rows = checked_rows(catalog, &request.usage)?;
    let currency = plan.currency;
    let mut lines = Vec::with_capacity(plan.fees.len() + plan.charges.len() + 1);

    let active = request.active.unwrap_or(request.period).intersect(&request.period);
    for fee in &plan.fees {
        let amount = fee_amount(fee, currency, &request.period, active.as_ref())
            .map_err(|Overflow| RatingError::Overflow { line: fee.key.to_string() })?;
        lines.push(Line { key: fee.key.shared(), kind: LineKind::Fee, usage: None, amount });
    }
    // The rows of each meter read once into slots (see `slots.rs`), for all its charges.
    let selectors = plan.selectors();
    let mut meters: Vec<Option<(usize, usize, Slots)>> = (0..selectors.meters.len()).map(|_| None).collect();
    for (index, charge) in plan.charges.iter().enumerate() {
        let selector = &selectors.charges[index];
        let (start, end, slots) = meters[selector.meter].get_or_insert_with(|| {
            let meter = &selectors.meters[selector.meter];
            let start = rows.partition_point(|r| r.meter < meter.meter);
            let end = start + rows[start..].partition_point(|r| r.meter == meter.meter);
            (start, end, Slots::new(meter, rows[start..end].iter().map(|r| &r.usage.dimensions)))
        });
        rate_charge(charge, &selector.filter, currency, &mut rows[*start..*end], slots, &mut lines)
            .map_err(|Overflow| RatingError::Overflow { line: charge.key.to_string() })?;
    }
    let unrated = unrated(&rows)?;
    finish(plan, &request.period, active.as_ref(), lines, unrated)
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
        lines.push(Line { key: fee.key.shared(), kind: LineKind::Fee, usage: None, amount });
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
                key: charge.key.shared(),
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

/// Checks each row's meter and quantity, and orders the rows by their meter's position
/// in the catalog (a stable sort: request order within a meter), so that each meter's
/// rows are one contiguous slice. Consecutive rows of one meter look its key up once.
///
/// This replaced merging rows per (meter, dimensions) up front, which sorted and hashed
/// the dimension maps of every row: a quarter of `rate`'s time (see docs/benchmarks.md).
fn checked_rows<'a>(catalog: &Catalog, usage: &'a [UsageRow]) -> Result<Vec<Row<'a>>, RatingError> {
    let mut rows = Vec::with_capacity(usage.len());
    let mut last: Option<(&str, usize)> = None;
    for (index, row) in usage.iter().enumerate() {
        let meter = match last {
            Some((key, position)) if key == row.meter.as_str() => position,
            _ => catalog
                .meter_position(row.meter.as_str())
                .ok_or_else(|| RatingError::UnknownMeter { index, meter: row.meter.to_string() })?,
        };
        last = Some((row.meter.as_str(), meter));
        if row.quantity < Decimal::ZERO {
            return Err(RatingError::NegativeQuantity { index, quantity: row.quantity });
        }
        rows.push(Row { meter, usage: row, picked: false });
    }
    // Usage from the stores comes ordered by meter already.
    if !rows.is_sorted_by_key(|r| r.meter) {
        rows.sort_by_key(|r| r.meter);
    }
    Ok(rows)
}

/// Appends the lines of one charge: one per group, or one (possibly zero) without group_by.
/// `rows` are the usage rows of the charge's meter, `slots` their dimension values,
/// `filter` the charge's filter resolved to those slots.
fn rate_charge(
    charge: &Charge,
    filter: &[(usize, u32)],
    currency: Currency,
    rows: &mut [Row<'_>],
    slots: &Slots,
    lines: &mut Vec<Line>,
) -> Result<(), Overflow> {
    let mut tiers = Vec::new();
    let mut push = |dimensions: Dimensions, quantity: Decimal, tiers: &mut Vec<_>| -> Result<(), Overflow> {
        let priced = price_usage(charge, currency, quantity, tiers)?;
        lines.push(Line {
            key: charge.key.shared(),
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
    if charge.group_by.is_empty() {
        let mut sum = Decimal::ZERO;
        for i in slots.matching(filter) {
            let row = &mut rows[i];
            row.picked = true;
            sum = price::add(sum, row.usage.quantity)?;
        }
        return push(Dimensions::new(), sum, &mut tiers);
    }
    let mut groups: BTreeMap<Vec<Option<&str>>, Decimal> = BTreeMap::new();
    for i in slots.matching(filter) {
        let row = &mut rows[i];
        row.picked = true;
        let group = charge.group_by.iter().map(|k| row.usage.dimensions.get(k).map(String::as_str)).collect();
        let sum = groups.entry(group).or_default();
        *sum = price::add(*sum, row.usage.quantity)?;
    }
    for (values, quantity) in groups {
        let dimensions =
            charge.group_by.iter().zip(values).filter_map(|(k, v)| v.map(|v| (k.clone(), v.to_owned()))).collect();
        push(dimensions, quantity, &mut tiers)?;
    }
    Ok(())
}

/// The rows no charge picked up, added up per meter and dimensions, in that order.
fn unrated(rows: &[Row<'_>]) -> Result<Vec<UsageRow>, RatingError> {
    let mut left: Vec<&UsageRow> = rows.iter().filter(|r| !r.picked).map(|r| r.usage).collect();
    left.sort_unstable_by(|a, b| (&a.meter, &a.dimensions).cmp(&(&b.meter, &b.dimensions)));
    let mut merged: Vec<UsageRow> = Vec::with_capacity(left.len());
    for row in left {
        match merged.last_mut() {
            Some(last) if last.meter == row.meter && last.dimensions == row.dimensions => {
                last.quantity = price::add(last.quantity, row.quantity)
                    .map_err(|Overflow| RatingError::Overflow { line: "usage".into() })?;
            }
            _ => merged.push(row.clone()),
        }
    }
    Ok(merged)
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
