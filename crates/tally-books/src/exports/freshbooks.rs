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

use serde_json::json;

use super::{plain, Docs, Export, ExportFile};
use crate::{BooksError, Source};

/// The clients import's columns.
pub const CLIENT_HEADER: [&str; 7] =
    ["Organization", "First Name", "Last Name", "Email", "Street", "Country", "Currency"];

pub(super) fn write(docs: &Docs<'_>, source: &Source<'_>) -> Result<Export, BooksError> {
    let mut export = Export::default();
    let mut seen = std::collections::BTreeSet::new();
    let mut rows = Vec::new();
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
        rows.push(vec![
            account.name(),
            String::new(),
            String::new(),
            profile.email.clone().unwrap_or_default(),
            profile.address.clone().unwrap_or_default().replace('\n', ", "),
            profile.country.clone().unwrap_or_default(),
            account.customer.currency.code().to_owned(),
        ]);
    }
    export.files.push(super::csv_file("freshbooks-clients.csv".into(), &CLIENT_HEADER, rows)?);
    let mut bodies = Vec::new();
    for doc in &docs.all {
        let currency = doc.invoice.currency.code();
        let lines: Vec<serde_json::Value> = doc
            .lines
            .iter()
            .map(|l| {
                let mut line = json!({
                    "type": 0,
                    "name": l.item,
                    "description": l.description,
                    "qty": plain(l.quantity),
                    "unit_cost": { "amount": plain(l.unit_price), "code": currency },
                });
                if let (Some((name, rate)), Some(obj)) = (&l.tax_rate, line.as_object_mut()) {
                    obj.insert("taxName1".into(), json!(name));
                    obj.insert("taxAmount1".into(), json!(plain(*rate * rust_decimal::Decimal::ONE_HUNDRED)));
                }
                line
            })
            .collect();
        let notes = if doc.is_credit_note() {
            export.credit_notes += 1;
            format!("Credit note {} for invoice {}", doc.number, doc.credits.clone().unwrap_or_default())
        } else {
            export.invoices += 1;
            doc.invoice.memo.clone().unwrap_or_default()
        };
        bodies.push(json!({
            "tally_customer": doc.invoice.customer.as_str(),
            "organization": doc.customer,
            "invoice": {
                "customerid": null,
                "invoice_number": doc.number,
                "create_date": doc.issued.to_string(),
                "due_offset_days": (doc.due - doc.issued).num_days(),
                "currency_code": currency,
                "notes": notes,
                "lines": lines,
            }
        }));
    }
    let content = serde_json::to_string_pretty(&bodies).map_err(|e| BooksError::Unsupported(e.to_string()))?;
    export.files.push(ExportFile { name: "freshbooks-invoices.json".into(), media_type: "application/json", content });
    export.notes.push(
        "FreshBooks has no invoice import: create the clients from freshbooks-clients.csv, then send each body of \
         freshbooks-invoices.json to its API with customerid set to the client's id"
            .into(),
    );
    Ok(export)
}
