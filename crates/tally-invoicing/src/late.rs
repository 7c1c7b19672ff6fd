//! Late usage: events that arrived after their period's invoice was issued.
//!
//! An issued invoice never changes. When a later close finds more usage in an earlier
//! period than was billed for it, the difference is billed on the invoice being
//! closed, as `late_usage` lines naming the earlier period. The amount is the price of
//! the new total less the price of what was billed, so tiers and included units come
//! out as if the events had been on time.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tally_domain::{Catalog, Dimensions, Period, PlanKey};
use tally_rating::{rate_charges, ChargeUsage, LineKind as RatedKind};

use crate::error::InvoiceError;
use crate::model::{Invoice, InvoiceLine, LineKind};

/// What was billed so far for one part of an earlier period: per (charge key,
/// dimensions), the quantity on its invoice plus any late lines since.
pub type Billed = BTreeMap<(String, Dimensions), Decimal>;

/// The quantities billed for `span` (under `plan`) by `invoices` (the subscription's
/// issued invoices): usage lines and late-usage lines of that span.
pub fn billed_usage(invoices: &[&Invoice], plan: &PlanKey, span: &Period) -> Billed {
    let mut billed = Billed::new();
    for invoice in invoices {
        for line in &invoice.lines {
            if matches!(line.kind, LineKind::Usage | LineKind::LateUsage)
                && &line.plan == plan
                && line.service_period == *span
            {
                *billed.entry((line.key.clone(), line.dimensions.clone())).or_default() +=
                    line.quantity.unwrap_or_default();
            }
        }
    }
    billed
}

/// Late-usage lines for one part (`span` of `period`, under `plan`): usage now against
/// usage billed. Nothing when they are equal. Usage that went down (never by events
/// arriving late) is left alone: issued quantities are only ever added to.
pub fn late_usage_lines(
    catalog: &Catalog,
    subscription: &str,
    plan: &PlanKey,
    period: &Period,
    span: &Period,
    now: &ChargeUsage,
    billed: &Billed,
) -> Result<Vec<InvoiceLine>, InvoiceError> {
    let mut as_billed = ChargeUsage::new();
    for ((key, dims), quantity) in billed {
        as_billed.entry(key.clone()).or_default().push((dims.clone(), *quantity));
    }
    let rate = |usage: &ChargeUsage| {
        rate_charges(catalog, plan.as_str(), period, Some(span), usage)
            .map_err(|source| InvoiceError::Rating { subscription: subscription.to_owned(), source })
    };
    let usage_lines =
        |usage: &ChargeUsage| -> Result<BTreeMap<(String, Dimensions), (Decimal, Decimal)>, InvoiceError> {
            Ok(rate(usage)?
                .lines
                .into_iter()
                .filter(|l| l.kind == RatedKind::Usage)
                .filter_map(|l| l.usage.map(|u| ((l.key.to_string(), u.dimensions), (u.quantity, l.amount))))
                .collect())
        };
    let (now_lines, billed_lines) = (usage_lines(now)?, usage_lines(&as_billed)?);
    let mut lines = Vec::new();
    for ((key, dimensions), (quantity, amount)) in now_lines {
        let (was_quantity, was_amount) =
            billed_lines.get(&(key.clone(), dimensions.clone())).copied().unwrap_or_default();
        if quantity > was_quantity {
            let key_label = key.clone();
            lines.push(InvoiceLine {
                key,
                plan: plan.clone(),
                kind: LineKind::LateUsage,
                service_period: *span,
                dimensions,
                quantity: Some(quantity - was_quantity),
                billable_quantity: None,
                tiers: Vec::new(),
                amount: amount - was_amount,
                label: crate::model::LineLabel::of(catalog, plan, &key_label),
                tax: None,
                tax_rates: Vec::new(),
                tax_inclusive: false,
            });
        }
    }
    Ok(lines)
}
