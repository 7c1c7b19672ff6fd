//! Loading history (issue 19): usage of past periods, from another billing system or a
//! producer that was down, brought in after the fact. Periods not invoiced yet need
//! nothing more: the next close bills them from the usage as it is. A period already
//! issued is never edited and never billed again as silent late usage: its invoice is
//! recomposed from the usage as it is now, and where that differs it is voided with a
//! credit note and a revision (oldest first), so the ledger moves what was paid to the
//! revision and the customer's balance is exactly what the usage says.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use tally_domain::{Catalog, CustomerId, Period};
use tally_invoicing::{Document, InvoiceState};
use tally_store::{AccountStore, InvoiceFilter, InvoiceStore, LedgerStore, UsageStore};

use crate::close::parse_record;
use crate::error::InvoicerError;
use crate::void::{recompose, void, Voided};

/// What correcting the issued periods did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Corrected {
    /// The invoices voided and revised (numbers: voided, credit note, revision).
    pub revised: Vec<Voided>,
    /// Issued invoices of the range whose usage did not change.
    pub unchanged: usize,
}

/// Recomposes every issued invoice of `customers` whose period overlaps `range` and
/// voids with a revision each that the usage as it is now changes, oldest first.
pub async fn correct_issued<S>(
    store: &S,
    catalog: &Catalog,
    customers: &BTreeSet<CustomerId>,
    range: Period,
    now: DateTime<Utc>,
    prefixes: (&str, &str),
    terms: crate::receivables::Terms,
) -> Result<Corrected, InvoicerError>
where
    S: UsageStore + AccountStore + InvoiceStore + LedgerStore + tally_store::RateStore,
{
    let mut issued = Vec::new();
    for customer in customers {
        let filter = InvoiceFilter {
            customer: Some(customer.clone()),
            state: Some(InvoiceState::Issued),
            ..InvoiceFilter::default()
        };
        for record in store.invoices(&filter).await? {
            let invoice = parse_record(&record)?;
            let overlaps = invoice.period.start() < range.end() && range.start() < invoice.period.end();
            if invoice.document == Document::Invoice && overlaps {
                issued.push(invoice);
            }
        }
    }
    issued.sort_by(|a, b| (a.period.start(), &a.id).cmp(&(b.period.start(), &b.id)));
    let mut corrected = Corrected::default();
    for original in issued {
        let revised = recompose(store, catalog, &original, now, terms, None).await?;
        // What the lines bill, not how they are named (labels of older invoices differ).
        if revised.total == original.total && billed(&revised) == billed(&original) {
            corrected.unchanged += 1;
            continue;
        }
        corrected.revised.push(void(store, catalog, &original.id, true, now, prefixes, terms).await?);
    }
    Ok(corrected)
}

/// What an invoice's lines bill, without their labels.
fn billed(invoice: &tally_invoicing::Invoice) -> Vec<BilledLine<'_>> {
    invoice
        .lines
        .iter()
        .map(|l| (&l.key, &l.plan, l.kind, l.service_period, &l.dimensions, l.quantity, l.amount))
        .collect()
}

type BilledLine<'a> = (
    &'a String,
    &'a tally_domain::PlanKey,
    tally_invoicing::LineKind,
    Period,
    &'a tally_domain::Dimensions,
    Option<rust_decimal::Decimal>,
    rust_decimal::Decimal,
);
