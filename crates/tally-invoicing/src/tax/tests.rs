//! Worked tax cases, each total computed by hand in the comments.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tally_domain::{Catalog, CustomerId, Dimensions, Period, PlanKey, SubscriptionId};

use super::*;
use crate::model::{Document, Invoice, InvoiceLine, InvoiceState, LineKind};

/// The taxed example catalog of the user docs: EU VAT 19% and 7% (`reduced`), California
/// 7.25%, Japan 10% on a tax-inclusive JPY plan, rounded per line.
const CATALOG: &str = include_str!("../../../../docs/examples/taxed-catalog.toml");

fn catalog(rounding: &str) -> Catalog {
    let text = CATALOG.replace("rounding = \"per_line\"", &format!("rounding = \"{rounding}\""));
    Catalog::from_toml_str(&text, "taxed-catalog.toml").unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn profile(pairs: &[(&str, &str)]) -> BillingProfile {
    let details: BTreeMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    BillingProfile::of(&details).unwrap()
}

/// An invoice of `plan` with lines (key, gpu type or "", amount).
fn invoice(plan: &str, currency: &str, lines: &[(&str, &str, &str)]) -> Invoice {
    let period = Period::new("2026-11-01T00:00:00Z".parse().unwrap(), "2026-12-01T00:00:00Z".parse().unwrap()).unwrap();
    let mut invoice = Invoice::late_shell(
        &tally_domain::Customer {
            id: CustomerId::new("c"),
            name: "C".into(),
            currency: currency.parse().unwrap(),
            timezone: chrono_tz::UTC,
            billing_details: BTreeMap::new(),
        },
        &SubscriptionId::new("s"),
        period,
    );
    invoice.late_only = false;
    invoice.memo = None;
    invoice.state = InvoiceState::Issued;
    invoice.lines = lines
        .iter()
        .map(|(key, gpu, amount)| {
            let mut dimensions = Dimensions::new();
            if !gpu.is_empty() {
                dimensions.insert("gpu_type".to_owned(), (*gpu).to_owned());
            }
            InvoiceLine {
                key: (*key).to_owned(),
                plan: PlanKey::new(plan),
                kind: if *key == "gpu" { LineKind::Usage } else { LineKind::Fee },
                service_period: period,
                dimensions,
                quantity: None,
                billable_quantity: None,
                tiers: Vec::new(),
                amount: d(amount),
                label: Default::default(),
                tax: None,
                tax_rates: Vec::new(),
                tax_inclusive: false,
            }
        })
        .collect();
    invoice
}

fn eu_invoice() -> Invoice {
    invoice(
        "eu",
        "EUR",
        &[("platform", "", "49.00"), ("gpu", "h100", "30.55"), ("gpu", "a100", "30.55"), ("handbook", "", "10.00")],
    )
}

/// (name, rate, base, tax) per rate, then (subtotal, tax, total).
fn totals(invoice: &Invoice) -> (Vec<(String, String, String, String)>, (String, String, String)) {
    let tax = invoice.tax.as_ref().unwrap();
    let rates =
        tax.rates.iter().map(|r| (r.name.clone(), r.rate.to_string(), r.base.to_string(), r.tax.to_string())).collect();
    (rates, (tax.subtotal.to_string(), tax.tax.to_string(), invoice.total.to_string()))
}

fn rate(name: &str, rate: &str, base: &str, tax: &str) -> (String, String, String, String) {
    (name.to_owned(), rate.to_owned(), base.to_owned(), tax.to_owned())
}

fn sums(subtotal: &str, tax: &str, total: &str) -> (String, String, String) {
    (subtotal.to_owned(), tax.to_owned(), total.to_owned())
}

#[test]
fn eu_vat_19_percent_exclusive_rounded_per_line() {
    let mut inv = eu_invoice();
    settle(&mut inv, &catalog("per_line"), &profile(&[("country", "DE")]));
    // 49.00 * 0.19 = 9.31; 30.55 * 0.19 = 5.8045 -> 5.80, twice; 10.00 * 0.07 = 0.70.
    let line_tax: Vec<String> = inv.lines.iter().map(|l| l.tax.unwrap().to_string()).collect();
    assert_eq!(line_tax, ["9.31", "5.80", "5.80", "0.70"]);
    // 19%: base 49.00 + 30.55 + 30.55 = 110.10, tax 9.31 + 5.80 + 5.80 = 20.91.
    // Subtotal 120.10, tax 21.61, total 141.71.
    assert_eq!(
        totals(&inv),
        (
            vec![rate("VAT", "0.19", "110.10", "20.91"), rate("VAT", "0.07", "10.00", "0.70")],
            sums("120.10", "21.61", "141.71")
        )
    );
    assert_eq!(inv.tax.as_ref().unwrap().rates[0].jurisdiction, "DE");
    assert_eq!(inv.tax.as_ref().unwrap().note, None);
}

#[test]
fn rounding_once_per_rate_gives_the_invoice_rounding_total() {
    let mut inv = eu_invoice();
    settle(&mut inv, &catalog("per_invoice"), &profile(&[("country", "DE")]));
    // 110.10 * 0.19 = 20.919 -> 20.92 (per line it was 20.91); 10.00 * 0.07 = 0.70.
    assert!(inv.lines.iter().all(|l| l.tax.is_none()));
    assert_eq!(
        totals(&inv),
        (
            vec![rate("VAT", "0.19", "110.10", "20.92"), rate("VAT", "0.07", "10.00", "0.70")],
            sums("120.10", "21.62", "141.72")
        )
    );
}

#[test]
fn japan_10_percent_included_in_prices_rounded_once_per_invoice() {
    let mut inv = invoice("jp", "JPY", &[("platform", "", "11000"), ("gpu", "h100", "2348"), ("gpu", "a100", "1237")]);
    settle(&mut inv, &catalog("per_invoice"), &profile(&[("country", "JP"), ("locale", "ja-JP")]));
    // Gross 11000 + 2348 + 1237 = 14585; tax 14585 * 0.10 / 1.10 = 1325.909... -> 1326
    // (per line it would be 1000 + 213 + 112 = 1325). The total stays 14585, net 13259.
    assert_eq!(totals(&inv), (vec![rate("消費税", "0.10", "13259", "1326")], sums("13259", "1326", "14585")));
    assert!(inv.lines.iter().all(|l| l.tax_inclusive));
}

#[test]
fn a_us_state_sales_tax_applies_in_its_state_only() {
    let mut inv = invoice("us", "USD", &[("platform", "", "49.00"), ("gpu", "", "30.55")]);
    settle(&mut inv, &catalog("per_line"), &profile(&[("country", "US"), ("region", "CA")]));
    // 49.00 * 0.0725 = 3.5525 -> 3.55; 30.55 * 0.0725 = 2.214875 -> 2.21; 79.55 + 5.76 = 85.31.
    assert_eq!(totals(&inv), (vec![rate("Sales tax", "0.0725", "79.55", "5.76")], sums("79.55", "5.76", "85.31")));
    assert_eq!(inv.tax.as_ref().unwrap().rates[0].jurisdiction, "US-CA");
    let mut ny = invoice("us", "USD", &[("platform", "", "49.00"), ("gpu", "", "30.55")]);
    settle(&mut ny, &catalog("per_line"), &profile(&[("country", "US"), ("region", "NY")]));
    assert_eq!(totals(&ny), (vec![], sums("79.55", "0", "79.55")));
}

#[test]
fn an_exempt_customer_pays_no_tax_and_the_invoice_says_why() {
    let mut inv = eu_invoice();
    settle(&mut inv, &catalog("per_line"), &profile(&[("country", "DE"), ("tax_status", "exempt")]));
    assert_eq!(totals(&inv), (vec![], sums("120.10", "0", "120.10")));
    assert_eq!(inv.tax.as_ref().unwrap().note.as_deref(), Some("Exempt from tax"));
}

#[test]
fn a_reverse_charge_customer_pays_no_vat_and_the_invoice_carries_the_note() {
    let mut inv = eu_invoice();
    let who = profile(&[("country", "FR"), ("tax_status", "reverse_charge"), ("tax_id", "FR40303265045")]);
    settle(&mut inv, &catalog("per_line"), &who);
    assert_eq!(totals(&inv), (vec![], sums("120.10", "0", "120.10")));
    assert_eq!(inv.tax.as_ref().unwrap().note.as_deref(), Some(REVERSE_CHARGE_NOTE));
    assert_eq!(inv.tax.as_ref().unwrap().treatment, TaxStatus::ReverseCharge);
    // A reverse charge without the customer's VAT number is refused when it is stored.
    let details = BTreeMap::from([("tax_status".to_owned(), "reverse_charge".to_owned())]);
    assert!(BillingProfile::of(&details).unwrap_err().to_string().contains("billing_details.tax_id"));
}

#[test]
fn a_credit_note_of_a_taxed_invoice_reverses_its_tax_to_the_cent() {
    for rounding in ["per_line", "per_invoice"] {
        let mut inv = eu_invoice();
        settle(&mut inv, &catalog(rounding), &profile(&[("country", "DE")]));
        let note = inv.credit_note();
        assert_eq!(note.document, Document::CreditNote);
        let (rates, (subtotal, tax, total)) = totals(&note);
        let (orig_rates, (o_sub, o_tax, o_total)) = totals(&inv);
        assert_eq!(
            (subtotal, tax, total),
            (format!("-{o_sub}"), format!("-{o_tax}"), format!("-{o_total}")),
            "{rounding}"
        );
        for (r, o) in rates.iter().zip(&orig_rates) {
            assert_eq!((&r.2, &r.3), (&format!("-{}", o.2), &format!("-{}", o.3)));
        }
        // Recomputed from its negated lines, the credit note comes to the same.
        let mut again = note.clone();
        compute(&mut again);
        assert_eq!(again, note, "{rounding}");
    }
}

#[test]
fn an_amount_credited_takes_its_tax_out_at_the_invoices_rate() {
    let mut inv = invoice("us", "USD", &[("platform", "", "49.00"), ("gpu", "", "30.55")]);
    settle(&mut inv, &catalog("per_line"), &profile(&[("country", "US"), ("region", "CA")]));
    let rates = common_rates(&inv).unwrap();
    let mut note = inv.clone();
    let mut credit = note.lines[0].clone();
    (credit.key, credit.kind, credit.amount, credit.tax_rates, credit.tax_inclusive) =
        ("credit".into(), LineKind::Credit, d("-10.73"), rates, true);
    note.lines = vec![credit];
    compute(&mut note);
    // 10.73 * 0.0725 / 1.0725 = 0.7253... -> 0.73: the customer gets 10.73 back, 0.73 of it tax.
    assert_eq!(
        totals(&note),
        (vec![rate("Sales tax", "0.0725", "-10.00", "-0.73")], sums("-10.00", "-0.73", "-10.73"))
    );
}

#[test]
fn no_tax_table_means_no_tax_part_and_the_old_total() {
    let catalog = Catalog::from_toml_str(&CATALOG[..CATALOG.find("[tax]").unwrap()], "c.toml").unwrap();
    let mut inv = eu_invoice();
    settle(&mut inv, &catalog, &profile(&[("country", "DE")]));
    assert_eq!((inv.tax.is_none(), inv.total), (true, d("120.10")));
}
