//! The figures read from a stored body are those of the whole invoice, for every kind
//! of document the books read.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tally_domain::{BillingProfile, Catalog, Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};

use super::DocumentFigures;
use crate::{compose, tax, Invoice, InvoiceState};

fn customer(currency: &str, country: &str) -> (Customer, BillingProfile) {
    let details = BTreeMap::from([("country".to_owned(), country.to_owned()), ("legal_name".into(), "A GmbH".into())]);
    let customer = Customer {
        id: CustomerId::new("c-1"),
        name: "A".into(),
        currency: currency.parse().unwrap(),
        timezone: chrono_tz::UTC,
        billing_details: details.clone(),
    };
    (customer, BillingProfile::of(&details).unwrap())
}

fn composed(
    catalog: &Catalog,
    plan: &str,
    currency: &str,
    country: &str,
    usage: &[(&str, &[(&str, &str)], i64)],
) -> Invoice {
    let (customer, profile) = customer(currency, country);
    let start = "2026-10-01T00:00:00Z".parse().unwrap();
    let subscription = Subscription {
        id: SubscriptionId::new("s-1"),
        customer: customer.id.clone(),
        start,
        end: None,
        anchor: "2026-10-01".parse().unwrap(),
        phases: vec![Phase { plan: PlanKey::new(plan), from: start }],
    };
    let mut charges = tally_rating::ChargeUsage::new();
    for (key, dims, quantity) in usage {
        let dims: BTreeMap<String, String> = dims.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        charges.entry((*key).to_owned()).or_default().push((dims, Decimal::from(*quantity)));
    }
    let mut invoice = compose(catalog, &customer, &subscription, 0, &[&charges], &[]).unwrap();
    tax::settle(&mut invoice, catalog, &profile);
    invoice.state = InvoiceState::Issued;
    invoice.number = Some("INV-1".into());
    invoice.issued_at = Some("2026-11-02T09:00:00Z".parse().unwrap());
    invoice.due = Some("2026-12-02".parse().unwrap());
    invoice.memo = Some("PO 4711".into());
    invoice.prices.insert(PlanKey::new(plan), "prices as composed".into());
    invoice
}

/// What the books read of `invoice` stored, and what they would take of it whole.
fn both_ways(invoice: &Invoice) -> (DocumentFigures, DocumentFigures) {
    let body = serde_json::to_string(invoice).unwrap();
    (serde_json::from_str(&body).unwrap(), DocumentFigures::from(invoice))
}

#[test]
fn a_stored_body_reads_as_the_figures_of_the_whole_invoice() {
    let sample: Catalog =
        Catalog::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/catalog.toml"))).unwrap();
    let taxed =
        Catalog::from_toml_str(include_str!("../../../../docs/examples/taxed-catalog.toml"), "taxed.toml").unwrap();
    let mut cases = vec![
        // Graduated tiers, an allowance, labels with unit prices.
        composed(&sample, "pro", "USD", "US", &[("h100_hours", &[], 720_000), ("gpt4o_input", &[], 3_500_000)]),
        // Groups of a `group_by` charge, VAT per line.
        composed(
            &taxed,
            "eu",
            "EUR",
            "DE",
            &[("gpu", &[("gpu_type", "h100")], 36_000), ("gpu", &[("gpu_type", "a100")], 7_200)],
        ),
        // A tax-inclusive JPY plan.
        composed(&taxed, "jp", "JPY", "JP", &[("gpu", &[], 72_000)]),
    ];
    let mut rated = composed(&taxed, "us", "USD", "US", &[("gpu", &[], 3_600)]);
    rated.exchange = Some(tally_domain::Exchange {
        currency: "EUR".parse().unwrap(),
        rate: "0.9216589862".parse().unwrap(),
        on: "2026-11-02".parse().unwrap(),
        how: "direct".into(),
    });
    let mut credit = rated.credit_note();
    credit.reason = Some("dispute".into());
    credit.credited_lines = vec![0];
    cases.extend([rated, credit]);
    for invoice in &cases {
        let (stored, whole) = both_ways(invoice);
        assert_eq!(stored, whole, "{}", invoice.id);
    }
    // The cases carry what the figures must read (else the comparison says little).
    let all: Vec<&crate::InvoiceLine> = cases.iter().flat_map(|i| &i.lines).collect();
    assert!(all.iter().any(|l| !l.tiers.is_empty()), "a tiered line");
    assert!(all.iter().any(|l| !l.dimensions.is_empty()), "a grouped line");
    assert!(all.iter().any(|l| l.tax.is_some()), "a line's own tax");
    assert!(all.iter().any(|l| l.tax_inclusive), "a tax-inclusive line");
    assert!(all.iter().any(|l| l.label.unit_price.is_some() && l.billable_quantity.is_some()), "a unit price");
    assert!(cases.iter().any(|i| i.document == crate::Document::CreditNote), "a credit note");
}

#[test]
fn a_body_missing_a_figure_the_books_need_is_refused_naming_it() {
    let sample =
        Catalog::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/catalog.toml"))).unwrap();
    let invoice = composed(&sample, "pro", "USD", "US", &[("h100_hours", &[], 720)]);
    let mut body: serde_json::Value = serde_json::to_value(&invoice).unwrap();
    body["lines"][0].as_object_mut().unwrap().remove("amount");
    let err = serde_json::from_value::<DocumentFigures>(body).unwrap_err().to_string();
    assert!(err.contains("amount"), "{err}");
}
