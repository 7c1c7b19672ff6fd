//! Rates files and conversions worked by hand (the rates are samples, not ECB figures).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::file::parse;
use super::{FxError, RateBook};
use crate::Currency;

fn c(code: &str) -> Currency {
    code.parse().unwrap()
}

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// The ECB's historic layout: newest first, N/A cells, a withdrawn code, a trailing comma.
const HIST: &str = "Date,USD,JPY,CYP,GBP,\n2026-11-30,1.0512,160.12,N/A,0.8321,\n2026-11-27,1.0550,158.20,N/A,N/A,\n";

#[test]
fn the_ecb_history_file_gives_eur_rates_and_skips_withdrawn_codes() {
    let loaded = parse(HIST).unwrap();
    assert_eq!(loaded.layout, "ecb");
    assert_eq!(loaded.skipped, vec!["CYP".to_owned()]);
    let seen: Vec<(String, String, String)> =
        loaded.rates.iter().map(|r| (r.day.to_string(), r.quote.code().to_owned(), r.rate.to_string())).collect();
    let want = [
        ("2026-11-30", "USD", "1.0512"),
        ("2026-11-30", "JPY", "160.12"),
        ("2026-11-30", "GBP", "0.8321"),
        ("2026-11-27", "USD", "1.055"),
        ("2026-11-27", "JPY", "158.2"),
    ];
    assert_eq!(seen, want.map(|(a, b, r)| (a.to_owned(), b.to_owned(), r.to_owned())));
    assert!(loaded.rates.iter().all(|r| r.base == c("EUR")));
}

#[test]
fn the_ecb_daily_file_has_spaces_and_written_dates() {
    let loaded = parse("Date, USD, JPY, \n30 November 2026, 1.0512, 160.12, \n").unwrap();
    assert_eq!(loaded.rates.len(), 2);
    assert_eq!(loaded.rates[1].day, d("2026-11-30"));
    assert_eq!(loaded.rates[1].rate, dec("160.12"));
}

#[test]
fn the_plain_layout_reads_any_pair() {
    let loaded = parse("date,base,quote,rate\n2026-11-30,USD,JPY,152.31\n\n2026-11-30,GBP,USD,1.2633\n").unwrap();
    assert_eq!(loaded.layout, "plain");
    assert_eq!(loaded.rates.len(), 2);
    assert_eq!((loaded.rates[1].base, loaded.rates[1].quote), (c("GBP"), c("USD")));
}

#[test]
fn a_bad_file_names_the_line_and_the_column() {
    let err = |text: &str| match parse(text) {
        Err(FxError::File { line, field, reason }) => (line, field, reason),
        other => panic!("{other:?}"),
    };
    assert_eq!(err("date,base,quote,rate\n2026-11-30,USD,JPY,-1\n").0, 2);
    let (line, field, _) = err("date,base,quote,rate\n2026-11-30,USD,JPY,1\n2026-11-31,USD,JPY,1\n");
    assert_eq!((line, field.as_str()), (3, "date"));
    let (line, field, reason) = err("Date,USD\n2026-11-30,one\n");
    assert_eq!((line, field.as_str()), (2, "USD"));
    assert!(reason.contains("\"one\""), "{reason}");
    assert_eq!(err("date,base,quote,rate\n2026-11-30,USD,XXY,1\n").1, "quote");
    assert_eq!(err("when,rate\n").1, "header");
    assert_eq!(err("").1, "header");
}

#[test]
fn a_conversion_takes_the_day_or_the_latest_before_it_within_the_age_allowed() {
    let book = RateBook::new(parse(HIST).unwrap().rates);
    // EUR to USD on the day: the published rate.
    let x = book.exchange(c("EUR"), c("USD"), d("2026-11-30"), 7).unwrap();
    assert_eq!((x.rate, x.on, x.how.as_str()), (dec("1.0512"), d("2026-11-30"), "direct"));
    // Sunday 29 November: Friday's rate.
    let x = book.exchange(c("EUR"), c("USD"), d("2026-11-29"), 7).unwrap();
    assert_eq!((x.rate, x.on), (dec("1.055"), d("2026-11-27")));
    // Too old, and before any rate: errors naming the pair and day, never 1.
    let missing = book.exchange(c("EUR"), c("USD"), d("2026-12-08"), 7).unwrap_err();
    assert_eq!(missing, FxError::Missing { from: c("EUR"), to: c("USD"), day: d("2026-12-08"), max_age_days: 7 });
    assert!(missing.to_string().contains("from EUR to USD on 2026-12-08"), "{missing}");
    assert!(book.exchange(c("EUR"), c("USD"), d("2026-11-26"), 7).is_err());
    // A currency the book has no rates for at all.
    assert!(book.exchange(c("CHF"), c("EUR"), d("2026-11-30"), 7).is_err());
}

#[test]
fn inverse_and_cross_rates_are_derived_to_ten_places() {
    let book = RateBook::new(parse(HIST).unwrap().rates);
    // 1 USD in EUR: 1 / 1.0512 = 0.95129375951293...
    let x = book.exchange(c("USD"), c("EUR"), d("2026-11-30"), 7).unwrap();
    assert_eq!((x.rate, x.how.as_str()), (dec("0.9512937595"), "inverse"));
    // 1 USD in JPY through EUR: 160.12 / 1.0512 = 152.32115677321...
    let x = book.exchange(c("USD"), c("JPY"), d("2026-11-30"), 7).unwrap();
    assert_eq!((x.rate, x.how.as_str()), (dec("152.3211567732"), "cross:EUR"));
    // 1 JPY in EUR on Friday: 1 / 158.20 = 0.0063211125158...
    let x = book.exchange(c("JPY"), c("EUR"), d("2026-11-27"), 0).unwrap();
    assert_eq!(x.rate, dec("0.0063211125"));
    // GBP was not quoted on Friday: no rate that day, Monday's is too new.
    assert!(book.exchange(c("GBP"), c("EUR"), d("2026-11-27"), 7).is_err());
    // Converting rounds to the reporting currency's minor unit, half away from zero.
    let x = book.exchange(c("USD"), c("JPY"), d("2026-11-30"), 7).unwrap();
    assert_eq!(x.convert(dec("1234.56")), dec("188050")); // 1234.56 x 152.3211567732 = 188049.607...
    assert_eq!(book.exchange(c("EUR"), c("EUR"), d("2030-01-01"), 0).unwrap().rate, Decimal::ONE);
}
