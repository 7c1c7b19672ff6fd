//! Invoices: the same contract on the ClickHouse store and on the embedded store.

#[macro_use]
mod both_stores;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_domain::{CustomerId, Period, SubscriptionId};
use tally_store::{
    InvoiceFilter, InvoiceLineRecord, InvoiceRecord, InvoiceStore, Payment, PaymentStore, ReportedTotal,
};

contract!(
    drafts_refresh_issued_invoices_never_change_numbers_have_no_gaps,
    payments_are_recorded_once_per_reference_and_exactly,
    question_marks_and_quotes_in_values_are_values,
    an_invoice_is_found_by_its_number,
    a_numbering_pattern_counts_gaplessly_per_year,
    the_total_in_the_reporting_currency_is_kept_exactly
);

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn invoice(id: &str, sub: &str, month: u32, state: &str, total: &str) -> InvoiceRecord {
    let start = t(&format!("2026-{month:02}-01T00:00:00Z"));
    let end = t(&format!("2026-{:02}-01T00:00:00Z", month + 1));
    InvoiceRecord {
        id: id.into(),
        number: None,
        customer: CustomerId::new("acme"),
        subscription: SubscriptionId::new(sub),
        period: Period::new(start, end).unwrap(),
        currency: "USD".into(),
        state: tally_domain::InvoiceState::from_name(state).unwrap(),
        total: total.parse().unwrap(),
        issued_at: (state == "issued").then(|| t("2026-12-01T01:00:00Z")),
        body: format!("{{\"id\":\"{id}\",\"total\":\"{total}\"}}"),
        lines: vec![InvoiceLineRecord {
            key: "platform".into(),
            kind: "fee".into(),
            dimensions: Default::default(),
            quantity: Decimal::ZERO,
            billable_quantity: Decimal::ZERO,
            amount: total.parse().unwrap(),
            detail: "{}".into(),
        }],
        reporting: None,
    }
}

async fn drafts_refresh_issued_invoices_never_change_numbers_have_no_gaps(store: &impl InvoiceStore) {
    let written = store.put_invoices(&[invoice("a@10", "a", 10, "draft", "10.00")], "INV-").await.unwrap();
    assert_eq!(written[0].number, None, "drafts have no number");
    let refreshed = store.put_invoices(&[invoice("a@10", "a", 10, "draft", "12.00")], "INV-").await.unwrap();
    assert_eq!(refreshed.len(), 1);
    assert_eq!(store.invoice("a@10").await.unwrap().unwrap().total, "12.00".parse::<Decimal>().unwrap());

    let issued = store
        .put_invoices(
            &[invoice("a@10", "a", 10, "issued", "12.00"), invoice("b@10", "b", 10, "issued", "5.00")],
            "INV-",
        )
        .await
        .unwrap();
    let numbers: Vec<_> = issued.iter().map(|w| w.number.clone().unwrap()).collect();
    assert_eq!(numbers, ["INV-000001", "INV-000002"]);
    // A second closer of the same periods changes nothing and takes no number.
    let again = store.put_invoices(&[invoice("a@10", "a", 10, "issued", "99.00")], "INV-").await.unwrap();
    assert!(again.is_empty());
    let a = store.invoice("a@10").await.unwrap().unwrap();
    assert_eq!((a.number.as_deref(), a.state.name(), a.total), (Some("INV-000001"), "issued", "12".parse().unwrap()));
    assert!(a.body.contains("\"total\":\"12.00\""), "the body is kept as written: {}", a.body);
    let next = store.put_invoices(&[invoice("a@11", "a", 11, "issued", "7.00")], "INV-").await.unwrap();
    assert_eq!(next[0].number.as_deref(), Some("INV-000003"));
    assert_eq!(store.last_number("INV-").await.unwrap(), 3);
    assert_eq!(store.last_number("CN-").await.unwrap(), 0);

    // Voiding keeps the number; a void invoice is final.
    let mut void = invoice("b@10", "b", 10, "void", "5.00");
    void.number = None;
    assert_eq!(store.put_invoices(&[void], "INV-").await.unwrap()[0].number.as_deref(), Some("INV-000002"));
    assert!(store.put_invoices(&[invoice("b@10", "b", 10, "issued", "5.00")], "INV-").await.unwrap().is_empty());
    store.put_invoices(&[invoice("c@9", "c", 9, "draft", "1.00")], "INV-").await.unwrap();
    let states: Vec<(String, u64)> = store.invoice_states().await.unwrap().into_iter().collect();
    let want = [("draft", 1), ("issued", 2), ("void", 1)].map(|(s, n)| (s.to_owned(), n));
    assert_eq!(states, want, "one row per invoice, in its current state");

    let of_a = store
        .invoices(&InvoiceFilter { subscription: Some(SubscriptionId::new("a")), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(of_a.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a@10", "a@11"]);
    let void = store
        .invoices(&InvoiceFilter { state: Some(tally_domain::InvoiceState::Void), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(void.len(), 1);
    let november = store
        .invoices(&InvoiceFilter {
            from: Some(t("2026-11-01T00:00:00Z")),
            to: Some(t("2026-12-01T00:00:00Z")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(november.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a@11"]);
    let issued_in = |from: &str, to: &str| InvoiceFilter {
        state: Some(tally_domain::InvoiceState::Issued),
        issued_from: Some(t(from)),
        issued_to: Some(t(to)),
        ..Default::default()
    };
    let at_one = store.invoices(&issued_in("2026-12-01T01:00:00Z", "2026-12-01T01:00:00.001Z")).await.unwrap();
    assert_eq!(at_one.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a@10", "a@11"]);
    assert!(store.invoices(&issued_in("2026-11-01T00:00:00Z", "2026-12-01T01:00:00Z")).await.unwrap().is_empty());
    // A void keeps the time it was issued (its record said none), whatever a later write says.
    let b = store.invoice("b@10").await.unwrap().unwrap();
    assert_eq!((b.state.name(), b.issued_at), ("void", Some(t("2026-12-01T01:00:00Z"))));
    let void_in =
        |from: &str, to: &str| InvoiceFilter { state: Some(tally_domain::InvoiceState::Void), ..issued_in(from, to) };
    let voided = store.invoices(&void_in("2026-12-01T01:00:00Z", "2026-12-01T01:00:00.001Z")).await.unwrap();
    assert_eq!(voided.iter().map(|i| (i.id.as_str(), i.state.name())).collect::<Vec<_>>(), [("b@10", "void")]);
    let mut late = invoice("a@11", "a", 11, "void", "7.00");
    late.issued_at = Some(t("2027-01-05T00:00:00Z"));
    store.put_invoices(&[late], "INV-").await.unwrap();
    assert_eq!(store.invoice("a@11").await.unwrap().unwrap().issued_at, Some(t("2026-12-01T01:00:00Z")));
    let in_january = InvoiceFilter { issued_from: Some(t("2027-01-01T00:00:00Z")), ..Default::default() };
    assert!(store.invoices(&in_january).await.unwrap().is_empty(), "not issued again by being voided");
    let any_state = InvoiceFilter { state: None, ..issued_in("2026-12-01T01:00:00Z", "2026-12-01T01:00:00.001Z") };
    let states: Vec<(String, &str)> =
        store.invoices(&any_state).await.unwrap().iter().map(|i| (i.id.clone(), i.state.name())).collect();
    assert_eq!(states, [("a@10".to_owned(), "issued"), ("b@10".into(), "void"), ("a@11".into(), "void")]);
    let drafts_never = InvoiceFilter { issued_to: Some(t("2030-01-01T00:00:00Z")), ..Default::default() };
    assert!(store.invoices(&drafts_never).await.unwrap().iter().all(|i| i.state.name() != "draft"));
}

async fn payments_are_recorded_once_per_reference_and_exactly(store: &(impl PaymentStore + InvoiceStore)) {
    let paid = |reference: &str, amount: &str, day: u32| Payment {
        invoice: "a@10".into(),
        reference: reference.into(),
        amount: amount.parse().unwrap(),
        currency: "USD".into(),
        received_on: chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
        recorded_at: t("2026-11-30T12:00:00Z"),
    };
    assert!(store.put_payment(&paid("wire-1", "10.004", 5)).await.unwrap(), "new");
    assert!(!store.put_payment(&paid("wire-1", "99", 6)).await.unwrap(), "the same reference again changes nothing");
    assert!(store.put_payment(&paid("wire-2", "2.000000000001", 3)).await.unwrap());
    let mut other = paid("wire-1", "1", 1);
    other.invoice = "b@10".into();
    assert!(store.put_payment(&other).await.unwrap(), "references are per invoice");
    let of_a = store.payments(Some("a@10")).await.unwrap();
    let got: Vec<(&str, String, String)> =
        of_a.iter().map(|p| (p.reference.as_str(), p.amount.to_string(), p.received_on.to_string())).collect();
    assert_eq!(
        got,
        [
            ("wire-2", "2.000000000001".to_owned(), "2026-11-03".to_owned()),
            ("wire-1", "10.004".into(), "2026-11-05".into())
        ]
    );
    assert_eq!(store.payments(None).await.unwrap().len(), 3);
}

/// The ClickHouse client reads `?` as a bind placeholder anywhere in a query's text:
/// ids, references and filters holding `?`, `??`, quotes or backslashes must reach the
/// server as the values they are, on both stores.
async fn question_marks_and_quotes_in_values_are_values(store: &(impl PaymentStore + InvoiceStore)) {
    let ids = ["a?b", "a??b", "?", "it's?\\"];
    for (i, id) in ids.iter().enumerate() {
        let mut record = invoice(&format!("{id}@10"), id, 10, "issued", "1.00");
        record.customer = CustomerId::new(*id);
        store.put_invoices(&[record], &format!("Q?{i}-")).await.unwrap();
    }
    for (i, id) in ids.iter().enumerate() {
        let customer = CustomerId::new(*id);
        let found = store.invoices(&InvoiceFilter { customer: Some(customer), ..Default::default() }).await.unwrap();
        assert_eq!(found.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [format!("{id}@10")], "customer {id:?}");
        let by_sub = store
            .invoices(&InvoiceFilter { subscription: Some(SubscriptionId::new(*id)), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(by_sub.len(), 1, "subscription {id:?}");
        assert_eq!(store.last_number(&format!("Q?{i}-")).await.unwrap(), 1, "prefix Q?{i}-");
        let record = store.invoice(&format!("{id}@10")).await.unwrap().expect("found by id");
        assert_eq!(record.customer.as_str(), *id);
        let payment = Payment {
            invoice: record.id.clone(),
            reference: format!("ACH?{id}"),
            amount: "1.00".parse().unwrap(),
            currency: "USD".into(),
            received_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            recorded_at: t("2026-11-30T12:00:00Z"),
        };
        assert!(store.put_payment(&payment).await.unwrap());
        assert!(!store.put_payment(&payment).await.unwrap(), "recorded once per reference {id:?}");
        let paid = store.payments(Some(&record.id)).await.unwrap();
        assert_eq!(paid.iter().map(|p| p.reference.as_str()).collect::<Vec<_>>(), [payment.reference.as_str()]);
    }
}

async fn an_invoice_is_found_by_its_number(store: &impl InvoiceStore) {
    store
        .put_invoices(&[invoice("a@10", "a", 10, "issued", "1.00"), invoice("b@10", "b", 10, "issued", "2.00")], "INV-")
        .await
        .unwrap();
    let b = store.invoice_by_number("INV-000002").await.unwrap().expect("by number");
    assert_eq!((b.id.as_str(), b.number.as_deref()), ("b@10", Some("INV-000002")));
    assert!(store.invoice_by_number("INV-000003").await.unwrap().is_none());
    assert!(store.invoice_by_number("").await.unwrap().is_none(), "drafts have no number to find");
}

async fn a_numbering_pattern_counts_gaplessly_per_year(store: &impl InvoiceStore) {
    let pattern = "INV-{year}-{seq:4}";
    let at = |mut r: InvoiceRecord, when: &str| {
        r.issued_at = Some(t(when));
        r
    };
    let december = [
        at(invoice("p@10", "p", 10, "issued", "1.00"), "2026-12-30T10:00:00Z"),
        at(invoice("q@10", "q", 10, "issued", "1.00"), "2026-12-31T23:00:00Z"),
        // Issued in the new year, in the same batch: its own series starts at 1.
        at(invoice("r@10", "r", 10, "issued", "1.00"), "2027-01-01T00:10:00Z"),
    ];
    let numbers: Vec<_> =
        store.put_invoices(&december, pattern).await.unwrap().into_iter().map(|w| w.number.unwrap()).collect();
    assert_eq!(numbers, ["INV-2026-0001", "INV-2026-0002", "INV-2027-0001"]);
    let next = store
        .put_invoices(&[at(invoice("s@11", "s", 11, "issued", "1.00"), "2027-01-02T00:00:00Z")], pattern)
        .await
        .unwrap();
    assert_eq!(next[0].number.as_deref(), Some("INV-2027-0002"));
    assert_eq!(store.last_number("INV-2026-").await.unwrap(), 2);
    let bad = store.put_invoices(&[invoice("t@11", "t", 11, "issued", "1.00")], "INV-{day}-{seq}").await.unwrap_err();
    assert!(bad.to_string().contains("invoicer.number_prefix") && bad.to_string().contains("{day}"), "{bad}");
}

async fn the_total_in_the_reporting_currency_is_kept_exactly(store: &impl InvoiceStore) {
    let mut converted = invoice("a@10", "a", 10, "issued", "150000");
    converted.currency = "JPY".into();
    converted.reporting = Some(ReportedTotal { currency: "USD".into(), total: "951.86".parse().unwrap() });
    let plain = invoice("b@10", "b", 10, "issued", "2.00");
    store.put_invoices(&[converted.clone(), plain], "INV-").await.unwrap();
    let read = store.invoice("a@10").await.unwrap().expect("converted");
    assert_eq!(read.reporting, converted.reporting);
    assert_eq!(read.reporting.unwrap().total.to_string(), "951.86", "scale kept");
    let read = store.invoice("b@10").await.unwrap().expect("plain");
    assert_eq!(read.reporting, None, "not converted reads as not converted, never as 0 in some currency");
}
