//! Composing the invoice of one closed period.
//!
//! Lines, in order:
//! 1. fee corrections for the closed period: what its fees came to (each plan's fees
//!    prorated over the part it was active) against what earlier invoices billed for it
//!    in advance. The first period was never billed in advance, so its fees appear here
//!    whole; a plan change or an end gives the difference, a credit if negative;
//! 2. usage of the closed period, in arrears, each plan's part rated with that plan;
//! 3. minimum-commitment true-ups;
//! 4. the fees of the next period, in advance (none if the subscription has ended).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tally_domain::{BillingCycle, Catalog, Customer, Period, PlanKey, Subscription};
use tally_rating::{rate_charges, ChargeUsage, LineKind as RatedKind, RatedPeriod};

use crate::error::InvoiceError;
use crate::model::{invoice_id, Invoice, InvoiceLine, InvoiceState, LineKind};
use crate::schedule::cycle_of;

/// A fee line an earlier invoice billed for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledFee {
    /// The plan it was priced with.
    pub plan: PlanKey,
    /// The fee's key.
    pub key: String,
    /// What was billed (corrections included).
    pub amount: Decimal,
}

/// The usage of one closed period: for each span of it (each plan's part, in
/// `Subscription::spans` order), the usage aggregated per charge of that plan.
pub type PeriodUsage<'a> = [&'a ChargeUsage];

/// The invoice closing period `index` of the subscription, as a draft; the
/// subscription is checked against its customer and the catalog first.
pub fn compose(
    catalog: &Catalog,
    customer: &Customer,
    subscription: &Subscription,
    index: i64,
    usage: &PeriodUsage<'_>,
    billed: &[BilledFee],
) -> Result<Invoice, InvoiceError> {
    let cycle = cycle_of(subscription, customer, catalog)
        .map_err(|source| InvoiceError::Account { subscription: subscription.id.to_string(), source })?;
    compose_in(catalog, customer, subscription, &cycle, index, usage, billed)
}

/// [`compose`] for a subscription already checked, whose billing cycle is `cycle`
/// (from [`cycle_of`]): the invoicer checks every subscription once, not per invoice.
pub fn compose_in(
    catalog: &Catalog,
    customer: &Customer,
    subscription: &Subscription,
    cycle: &BillingCycle,
    index: i64,
    usage: &PeriodUsage<'_>,
    billed: &[BilledFee],
) -> Result<Invoice, InvoiceError> {
    let name = subscription.id.to_string();
    let (period, next) = (cycle.period(index), cycle.period(index + 1));
    let spans = subscription.spans(&period);
    if spans.len() != usage.len() {
        return Err(InvoiceError::Spans { subscription: name, given: usage.len(), spans: spans.len() });
    }
    let rate = |plan: &PlanKey, period: &Period, active: &Period, usage: &ChargeUsage| {
        rate_charges(catalog, plan.as_str(), period, Some(active), usage)
            .map_err(|source| InvoiceError::Rating { subscription: name.clone(), source })
    };

    let mut fees_due: BTreeMap<(PlanKey, String), Decimal> = BTreeMap::new();
    // The part of the period each plan was active: what its fee lines say they bill
    // (a start on the 10th bills from the 10th, not from the 1st).
    let mut active_part: BTreeMap<PlanKey, Period> = BTreeMap::new();
    let mut usage_lines = Vec::new();
    let mut true_ups = Vec::new();
    for ((plan, active), span_usage) in spans.iter().zip(usage) {
        let hull = match active_part.get(plan) {
            Some(seen) => {
                Period::new(seen.start().min(active.start()), seen.end().max(active.end())).unwrap_or(*active)
            }
            None => *active,
        };
        active_part.insert(plan.clone(), hull);
        let rated = rate(plan, &period, active, span_usage)?;
        for line in lines_of(&rated, plan, active) {
            match line.kind {
                LineKind::Fee => *fees_due.entry((plan.clone(), line.key)).or_default() += line.amount,
                LineKind::MinimumCommitment => true_ups.push(line),
                _ => usage_lines.push(line),
            }
        }
    }
    let mut already: BTreeMap<(PlanKey, String), Decimal> = BTreeMap::new();
    for fee in billed {
        *already.entry((fee.plan.clone(), fee.key.clone())).or_default() += fee.amount;
    }
    let mut lines = Vec::new();
    let keys: std::collections::BTreeSet<_> = fees_due.keys().chain(already.keys()).cloned().collect();
    for (plan, key) in keys {
        let due = fees_due.get(&(plan.clone(), key.clone())).copied().unwrap_or_default();
        let paid = already.get(&(plan.clone(), key.clone())).copied();
        let (kind, amount) = match paid {
            None => (LineKind::Fee, due),
            Some(paid) if paid == due => continue,
            Some(paid) => (LineKind::FeeAdjustment, due - paid),
        };
        let service = active_part.get(&plan).copied().unwrap_or(period);
        lines.push(fee_line(key, plan, kind, service, amount));
    }
    lines.extend(usage_lines);
    lines.extend(true_ups);
    for (plan, active) in subscription.spans(&next) {
        let rated = rate(&plan, &next, &active, &ChargeUsage::new())?;
        lines.extend(lines_of(&rated, &plan, &active).into_iter().filter(|l| l.kind == LineKind::Fee).map(|mut l| {
            l.service_period = active;
            l
        }));
    }
    for line in &mut lines {
        let bound = std::mem::take(&mut line.label.notes);
        line.label = crate::model::LineLabel::of(catalog, &line.plan, &line.key);
        line.label.notes = notes_of(catalog, line, (&period, &next)).into_iter().chain(bound).collect();
    }
    let currency = customer.currency;
    let profile = customer.profile().map_err(|source| InvoiceError::Account { subscription: name.clone(), source })?;
    let mut invoice = Invoice {
        id: invoice_id(&subscription.id, &period),
        number: None,
        customer: customer.id.clone(),
        subscription: subscription.id.clone(),
        period,
        currency,
        state: InvoiceState::Draft,
        lines,
        total: Decimal::ZERO,
        tax: None,
        issued_at: None,
        due: None,
        exchange: None,
        document: crate::model::Document::Invoice,
        credits: None,
        revises: None,
        reason: None,
        memo: None,
        credited_lines: Vec::new(),
        prices: spans
            .iter()
            .filter_map(|(plan, _)| catalog.plan(plan.as_str()).map(|p| (plan.clone(), p.prices.clone())))
            .collect(),
        spans,
        late_only: false,
    };
    crate::tax::settle(&mut invoice, catalog, &profile);
    Ok(invoice)
}

/// What a document says changed `line`'s amount, besides a bound the rating set:
/// units included free, a fee for part of its period (of `closed` or `next`).
fn notes_of(catalog: &Catalog, line: &InvoiceLine, (closed, next): (&Period, &Period)) -> Vec<crate::model::LineNote> {
    use crate::model::LineNote;
    let Some(plan) = catalog.plan(line.plan.as_str()) else { return Vec::new() };
    match line.kind {
        LineKind::Usage => {
            let charge = plan.charges.iter().find(|c| c.key.as_str() == line.key);
            match (charge, line.quantity) {
                (Some(c), Some(q)) if c.included > Decimal::ZERO && q > Decimal::ZERO => {
                    vec![LineNote::Included { units: c.included.min(q) }]
                }
                _ => Vec::new(),
            }
        }
        LineKind::Fee => {
            let prorated = plan.fees.iter().any(|f| f.key.as_str() == line.key && f.prorate);
            let whole = if line.service_period.start() >= closed.end() { next } else { closed };
            let days = |p: &Period| (p.end() - p.start()).num_seconds().saturating_add(43_200) / 86_400;
            if prorated && line.service_period != *whole {
                vec![LineNote::Prorated { days: days(&line.service_period), of: days(whole) }]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

fn fee_line(key: String, plan: PlanKey, kind: LineKind, period: Period, amount: Decimal) -> InvoiceLine {
    InvoiceLine {
        key,
        plan,
        kind,
        service_period: period,
        dimensions: Default::default(),
        quantity: None,
        billable_quantity: None,
        tiers: Vec::new(),
        amount,
        label: Default::default(),
        tax: None,
        tax_rates: Vec::new(),
        tax_inclusive: false,
    }
}

/// The rated lines as invoice lines covering `active`.
fn lines_of(rated: &RatedPeriod, plan: &PlanKey, active: &Period) -> Vec<InvoiceLine> {
    rated
        .lines
        .iter()
        .map(|line| {
            let kind = match line.kind {
                RatedKind::Fee => LineKind::Fee,
                RatedKind::Usage => LineKind::Usage,
                RatedKind::MinimumCommitment => LineKind::MinimumCommitment,
            };
            let usage = line.usage.as_ref();
            InvoiceLine {
                key: line.key.to_string(),
                plan: plan.clone(),
                kind,
                service_period: *active,
                dimensions: usage.map(|u| u.dimensions.clone()).unwrap_or_default(),
                quantity: usage.map(|u| u.quantity),
                billable_quantity: usage.map(|u| u.billable_quantity),
                tiers: usage.map(|u| u.tiers.clone()).unwrap_or_default(),
                amount: line.amount,
                label: crate::model::LineLabel {
                    // The bound is the amount (rounded to the currency, as the line).
                    notes: match usage.and_then(|u| u.bound) {
                        Some(tally_rating::Bound::Minimum) => {
                            vec![crate::model::LineNote::Minimum { amount: line.amount }]
                        }
                        Some(tally_rating::Bound::Maximum) => {
                            vec![crate::model::LineNote::Maximum { amount: line.amount }]
                        }
                        None => Vec::new(),
                    },
                    ..Default::default()
                },
                tax: None,
                tax_rates: Vec::new(),
                tax_inclusive: false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
