//! FreshBooks: it imports clients from a file but no invoices. So the export is its
//! clients import (Clients > Import: a CSV of organisation or first and last name,
//! email, phone and address, as the project's notes on accounting formats found it)
//! and, for each invoice and credit note, the body its API's create call accepts
//! (`POST /accounting/account/<account_id>/invoices/invoices`, `{"invoice": {...}}`
//! with `customerid`, `create_date`, `due_offset_days`, `invoice_number`,
//! `currency_code` and `lines` of `name`, `description`, `qty` and
//! `unit_cost: {amount, code}`, the create call and its fields
//! as taught at
//! <https://www.educative.io/courses/bookkeeping-with-freshbooks-api-in-javascript/create-and-update-an-invoice>). FreshBooks
//! gives each client its own id when it is created, so each body names the Tally
//! customer and the organisation; fill `customerid` from the client created (the docs
//! show a loop with `curl` and `jq`). Credit notes are written as invoices with negative
//! lines, marked in their notes, since the credit notes call takes different fields.

use serde::Serialize;

use super::{plain, CsvOut, Docs, Export, ExportFile};
use crate::{BooksError, Source};

/// The clients import's columns.
pub const CLIENT_HEADER: [&str; 7] =
    ["Organization", "First Name", "Last Name", "Email", "Street", "Country", "Currency"];

/// One body of `freshbooks-invoices.json`: the API's `{"invoice": {...}}` and, beside
/// it, whom it is for (typed and borrowed, so 100,000 of them serialize as one stream).
#[derive(Serialize)]
struct Body<'a> {
    tally_customer: &'a str,
    organization: &'a str,
    invoice: InvoiceBody<'a>,
}

#[derive(Serialize)]
struct InvoiceBody<'a> {
    /// FreshBooks' client id: `null` until the client is created there.
    customerid: Option<u64>,
    invoice_number: &'a str,
    create_date: String,
    due_offset_days: i64,
    currency_code: &'a str,
    notes: String,
    lines: Vec<LineBody<'a>>,
}

#[derive(Serialize)]
struct LineBody<'a> {
    /// 0: a normal line.
    #[serde(rename = "type")]
    kind: u8,
    name: &'a str,
    description: &'a str,
    qty: String,
    unit_cost: Cost<'a>,
    #[serde(rename = "taxName1", skip_serializing_if = "Option::is_none")]
    tax_name: Option<&'a str>,
    #[serde(rename = "taxAmount1", skip_serializing_if = "Option::is_none")]
    tax_percent: Option<String>,
}

#[derive(Serialize)]
struct Cost<'a> {
    amount: String,
    code: &'a str,
}

pub(super) fn write(docs: &Docs<'_>, source: &Source<'_>) -> Result<Export, BooksError> {
    let mut export = Export::default();
    let mut seen = std::collections::BTreeSet::new();
    let mut clients = CsvOut::new("freshbooks-clients.csv".into(), &CLIENT_HEADER)?;
    for doc in &docs.all {
        if !seen.insert(doc.invoice.customer.clone()) {
            continue;
        }
        // `Docs::of` found every document's customer.
        let Some(account) = source.customers.get(&doc.invoice.customer) else {
            return Err(BooksError::NoCustomer {
                document: doc.number.clone(),
                customer: doc.invoice.customer.to_string(),
            });
        };
        let profile = &account.profile;
        clients.row([
            account.name(),
            String::new(),
            String::new(),
            profile.email.clone().unwrap_or_default(),
            profile.address.clone().unwrap_or_default().replace('\n', ", "),
            profile.country.clone().unwrap_or_default(),
            account.customer.currency.code().to_owned(),
        ])?;
    }
    export.files.push(clients.finish()?);
    let mut bodies = Vec::with_capacity(docs.all.len());
    for doc in &docs.all {
        let currency = doc.invoice.currency.code();
        let lines = doc
            .lines
            .iter()
            .map(|l| LineBody {
                kind: 0,
                name: &l.item,
                description: &l.description,
                qty: plain(l.quantity),
                unit_cost: Cost { amount: plain(l.unit_price), code: currency },
                tax_name: l.tax_rate.as_ref().map(|(name, _)| name.as_str()),
                tax_percent: l.tax_rate.as_ref().map(|(_, rate)| plain(*rate * rust_decimal::Decimal::ONE_HUNDRED)),
            })
            .collect();
        let notes = if doc.is_credit_note() {
            export.credit_notes += 1;
            format!("Credit note {} for invoice {}", doc.number, doc.credits.clone().unwrap_or_default())
        } else {
            export.invoices += 1;
            doc.invoice.memo.clone().unwrap_or_default()
        };
        bodies.push(Body {
            tally_customer: doc.invoice.customer.as_str(),
            organization: &doc.customer,
            invoice: InvoiceBody {
                customerid: None,
                invoice_number: &doc.number,
                create_date: doc.issued.to_string(),
                due_offset_days: (doc.due - doc.issued).num_days(),
                currency_code: currency,
                notes,
                lines,
            },
        });
    }
    let mut content = Vec::new();
    serde_json::to_writer_pretty(&mut content, &bodies).map_err(|e| BooksError::Unsupported(e.to_string()))?;
    let content = String::from_utf8(content).map_err(|e| BooksError::Unsupported(e.to_string()))?;
    export.files.push(ExportFile { name: "freshbooks-invoices.json".into(), media_type: "application/json", content });
    export.notes.push(
        "FreshBooks has no invoice import: create the clients from freshbooks-clients.csv, then send each body of \
         freshbooks-invoices.json to its API with customerid set to the client's id"
            .into(),
    );
    Ok(export)
}
