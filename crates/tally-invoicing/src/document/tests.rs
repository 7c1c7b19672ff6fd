//! Snapshots (`insta`) of a representative invoice per currency, its JSON and its
//! HTML page, so a change to what an invoice holds or how it reads is seen in review.
//! The catalog is the taxed example of the user docs (`docs/examples/taxed-catalog.toml`).

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use tally_domain::{Catalog, Customer, CustomerId, Phase, PlanKey, Subscription, SubscriptionId};
use tally_rating::ChargeUsage;

use super::*;
use crate::compose::compose;

fn catalog() -> Catalog {
    Catalog::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/examples/taxed-catalog.toml"))).unwrap()
}

fn issuer() -> Issuer {
    Issuer {
        name: "Tally Cloud GmbH".into(),
        address: vec!["Friedrichstraße 1".into(), "10117 Berlin, Germany".into()],
        tax_id: Some("DE123456789".into()),
        registration: Some("HRB 12345, Amtsgericht Berlin".into()),
        email: Some("billing@tally.example".into()),
        logo: None,
        footer: Some("Thank you for computing with us.".into()),
        payment: BTreeMap::from([(
            "EUR".to_owned(),
            Payment {
                instructions: vec!["IBAN DE89 3704 0044 0532 0130 00".into()],
                link: Some("https://pay.example.com/{number}".into()),
            },
        )]),
    }
}

/// The October invoice of `plan` for a customer in `zone` with `details`, issued.
fn invoice(
    plan: &str,
    currency: &str,
    zone: &str,
    start: &str,
    details: &[(&str, &str)],
    hours: &[(&str, &str)],
) -> (Invoice, Customer) {
    let customer = Customer {
        id: CustomerId::new(format!("c-{plan}")),
        name: format!("Customer {plan}"),
        currency: currency.parse().unwrap(),
        timezone: zone.parse().unwrap(),
        billing_details: details.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    };
    let start = start.parse().unwrap();
    let subscription = Subscription {
        id: SubscriptionId::new(format!("sub-{plan}")),
        customer: customer.id.clone(),
        start,
        end: None,
        anchor: "2026-10-01".parse().unwrap(),
        phases: vec![Phase { plan: PlanKey::new(plan), from: start }],
    };
    let rows = hours
        .iter()
        .map(|(gpu, h)| {
            let mut dims = tally_domain::Dimensions::new();
            if plan == "eu" {
                dims.insert("gpu_type".into(), (*gpu).into());
            }
            (dims, h.parse::<Decimal>().unwrap())
        })
        .collect();
    let usage = ChargeUsage::from([("gpu".to_owned(), rows)]);
    let mut invoice = compose(&catalog(), &customer, &subscription, 0, &[&usage], &[]).unwrap();
    invoice.state = InvoiceState::Issued;
    invoice.number = Some(format!("INV-2026-{plan}"));
    invoice.issued_at = Some("2026-11-02T09:00:00Z".parse().unwrap());
    invoice.due = Some("2026-12-02".parse().unwrap());
    (invoice, customer)
}

fn snapshot(name: &str, (invoice, customer): (Invoice, Customer)) {
    let standing = Standing { amount: invoice.total, owed: invoice.total };
    let sheet = sheet(&invoice, &customer, &issuer(), &Trail::default(), Some(standing)).unwrap();
    insta::assert_json_snapshot!(format!("{name}_json"), invoice);
    insta::assert_snapshot!(format!("{name}_html"), crate::render::html(&sheet));
}

#[test]
fn an_eur_invoice_with_vat() {
    let details = [
        ("country", "DE"),
        ("locale", "de-DE"),
        ("tax_id", "DE999999999"),
        ("address", "Unter den Linden 5\n10117 Berlin"),
    ];
    snapshot(
        "eur",
        invoice("eu", "EUR", "Europe/Berlin", "2026-09-30T22:00:00Z", &details, &[("h100", "13"), ("a100", "13")]),
    );
}

#[test]
fn a_usd_invoice_with_a_state_sales_tax() {
    let details = [("country", "US"), ("region", "CA"), ("locale", "en-US"), ("purchase_order", "PO-7781")];
    snapshot("usd", invoice("us", "USD", "America/Los_Angeles", "2026-10-01T07:00:00Z", &details, &[("", "13")]));
}

#[test]
fn a_jpy_invoice_with_tax_included() {
    let details = [("country", "JP"), ("locale", "ja-JP"), ("legal_name", "株式会社東京エーアイ")];
    snapshot("jpy", invoice("jp", "JPY", "Asia/Tokyo", "2026-09-30T15:00:00Z", &details, &[("", "2")]));
}
