//! QuickBooks Online: the invoice import (Settings > Import data > Invoices).
//!
//! Intuit's help article "Import invoices in batches"
//! (<https://quickbooks.intuit.com/learn-support/en-ca/help-articles/import-invoices-in-batches/01/338729>)
//! and its community answer listing the columns QuickBooks maps by name
//! (<https://quickbooks.intuit.com/learn-support/en-ca/sales-and-invoicing/do-we-need-to-map-field-everytime-when-import-invoices/01/394876>):
//! `Invoice number`, `Customer`, `Invoice date`, `Due date` and `Item Amount` are
//! required; `Terms`, `Service Date`, `Item (Product/Service)`, `Item Description`,
//! `Item Quantity`, `Item Rate`, `Item tax code` and `Memo` are optional. One row per
//! line item, the invoice's fields repeated on each; the date format is chosen when
//! importing (month first by default here). At most 100 invoices per file, so larger
//! exports are split into numbered files of whole invoices. The import takes no credit
//! memos: credit notes are left out and named in the notes (enter them as credit memos,
//! or use the IIF export for QuickBooks Desktop).

use super::{date, order, plain, tax_code, CsvOut, Docs, Export, ExportOptions};
use crate::BooksError;

/// Invoices QuickBooks Online imports from one file.
pub const INVOICES_PER_FILE: usize = 100;

/// The header, exactly as QuickBooks maps it.
pub const HEADER: [&str; 13] = [
    "Invoice number",
    "Customer",
    "Invoice date",
    "Due date",
    "Terms",
    "Service Date",
    "Item (Product/Service)",
    "Item Description",
    "Item Quantity",
    "Item Rate",
    "Item Amount",
    "Item tax code",
    "Memo",
];

pub(super) fn write(docs: &Docs<'_>, options: &ExportOptions) -> Result<Export, BooksError> {
    let order = order(options, "mdy");
    let invoices: Vec<_> = docs.invoices().collect();
    let chunks: Vec<_> = invoices.chunks(INVOICES_PER_FILE).collect();
    let mut export = Export { invoices: invoices.len(), ..Export::default() };
    for (n, chunk) in chunks.iter().enumerate() {
        let name = if chunks.len() == 1 {
            "quickbooks-invoices.csv".to_owned()
        } else {
            format!("quickbooks-invoices-{:03}.csv", n + 1)
        };
        let mut out = CsvOut::new(name, &HEADER)?;
        for doc in chunk.iter() {
            for line in &doc.lines {
                out.row([
                    doc.number.clone(),
                    doc.customer.clone(),
                    date(doc.issued, order),
                    date(doc.due, order),
                    doc.terms(),
                    date(line.service_date, order),
                    line.item.clone(),
                    line.description.clone(),
                    plain(line.quantity),
                    plain(line.unit_price),
                    doc.money(line.net),
                    tax_code(line).unwrap_or_default(),
                    doc.invoice.memo.clone().unwrap_or_default(),
                ])?;
            }
        }
        export.files.push(out.finish()?);
    }
    if chunks.len() > 1 {
        export.notes.push(format!(
            "{} invoices in {} files of at most {INVOICES_PER_FILE}: import them one at a time",
            invoices.len(),
            chunks.len()
        ));
    }
    let notes: Vec<String> = docs.credit_notes().map(|d| d.number.clone()).collect();
    if !notes.is_empty() {
        export.notes.push(format!(
            "QuickBooks Online's invoice import takes no credit memos: enter these {} as credit memos by hand, \
             or import the IIF export into QuickBooks Desktop: {}",
            notes.len(),
            notes.join(", ")
        ));
    }
    let currencies: std::collections::BTreeSet<&str> = invoices.iter().map(|d| d.invoice.currency.code()).collect();
    if currencies.len() > 1 {
        export.notes.push(format!(
            "invoices in {}: QuickBooks bills each customer in the customer's own currency, so set it on each customer first",
            currencies.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(export)
}
