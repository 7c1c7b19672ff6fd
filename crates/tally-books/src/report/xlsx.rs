//! The report as an Excel workbook, written with `rust_xlsxwriter` (a well-kept,
//! dependency-light writer of the Office Open XML format, chosen over hand-written
//! XML and over the heavier umya-spreadsheet): one sheet per table, headings bold and
//! frozen, amounts as numbers with their currency's format (`#,##0.00 "USD"`,
//! `#,##0 "JPY"`), dates as dates, counts as numbers. Amounts are handed over as
//! `Decimal` (the crate's `rust_decimal` feature); Excel itself keeps numbers as
//! doubles, which is exact to the cent far beyond any invoice.

use std::collections::HashMap;

use rust_xlsxwriter::{Format, Workbook};

use super::tables::{all, Cell};
use super::Report;
use crate::BooksError;

/// The workbook's bytes.
pub fn workbook(report: &Report) -> Result<Vec<u8>, BooksError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let rate = Format::new().set_num_format("0.0000######");
    let mut money: HashMap<&'static str, Format> = HashMap::new();
    for table in all(report) {
        let sheet = book.add_worksheet();
        sheet.set_name(table.title)?;
        for (c, heading) in table.columns.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, heading, &bold)?;
            sheet.set_column_width(c as u16, (heading.chars().count() as f64 + 4.0).max(12.0))?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (r, row) in table.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(t) => {
                        sheet.write_string(r, c, t)?;
                    }
                    Cell::Date(d) => {
                        sheet.write_date_with_format(r, c, *d, &date)?;
                    }
                    Cell::Count(n) => {
                        sheet.write_number(r, c, *n as f64)?;
                    }
                    Cell::Money(amount, currency) => {
                        let format = money.entry(currency.code()).or_insert_with(|| {
                            let decimals = currency.minor_units() as usize;
                            let pattern = if decimals == 0 {
                                format!("#,##0 \"{}\"", currency.code())
                            } else {
                                format!("#,##0.{} \"{}\"", "0".repeat(decimals), currency.code())
                            };
                            Format::new().set_num_format(pattern)
                        });
                        sheet.write_with_format(r, c, *amount, format)?;
                    }
                    Cell::Number(n) => {
                        sheet.write_with_format(r, c, *n, &rate)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
    }
    Ok(book.save_to_buffer()?)
}
