//! Reading rates files: the European Central Bank's reference-rate CSV and a plain
//! `date,base,quote,rate` table, told apart by their header.
//!
//! The ECB publishes euro reference rates as `Date,USD,JPY,...` with one row per day
//! and one column per currency, each cell the units of that currency for 1 EUR
//! (`eurofxref-hist.csv`; the daily `eurofxref.csv` has the same shape with a space
//! after each comma and dates written `30 November 2026`); a currency not quoted that
//! day is `N/A` or empty, and lines end with a comma. Columns of codes ISO has
//! withdrawn (the historic file keeps CYP, SIT, ...) are skipped and named in
//! [`Loaded::skipped`]. The `csv` crate reads both layouts (quoting, ragged lines).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{ExchangeRate, FxError};
use crate::Currency;

/// What a file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Its rates, in file order.
    pub rates: Vec<ExchangeRate>,
    /// ECB columns skipped: codes that are not current ISO 4217 currencies.
    pub skipped: Vec<String>,
    /// `ecb` or `plain`.
    pub layout: &'static str,
}

/// The rates of a rates file (see the module docs); errors name the line and column.
pub fn parse(text: &str) -> Result<Loaded, FxError> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(row) => row.map_err(|e| bad(1, "header", e.to_string()))?,
        None => return Err(bad(1, "header", "the file is empty".into())),
    };
    let names: Vec<String> = header.iter().map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase()).collect();
    let plain = ["date", "base", "quote", "rate"];
    if names.len() >= 4 && names[..4] == plain {
        return plain_rows(records);
    }
    if names.first().map(String::as_str) == Some("date") && names.len() > 1 {
        return ecb_rows(&header, records);
    }
    Err(bad(
        1,
        "header",
        format!("{:?}: expected `date,base,quote,rate` or the ECB's `Date,USD,JPY,...`", header.as_slice()),
    ))
}

fn bad(line: u64, field: &str, reason: String) -> FxError {
    FxError::File { line, field: field.to_owned(), reason }
}

fn day(text: &str, line: u64, field: &str) -> Result<NaiveDate, FxError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d %B %Y"))
        .map_err(|_| bad(line, field, format!("{text:?} is not a date (2026-11-30 or 30 November 2026)")))
}

fn rate(text: &str, line: u64, field: &str) -> Result<Decimal, FxError> {
    let value: Decimal = text.parse().map_err(|_| bad(line, field, format!("{text:?} is not a decimal number")))?;
    if value <= Decimal::ZERO {
        return Err(bad(line, field, format!("{text}: a rate must be above zero")));
    }
    Ok(value.normalize())
}

fn currency(text: &str, line: u64, field: &str) -> Result<Currency, FxError> {
    text.parse().map_err(|e: crate::CurrencyError| bad(line, field, e.to_string()))
}

/// The rows after the header with their 1-based line numbers, blank rows left out.
fn data_rows<'r, 't>(
    records: csv::StringRecordsIter<'r, &'t [u8]>,
) -> impl Iterator<Item = Result<(u64, csv::StringRecord), FxError>> + use<'r, 't> {
    records.enumerate().filter_map(|(i, row)| {
        let line = i as u64 + 2;
        match row {
            Err(e) => Some(Err(bad(line, "row", e.to_string()))),
            Ok(row) if row.iter().all(str::is_empty) => None,
            Ok(row) => Some(Ok((line, row))),
        }
    })
}

fn plain_rows(records: csv::StringRecordsIter<'_, &[u8]>) -> Result<Loaded, FxError> {
    let mut rates = Vec::new();
    for row in data_rows(records) {
        let (line, row) = row?;
        let cell = |n: usize| row.get(n).unwrap_or("");
        let (base, quote) = (currency(cell(1), line, "base")?, currency(cell(2), line, "quote")?);
        if base == quote {
            return Err(bad(line, "quote", format!("{quote} is the base currency too")));
        }
        rates.push(ExchangeRate { day: day(cell(0), line, "date")?, base, quote, rate: rate(cell(3), line, "rate")? });
    }
    Ok(Loaded { rates, skipped: Vec::new(), layout: "plain" })
}

fn ecb_rows(header: &csv::StringRecord, records: csv::StringRecordsIter<'_, &[u8]>) -> Result<Loaded, FxError> {
    let eur = Currency::from_code("EUR").expect("EUR is a currency");
    let mut columns = Vec::new();
    let mut skipped = BTreeSet::new();
    for (n, code) in header.iter().enumerate().skip(1) {
        if code.is_empty() {
            continue;
        }
        match code.parse::<Currency>() {
            Ok(c) => columns.push((n, code.to_owned(), c)),
            Err(_) => {
                skipped.insert(code.to_owned());
            }
        }
    }
    let mut rates = Vec::new();
    for row in data_rows(records) {
        let (line, row) = row?;
        let on = day(row.get(0).unwrap_or(""), line, "Date")?;
        for (n, code, quote) in &columns {
            let text = row.get(*n).unwrap_or("");
            if text.is_empty() || text.eq_ignore_ascii_case("n/a") {
                continue;
            }
            rates.push(ExchangeRate { day: on, base: eur, quote: *quote, rate: rate(text, line, code)? });
        }
    }
    Ok(Loaded { rates, skipped: skipped.into_iter().collect(), layout: "ecb" })
}
