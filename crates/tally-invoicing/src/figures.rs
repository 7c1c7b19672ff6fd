//! A document's figures: what the books (accounting exports and finance's reports)
//! read of an issued invoice or credit note, and nothing else.
//!
//! It is read from the same stored JSON as [`Invoice`], by serde, which skips every
//! field not named here (tiers, line notes and descriptions, the prices and spans a
//! document was composed with): a month of 100,000 documents read this way allocates
//! a fraction of what the whole invoices would, and reading them is most of the time
//! an export takes. The field names and their encodings are [`Invoice`]'s, so one
//! body reads as either; `From<&Invoice>` gives the same figures from a whole
//! invoice, and a test checks that both ways agree for every kind of document.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use tally_domain::{Currency, CustomerId, Dimensions, Exchange, Period, PlanKey};

use crate::model::optional_decimal;
use crate::{Document, Invoice, InvoiceLine, InvoiceState, LineKind, TaxSummary};

/// An issued document as the books read it (the fields are [`Invoice`]'s).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DocumentFigures {
    /// Its id.
    pub id: String,
    /// Its number (`None` while a draft).
    pub number: Option<String>,
    /// Who pays.
    pub customer: CustomerId,
    /// The closed period.
    pub period: Period,
    /// Currency of every amount.
    pub currency: Currency,
    /// Draft, issued or void.
    pub state: InvoiceState,
    /// Its lines' figures.
    pub lines: Vec<LineFigures>,
    /// What the customer pays.
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    /// Its tax, when it has a tax part.
    #[serde(default)]
    pub tax: Option<TaxSummary>,
    /// When it was issued.
    #[serde(default)]
    pub issued_at: Option<DateTime<Utc>>,
    /// When it is due.
    #[serde(default)]
    pub due: Option<NaiveDate>,
    /// Its rate to the reporting currency, recorded at issue.
    #[serde(default)]
    pub exchange: Option<Exchange>,
    /// An invoice or a credit note.
    #[serde(default)]
    pub document: Document,
    /// For a credit note: the invoice it cancels.
    #[serde(default)]
    pub credits: Option<String>,
    /// For a credit note: why.
    #[serde(default)]
    pub reason: Option<String>,
    /// A note for the customer or the books.
    #[serde(default)]
    pub memo: Option<String>,
}

/// A line as the books read it (the fields are [`InvoiceLine`]'s).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LineFigures {
    /// The fee or charge key.
    pub key: String,
    /// The plan it was priced with.
    pub plan: PlanKey,
    /// What it bills for.
    pub kind: LineKind,
    /// The time it covers.
    pub service_period: Period,
    /// The group's values of a `group_by` charge.
    #[serde(default)]
    pub dimensions: Dimensions,
    /// The units priced.
    #[serde(default, with = "optional_decimal")]
    pub billable_quantity: Option<Decimal>,
    /// Its amount.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// Its name and unit price as composed.
    #[serde(default)]
    pub label: LabelFigures,
    /// Its tax, when the invoice rounds tax per line.
    #[serde(default, with = "optional_decimal")]
    pub tax: Option<Decimal>,
    /// Positions of its rates in the document's `tax.rates`.
    #[serde(default)]
    pub tax_rates: Vec<usize>,
    /// Its amount includes its tax.
    #[serde(default)]
    pub tax_inclusive: bool,
}

/// What the books read of a line's label (the fields are [`crate::LineLabel`]'s).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LabelFigures {
    /// The fee's or charge's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The price of one billable unit, for per-unit charges.
    #[serde(default, with = "optional_decimal")]
    pub unit_price: Option<Decimal>,
}

impl DocumentFigures {
    /// Whether it is a credit note.
    pub fn is_credit_note(&self) -> bool {
        self.document == Document::CreditNote
    }
}

impl From<&Invoice> for DocumentFigures {
    fn from(doc: &Invoice) -> DocumentFigures {
        DocumentFigures {
            id: doc.id.clone(),
            number: doc.number.clone(),
            customer: doc.customer.clone(),
            period: doc.period,
            currency: doc.currency,
            state: doc.state,
            lines: doc.lines.iter().map(LineFigures::from).collect(),
            total: doc.total,
            tax: doc.tax.clone(),
            issued_at: doc.issued_at,
            due: doc.due,
            exchange: doc.exchange.clone(),
            document: doc.document,
            credits: doc.credits.clone(),
            reason: doc.reason.clone(),
            memo: doc.memo.clone(),
        }
    }
}

impl From<&InvoiceLine> for LineFigures {
    fn from(line: &InvoiceLine) -> LineFigures {
        LineFigures {
            key: line.key.clone(),
            plan: line.plan.clone(),
            kind: line.kind,
            service_period: line.service_period,
            dimensions: line.dimensions.clone(),
            billable_quantity: line.billable_quantity,
            amount: line.amount,
            label: LabelFigures { name: line.label.name.clone(), unit_price: line.label.unit_price },
            tax: line.tax,
            tax_rates: line.tax_rates.clone(),
            tax_inclusive: line.tax_inclusive,
        }
    }
}

#[cfg(test)]
mod tests;
