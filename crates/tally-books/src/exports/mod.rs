//! Import files for accounting software, one module per tool, each citing the vendor
//! page its columns and rules come from. Every export takes the documents issued in a
//! range and gives one or more files (a tool that imports credit notes separately gets
//! a file of its own) and notes for the person importing (what the file leaves out
//! and why). Files are written with the `csv` crate (quoting, line ends) except IIF,
//! which is tab-separated text without quoting.

mod freshbooks;
mod iif;
mod quickbooks;
mod xero;
mod zoho;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use tally_domain::Currency;
use tally_invoicing::DocumentFigures;

use crate::{BookLine, BooksError, Source};

/// The accounting tools Tally writes import files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// QuickBooks Online's invoice import (CSV).
    QuickBooks,
    /// QuickBooks Desktop's Intuit Interchange Format.
    Iif,
    /// Xero's sales invoice and credit note imports (CSV).
    Xero,
    /// Zoho Books' (and Zoho Invoice's) invoice and credit note imports (CSV).
    Zoho,
    /// FreshBooks' clients import (CSV) and invoice bodies for its API (JSON).
    FreshBooks,
}

impl Format {
    /// Every format with its name on the command line and in the API.
    pub const ALL: [(Format, &'static str); 5] = [
        (Format::QuickBooks, "quickbooks"),
        (Format::Iif, "iif"),
        (Format::Xero, "xero"),
        (Format::Zoho, "zoho"),
        (Format::FreshBooks, "freshbooks"),
    ];

    /// The format named `name`.
    pub fn named(name: &str) -> Option<Format> {
        Format::ALL.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }
}

/// How the files are written (`[exports]` of the settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// `mdy`, `dmy`, `ymd`, or empty for each tool's usual order.
    pub date_order: String,
    /// The IIF receivables account.
    pub receivable_account: String,
    /// The IIF account payments are deposited to.
    pub deposit_account: String,
    /// The IIF account tax is posted to.
    pub tax_account: String,
    /// Only documents (and payments) in this currency.
    pub currency: Option<Currency>,
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportFile {
    /// Its file name (`xero-invoices.csv`).
    pub name: String,
    /// `text/csv`, `text/plain` (IIF) or `application/json`.
    pub media_type: &'static str,
    /// Its text.
    pub content: String,
}

/// What an export gives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Export {
    /// The files, in the order to import them.
    pub files: Vec<ExportFile>,
    /// What the person importing must know.
    pub notes: Vec<String>,
    /// Invoices written.
    pub invoices: usize,
    /// Credit notes written.
    pub credit_notes: usize,
    /// Payments written.
    pub payments: usize,
}

/// The import files of `format` for what `source` holds.
pub fn export(format: Format, source: &Source<'_>, options: &ExportOptions) -> Result<Export, BooksError> {
    let docs = Docs::of(source, options)?;
    match format {
        Format::QuickBooks => quickbooks::write(&docs, options),
        Format::Iif => iif::write(&docs, source, options),
        Format::Xero => xero::write(&docs, options),
        Format::Zoho => zoho::write(&docs, options),
        Format::FreshBooks => freshbooks::write(&docs, source),
    }
}

/// A document with what every format needs of it.
pub(crate) struct Doc<'d> {
    pub invoice: &'d DocumentFigures,
    pub number: String,
    pub customer: String,
    pub email: String,
    pub issued: NaiveDate,
    pub due: NaiveDate,
    pub lines: Vec<BookLine>,
    /// For a credit note, the number of the invoice it credits.
    pub credits: Option<String>,
}

impl Doc<'_> {
    /// "Net 30": the days from issue to due.
    pub fn terms(&self) -> String {
        format!("Net {}", (self.due - self.issued).num_days())
    }

    pub fn is_credit_note(&self) -> bool {
        self.invoice.is_credit_note()
    }

    /// An amount in the document's currency, with its minor unit's decimals.
    pub fn money(&self, amount: Decimal) -> String {
        self.invoice.currency.show(amount)
    }
}

/// Documents in export order, with their customers' names.
pub(crate) struct Docs<'d> {
    pub all: Vec<Doc<'d>>,
}

impl<'d> Docs<'d> {
    fn of(source: &'d Source<'_>, options: &ExportOptions) -> Result<Docs<'d>, BooksError> {
        let numbers = source.numbers();
        let mut all = Vec::new();
        for invoice in &source.documents {
            if options.currency.is_some_and(|c| c != invoice.currency) {
                continue;
            }
            let (Some(number), Some(issued_at)) = (invoice.number.clone(), invoice.issued_at) else { continue };
            let account = source.customers.get(&invoice.customer).ok_or_else(|| BooksError::NoCustomer {
                document: number.clone(),
                customer: invoice.customer.to_string(),
            })?;
            let issued = issued_at.date_naive();
            let email = account.profile.email.clone().unwrap_or_default();
            let credits = numbers.credited(invoice);
            all.push(Doc {
                invoice,
                customer: account.name(),
                email,
                issued,
                due: invoice.due.unwrap_or(issued),
                lines: BookLine::of(invoice, source.catalog),
                credits,
                number,
            });
        }
        Ok(Docs { all })
    }

    pub fn invoices(&self) -> impl Iterator<Item = &Doc<'d>> {
        self.all.iter().filter(|d| !d.is_credit_note())
    }

    pub fn credit_notes(&self) -> impl Iterator<Item = &Doc<'d>> {
        self.all.iter().filter(|d| d.is_credit_note())
    }
}

/// A quantity or unit price as plain decimal text, no exponent, no trailing zeros.
pub(crate) fn plain(value: Decimal) -> String {
    value.normalize().to_string()
}

/// `day` in `order` (`mdy` 11/30/2026, `dmy` 30/11/2026, `ymd` 2026-11-30).
pub(crate) fn date(day: NaiveDate, order: &str) -> String {
    use chrono::Datelike;
    // Written out rather than through `format("%m/%d/%Y")`, which parses its pattern on
    // every call (a month's export writes a few million dates).
    let (y, m, d) = (day.year(), day.month(), day.day());
    match order {
        "mdy" => format!("{m:02}/{d:02}/{y:04}"),
        "dmy" => format!("{d:02}/{m:02}/{y:04}"),
        _ => format!("{y:04}-{m:02}-{d:02}"),
    }
}

/// The order of `options`, or `usual` when it names none.
pub(crate) fn order<'o>(options: &'o ExportOptions, usual: &'o str) -> &'o str {
    if options.date_order.is_empty() {
        usual
    } else {
        &options.date_order
    }
}

/// A CSV file written a row at a time, so a month of lines is never held as rows of
/// strings before it is written.
pub(crate) struct CsvOut {
    name: String,
    writer: csv::Writer<Vec<u8>>,
    rows: usize,
}

impl CsvOut {
    /// A file `name` beginning with `header`.
    pub fn new(name: String, header: &[&str]) -> Result<CsvOut, BooksError> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(header)?;
        Ok(CsvOut { name, writer, rows: 0 })
    }

    /// Writes one row.
    pub fn row<const N: usize>(&mut self, fields: [String; N]) -> Result<(), BooksError> {
        self.rows += 1;
        Ok(self.writer.write_record(&fields)?)
    }

    /// How many rows were written (the header aside).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The file.
    pub fn finish(self) -> Result<ExportFile, BooksError> {
        let bytes = self.writer.into_inner().map_err(|e| BooksError::Csv(e.into_error().into()))?;
        // Every field written was a `String`: the bytes are UTF-8.
        let content = String::from_utf8(bytes).map_err(|e| BooksError::Unsupported(format!("{}: {e}", self.name)))?;
        Ok(ExportFile { name: self.name, media_type: "text/csv", content })
    }
}

/// The line's account, or the error naming what to set.
pub(crate) fn income_account(doc: &Doc<'_>, line: &BookLine) -> Result<String, BooksError> {
    line.accounting.income_account.clone().ok_or_else(|| unmapped(doc, line, "income_account"))
}

pub(crate) fn unmapped(doc: &Doc<'_>, line: &BookLine, field: &'static str) -> BooksError {
    BooksError::Unmapped { document: doc.number.clone(), plan: line.plan.clone(), key: line.key.clone(), field }
}

/// The line's tax code: the catalog's, else the names of its tax rates.
pub(crate) fn tax_code(line: &BookLine) -> Option<String> {
    line.accounting.tax_code.clone().or_else(|| line.tax_rate.as_ref().map(|(name, _)| name.clone()))
}

#[cfg(test)]
mod tests {
    use super::date;

    #[test]
    fn dates_in_each_order_match_chronos_formatting() {
        let mut day: chrono::NaiveDate = "1999-12-25".parse().unwrap();
        for _ in 0..800 {
            for (order, pattern) in [("mdy", "%m/%d/%Y"), ("dmy", "%d/%m/%Y"), ("ymd", "%Y-%m-%d"), ("", "%Y-%m-%d")] {
                assert_eq!(date(day, order), day.format(pattern).to_string(), "{day} {order}");
            }
            day += chrono::TimeDelta::days(37);
        }
    }
}
