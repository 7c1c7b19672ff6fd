//! A document line as the books write it: one description, an exact quantity and unit
//! price whose product is the line's net amount (or 1 x the amount when the price is
//! not one unit price: tiers, minimums, prorated fees), its tax, and the accounting
//! names the catalog gives it.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_domain::{Accounting, Catalog};
use tally_invoicing::{DocumentFigures, LineFigures};

/// One line, ready for a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookLine {
    /// The fee's or charge's name, and the group's values.
    pub description: String,
    /// The catalog item, else the name.
    pub item: String,
    /// Units; `quantity * unit_price == net` exactly.
    pub quantity: Decimal,
    /// Price of one unit.
    pub unit_price: Decimal,
    /// The line's amount before tax.
    pub net: Decimal,
    /// Its tax, when the invoice rounds tax per line.
    pub tax: Option<Decimal>,
    /// The tax rates' names and their total rate (`None`: untaxed).
    pub tax_rate: Option<(String, Decimal)>,
    /// The first day it covers.
    pub service_date: NaiveDate,
    /// How the books name it.
    pub accounting: Accounting,
    /// The plan and the fee or charge key.
    pub plan: String,
    /// The fee or charge key.
    pub key: String,
}

impl BookLine {
    /// The lines of `doc`, named by `catalog`.
    pub fn of(doc: &DocumentFigures, catalog: &Catalog) -> Vec<BookLine> {
        doc.lines.iter().map(|line| BookLine::one(doc, line, catalog)).collect()
    }

    fn one(doc: &DocumentFigures, line: &LineFigures, catalog: &Catalog) -> BookLine {
        let rates = rates_of(doc, line);
        let rate_sum: Decimal = rates.iter().map(|r| r.rate).sum();
        let net = net_of(doc, line, rate_sum);
        let name = line.label.name.clone().unwrap_or_else(|| line.key.clone());
        let mut description = name.clone();
        if !line.dimensions.is_empty() {
            let dims: Vec<String> = line.dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect();
            description.push_str(&format!(" ({})", dims.join(", ")));
        }
        let (quantity, unit_price) = match (line.billable_quantity, line.label.unit_price) {
            (Some(q), Some(p)) if !q.is_zero() && q * p == net => (q, p),
            _ => (Decimal::ONE, net),
        };
        let accounting = catalog.accounting(line.plan.as_str(), &line.key);
        let item = accounting.item.clone().unwrap_or_else(|| name.clone());
        let tax_rate = (!rates.is_empty()).then(|| {
            let names: Vec<&str> = rates.iter().map(|r| r.name.as_str()).collect();
            (names.join(" + "), rate_sum)
        });
        BookLine {
            description,
            item,
            quantity,
            unit_price,
            net,
            tax: line.tax,
            tax_rate,
            service_date: line.service_period.start().date_naive(),
            accounting,
            plan: line.plan.to_string(),
            key: line.key.clone(),
        }
    }

    /// The same line with its signs turned (a credit note in a format that wants
    /// positive amounts).
    pub fn negated(&self) -> BookLine {
        // One unit at the whole amount stays one unit; a quantity at its unit price turns its quantity.
        let (quantity, unit_price) = if self.quantity == Decimal::ONE && self.unit_price == self.net {
            (Decimal::ONE, -self.net)
        } else {
            (-self.quantity, self.unit_price)
        };
        BookLine { quantity, unit_price, net: -self.net, tax: self.tax.map(|t| -t), ..self.clone() }
    }
}

/// The tax rates line `line` of `doc` carries.
fn rates_of<'d>(doc: &'d DocumentFigures, line: &LineFigures) -> Vec<&'d tally_invoicing::RateTotal> {
    doc.tax.iter().flat_map(|t| line.tax_rates.iter().filter_map(|&i| t.rates.get(i))).collect()
}

/// Line `line` of `doc` before tax (see [`net_of`]), without naming it for the books.
pub(crate) fn net(doc: &DocumentFigures, line: &LineFigures) -> Decimal {
    net_of(doc, line, rates_of(doc, line).iter().map(|r| r.rate).sum())
}

/// A line's amount before tax: its amount, less its tax when the amount includes it
/// (with per-invoice rounding, the inclusive amount over one plus its rates, rounded).
fn net_of(doc: &DocumentFigures, line: &LineFigures, rate_sum: Decimal) -> Decimal {
    if !line.tax_inclusive {
        return line.amount;
    }
    match line.tax {
        Some(tax) => line.amount - tax,
        None => {
            let net = line.amount / (Decimal::ONE + rate_sum);
            doc.currency.round(net).unwrap_or(net)
        }
    }
}
