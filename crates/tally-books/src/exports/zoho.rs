//! Zoho Books (and Zoho Invoice): the invoice import (Sales > Invoices > Import
//! Invoices) and the credit note import (Sales > Credit Notes > Import).
//!
//! Zoho's knowledge base "How do I import invoices into Zoho Books?"
//! (<https://www.zoho.com/sa/books/kb/invoices/imp-inv.html>): CSV, TSV or XLS up to 10 MB; the invoice number repeats on each
//! of its lines; decimals written 1234567.89; the date format is picked per field when
//! importing (ISO order here unless `exports.date_order` says otherwise). Columns
//! follow the names of Zoho's sample file (as gathered in the project's notes on
//! accounting formats; Zoho maps any column by hand in its Map Fields step): `Invoice Number`, `Invoice Date`, `Invoice Status`,
//! `Customer Name`, `Payment Terms`, `Payment Terms Label`, `Due Date`,
//! `Currency Code`, `Exchange Rate`, `Account`, `Item Name`, `Item Desc`, `Quantity`,
//! `Usage unit`, `Item Price`, `Item Tax`, `Item Tax %`, `Is Inclusive Tax`.
//! `Exchange Rate` is the document's recorded rate to the reporting currency (set
//! `reporting.currency` to the organisation's base currency), empty when none was
//! recorded. Credit notes go in a file of their own with positive amounts, their
//! `Credit Note Number`, `Credit Note Date` and the credited invoice as `Reference#`
//! (names in the invoice sample's style: map them in Zoho's Map Fields step if its
//! credit note sample differs).

use super::{date, income_account, order, plain, CsvOut, Doc, Docs, Export, ExportOptions};
use crate::{BookLine, BooksError};

/// The invoice import's columns.
pub const INVOICE_HEADER: [&str; 19] = [
    "Invoice Number",
    "Invoice Date",
    "Invoice Status",
    "Customer Name",
    "Payment Terms",
    "Payment Terms Label",
    "Due Date",
    "Currency Code",
    "Exchange Rate",
    "Account",
    "Item Name",
    "Item Desc",
    "Quantity",
    "Usage unit",
    "Item Price",
    "Item Tax",
    "Item Tax %",
    "Is Inclusive Tax",
    "Notes",
];

/// The credit note import's columns.
pub const CREDIT_NOTE_HEADER: [&str; 15] = [
    "Credit Note Number",
    "Credit Note Date",
    "Customer Name",
    "Reference#",
    "Reason",
    "Currency Code",
    "Exchange Rate",
    "Account",
    "Item Name",
    "Item Desc",
    "Quantity",
    "Item Price",
    "Item Tax",
    "Item Tax %",
    "Is Inclusive Tax",
];

fn rate(doc: &Doc<'_>) -> String {
    doc.invoice.exchange.as_ref().map(|x| plain(x.rate)).unwrap_or_default()
}

fn tax(line: &BookLine) -> (String, String) {
    match &line.tax_rate {
        Some((name, rate)) => {
            (super::tax_code(line).unwrap_or_else(|| name.clone()), plain(*rate * rust_decimal::Decimal::ONE_HUNDRED))
        }
        None => (String::new(), String::new()),
    }
}

pub(super) fn write(docs: &Docs<'_>, options: &ExportOptions) -> Result<Export, BooksError> {
    let order = order(options, "ymd");
    let mut export = Export::default();
    let mut out = CsvOut::new("zoho-invoices.csv".into(), &INVOICE_HEADER)?;
    for doc in docs.invoices() {
        export.invoices += 1;
        for line in &doc.lines {
            let (tax_name, tax_percent) = tax(line);
            out.row([
                doc.number.clone(),
                date(doc.issued, order),
                "Sent".into(),
                doc.customer.clone(),
                (doc.due - doc.issued).num_days().to_string(),
                doc.terms(),
                date(doc.due, order),
                doc.invoice.currency.code().to_owned(),
                rate(doc),
                income_account(doc, line)?,
                line.item.clone(),
                line.description.clone(),
                plain(line.quantity),
                String::new(),
                plain(line.unit_price),
                tax_name,
                tax_percent,
                "false".into(),
                doc.invoice.memo.clone().unwrap_or_default(),
            ])?;
        }
    }
    export.files.push(out.finish()?);
    let mut out = CsvOut::new("zoho-credit-notes.csv".into(), &CREDIT_NOTE_HEADER)?;
    for doc in docs.credit_notes() {
        export.credit_notes += 1;
        for line in doc.lines.iter().map(BookLine::negated) {
            let (tax_name, tax_percent) = tax(&line);
            out.row([
                doc.number.clone(),
                date(doc.issued, order),
                doc.customer.clone(),
                doc.credits.clone().unwrap_or_default(),
                doc.invoice.reason.clone().unwrap_or_default(),
                doc.invoice.currency.code().to_owned(),
                rate(doc),
                income_account(doc, &line)?,
                line.item.clone(),
                line.description.clone(),
                plain(line.quantity),
                plain(line.unit_price),
                tax_name,
                tax_percent,
                "false".into(),
            ])?;
        }
    }
    if out.rows() > 0 {
        export.files.push(out.finish()?);
    }
    Ok(export)
}
