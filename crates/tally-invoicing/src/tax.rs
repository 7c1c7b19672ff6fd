//! Tax on an invoice: which rates each line carries, the tax per line and per rate,
//! and the totals (subtotal, tax, total), rounded as the catalog says.
//!
//! Two steps, so a credit note can repeat the second with the rates of the invoice it
//! credits (rates change; a credit note gives back the tax that was charged):
//! [`settle`] picks each line's rates from the catalog and the customer's profile,
//! then [`compute`] turns the lines' amounts and rates into tax and totals.
//!
//! A line of a tax-exclusive plan carries `amount * rate` on top; a line of a
//! tax-inclusive plan contains its tax: `amount * rate / (1 + its rates)`. Rounding is
//! to the currency's minor unit, half away from zero, once per line and rate
//! (`per_line`) or once per rate over the invoice (`per_invoice`); a negated line
//! rounds to the negated tax, so a credit note of a void reverses tax to the cent.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_domain::catalog::STANDARD_CATEGORY;
use tally_domain::{BillingProfile, Catalog, Currency, TaxRounding, TaxStatus};

use crate::model::Invoice;

/// The tax of an invoice, as issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxSummary {
    /// How amounts were rounded.
    pub rounding: TaxRounding,
    /// The customer's tax status when it was composed.
    pub treatment: TaxStatus,
    /// Each rate the lines carry, with its base and tax.
    pub rates: Vec<RateTotal>,
    /// The lines net of tax.
    #[serde(with = "rust_decimal::serde::str")]
    pub subtotal: Decimal,
    /// All tax.
    #[serde(with = "rust_decimal::serde::str")]
    pub tax: Decimal,
    /// What the document says about tax that no amount shows (a reverse charge, an
    /// exemption, a customer with no country).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One rate of an invoice and what it came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotal {
    /// Its name ("VAT").
    pub name: String,
    /// The fraction (`0.19`).
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
    /// Where it applies: `DE`, `US-CA`.
    pub jurisdiction: String,
    /// The tax category it was chosen for, if it is for one category only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// What it is charged on: the lines carrying it, net of tax.
    #[serde(with = "rust_decimal::serde::str")]
    pub base: Decimal,
    /// The tax.
    #[serde(with = "rust_decimal::serde::str")]
    pub tax: Decimal,
}

/// The reverse-charge note EU invoices must carry (Article 226(11a) of the VAT
/// Directive names the words).
pub const REVERSE_CHARGE_NOTE: &str =
    "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)";

/// Picks each line's rates from the catalog's tax table for `profile`, then
/// [`compute`]s. With no tax table the invoice has no tax part, and its total is the
/// sum of its lines, as before taxes existed.
pub fn settle(invoice: &mut Invoice, catalog: &Catalog, profile: &BillingProfile) {
    let table = catalog.tax();
    if table.is_empty() {
        invoice.tax = None;
        for line in &mut invoice.lines {
            (line.tax, line.tax_rates, line.tax_inclusive) = (None, Vec::new(), false);
        }
        invoice.total = round(invoice.currency, invoice.lines.iter().map(|l| l.amount).sum());
        return;
    }
    let note = match (profile.tax_status, &profile.country) {
        (TaxStatus::Exempt, _) => Some("Exempt from tax".to_owned()),
        (TaxStatus::ReverseCharge, _) => Some(REVERSE_CHARGE_NOTE.to_owned()),
        (TaxStatus::Taxable, None) => Some("No tax charged: the customer's country is not on record".to_owned()),
        (TaxStatus::Taxable, Some(_)) => None,
    };
    let mut rates: Vec<RateTotal> = Vec::new();
    for line in &mut invoice.lines {
        line.tax_inclusive = catalog.plan(line.plan.as_str()).is_some_and(|p| p.tax_inclusive);
        line.tax_rates.clear();
        let (TaxStatus::Taxable, Some(country)) = (profile.tax_status, &profile.country) else { continue };
        let category = catalog.tax_category(line.plan.as_str(), &line.key).unwrap_or(STANDARD_CATEGORY);
        for rate in table.rates_for(country, profile.region.as_deref(), category) {
            let jurisdiction = match &rate.region {
                Some(region) => format!("{}-{region}", rate.country),
                None => rate.country.clone(),
            };
            let found = rates.iter().position(|r| {
                (&r.name, r.rate, &r.jurisdiction, &r.category)
                    == (&rate.name, rate.rate, &jurisdiction, &rate.category)
            });
            let index = found.unwrap_or_else(|| {
                rates.push(RateTotal {
                    name: rate.name.clone(),
                    rate: rate.rate,
                    jurisdiction,
                    category: rate.category.clone(),
                    base: Decimal::ZERO,
                    tax: Decimal::ZERO,
                });
                rates.len() - 1
            });
            line.tax_rates.push(index);
        }
    }
    invoice.tax = Some(TaxSummary {
        rounding: table.rounding,
        treatment: profile.tax_status,
        rates,
        subtotal: Decimal::ZERO,
        tax: Decimal::ZERO,
        note,
    });
    compute(invoice);
}

/// The tax of each line and rate, the subtotal and the total, from the lines'
/// amounts, rates (`tax_rates`, into `invoice.tax.rates`) and inclusivity. Without a
/// tax part the total is the sum of the lines.
pub fn compute(invoice: &mut Invoice) {
    let currency = invoice.currency;
    let lines_sum: Decimal = invoice.lines.iter().map(|l| l.amount).sum();
    let Some(summary) = invoice.tax.as_mut() else {
        invoice.total = round(currency, lines_sum);
        return;
    };
    for rate in &mut summary.rates {
        (rate.base, rate.tax) = (Decimal::ZERO, Decimal::ZERO);
    }
    // Per rate, the exact tax of exclusive and of inclusive lines (rounded once each
    // for per_invoice), and the exact net base.
    let mut exact = vec![(Decimal::ZERO, Decimal::ZERO); summary.rates.len()];
    let mut added = Decimal::ZERO;
    for line in &mut invoice.lines {
        let sum_rates: Decimal = line.tax_rates.iter().filter_map(|&i| summary.rates.get(i)).map(|r| r.rate).sum();
        let net = if line.tax_inclusive { line.amount / (Decimal::ONE + sum_rates) } else { line.amount };
        let mut line_tax = Decimal::ZERO;
        for &i in &line.tax_rates {
            let Some(rate) = summary.rates.get_mut(i) else { continue };
            let tax = net * rate.rate;
            rate.base += net;
            match summary.rounding {
                TaxRounding::PerLine => {
                    let tax = round(currency, tax);
                    rate.tax += tax;
                    line_tax += tax;
                    if !line.tax_inclusive {
                        added += tax;
                    }
                }
                TaxRounding::PerInvoice => {
                    let slot = &mut exact[i];
                    if line.tax_inclusive {
                        slot.1 += tax;
                    } else {
                        slot.0 += tax;
                    }
                }
            }
        }
        line.tax = match summary.rounding {
            TaxRounding::PerLine if !line.tax_rates.is_empty() => Some(line_tax),
            _ => None,
        };
    }
    if summary.rounding == TaxRounding::PerInvoice {
        for (rate, (exclusive, inclusive)) in summary.rates.iter_mut().zip(exact) {
            let exclusive = round(currency, exclusive);
            rate.tax = exclusive + round(currency, inclusive);
            added += exclusive;
        }
    }
    for rate in &mut summary.rates {
        rate.base = round(currency, rate.base);
    }
    summary.tax = summary.rates.iter().map(|r| r.tax).sum();
    invoice.total = round(currency, lines_sum) + added;
    summary.subtotal = invoice.total - summary.tax;
}

/// The rates an amount credited from `invoice` carries: those every taxed line of it
/// carries, or `None` when its lines carry different rates (a credit of an amount
/// could not say which rate it gives back: credit lines instead).
pub fn common_rates(invoice: &Invoice) -> Option<Vec<usize>> {
    let mut taxed = invoice.lines.iter().filter(|l| !l.tax_rates.is_empty()).map(|l| &l.tax_rates);
    let first = taxed.next().cloned().unwrap_or_default();
    taxed.all(|r| *r == first).then_some(first)
}

fn round(currency: Currency, amount: Decimal) -> Decimal {
    currency.round(amount).unwrap_or(amount)
}

#[cfg(test)]
mod tests;
