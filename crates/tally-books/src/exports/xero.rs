//! Xero: the sales invoice import (Business > Invoices > Import) and the credit note
//! import (Business > Invoices > Credit notes > Import).
//!
//! Xero's help "Import sales invoices" and its template, as quoted by accountants'
//! guides (<https://online.flippingbook.com/view/399081/31/>,
//! <https://xero-help.caltrix.asia/en/articles/12528333-how-to-import-sales-invoice-into-xero>;
//! Xero's own page was not in reach): required columns are marked with an asterisk in the template's
//! headings (`*ContactName`, `*InvoiceNumber`, `*InvoiceDate`, `*DueDate`,
//! `*Description`, `*Quantity`, `*UnitAmount`, `*AccountCode`, `*TaxType`), kept as
//! they are; the invoice number repeats on every line of an invoice; dates follow the
//! organisation's region (day first here unless `exports.date_order` says otherwise);
//! every amount in a file is tax exclusive or every one inclusive (chosen when
//! importing: these are exclusive), `TaxType` is the tax rate's display name in that
//! organisation (the catalog's `tax_code`), and a file holds at most 500 invoices.
//! Credit notes use the same template with `*CreditNoteNumber` and `*CreditNoteDate`,
//! positive amounts, and go in a file of their own
//! (<https://spreadsheetbroccoli.com/platforms/xero/import-credit-note-guide>, a
//! third party's guide: confirm against the template Xero offers for download).

use super::{date, income_account, order, plain, unmapped, CsvOut, Doc, Docs, Export, ExportOptions};
use crate::BooksError;

/// Invoices Xero imports from one file.
pub const INVOICES_PER_FILE: usize = 500;

/// The sales invoice template's headings used.
pub const INVOICE_HEADER: [&str; 14] = [
    "*ContactName",
    "EmailAddress",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "Currency",
];

/// The credit note template's headings used.
pub const CREDIT_NOTE_HEADER: [&str; 12] = [
    "*ContactName",
    "EmailAddress",
    "*CreditNoteNumber",
    "Reference",
    "*CreditNoteDate",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "Currency",
];

pub(super) fn write(docs: &Docs<'_>, options: &ExportOptions) -> Result<Export, BooksError> {
    let order = order(options, "dmy");
    let mut export = Export::default();
    let invoices: Vec<&Doc<'_>> = docs.invoices().collect();
    let chunks: Vec<_> = invoices.chunks(INVOICES_PER_FILE).collect();
    for (n, chunk) in chunks.iter().enumerate() {
        let name =
            if chunks.len() == 1 { "xero-invoices.csv".to_owned() } else { format!("xero-invoices-{:03}.csv", n + 1) };
        let mut out = CsvOut::new(name, &INVOICE_HEADER)?;
        for doc in chunk.iter() {
            for line in &doc.lines {
                let tax_type = super::tax_code(line).ok_or_else(|| unmapped(doc, line, "tax_code"))?;
                out.row([
                    doc.customer.clone(),
                    doc.email.clone(),
                    doc.number.clone(),
                    doc.invoice.memo.clone().unwrap_or_default(),
                    date(doc.issued, order),
                    date(doc.due, order),
                    String::new(),
                    line.description.clone(),
                    plain(line.quantity),
                    plain(line.unit_price),
                    income_account(doc, line)?,
                    tax_type,
                    line.tax.map(|t| doc.money(t)).unwrap_or_default(),
                    doc.invoice.currency.code().to_owned(),
                ])?;
            }
        }
        export.files.push(out.finish()?);
    }
    export.invoices = invoices.len();
    let mut out = CsvOut::new("xero-credit-notes.csv".into(), &CREDIT_NOTE_HEADER)?;
    for doc in docs.credit_notes() {
        export.credit_notes += 1;
        for line in doc.lines.iter().map(crate::BookLine::negated) {
            let tax_type = super::tax_code(&line).ok_or_else(|| unmapped(doc, &line, "tax_code"))?;
            out.row([
                doc.customer.clone(),
                doc.email.clone(),
                doc.number.clone(),
                doc.credits.clone().unwrap_or_default(),
                date(doc.issued, order),
                line.description.clone(),
                plain(line.quantity),
                plain(line.unit_price),
                income_account(doc, &line)?,
                tax_type,
                line.tax.map(|t| doc.money(t)).unwrap_or_default(),
                doc.invoice.currency.code().to_owned(),
            ])?;
        }
    }
    if out.rows() > 0 {
        export.files.push(out.finish()?);
        export.notes.push(
            "import xero-credit-notes.csv from Invoices > Credit notes > Import; amounts are positive, as Xero wants"
                .into(),
        );
    }
    export.notes.push("choose \"Tax exclusive\" when importing: every UnitAmount is before tax".into());
    Ok(export)
}
