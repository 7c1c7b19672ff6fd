//! A customer statement (`tally_ledger::Statement`) as JSON, as CSV for Excel (the same
//! rules as the invoice exports: a byte-order mark, CRLF, formulas defused, amounts with
//! the currency's decimals) and as an HTML page a customer could receive: opening
//! balance, every document and payment of the range with the balance after it, closing
//! balance and credit not yet used. The CLI and the API render through these, so a
//! statement reads the same everywhere.

use std::fmt::Write;

use serde_json::{json, Value};
use tally_domain::Customer;
use tally_ledger::Statement;

use super::csv::{row, table, text};
use super::html::{esc, STYLE};

/// The statement as a JSON object.
pub fn statement_json(s: &Statement) -> Value {
    let money = |a| s.currency.show(a);
    let lines: Vec<Value> = s
        .lines
        .iter()
        .map(|l| {
            json!({ "date": l.day.to_string(), "kind": l.kind, "reference": l.reference,
                "description": l.description, "amount": money(l.amount), "balance": money(l.balance) })
        })
        .collect();
    json!({ "customer": s.customer, "currency": s.currency.to_string(), "from": s.from.to_string(),
        "to": s.to.to_string(), "opening_balance": money(s.opening), "lines": lines,
        "closing_balance": money(s.closing), "unapplied_credit": money(s.unapplied_credit) })
}

/// The statement as CSV: the opening balance, one row per line, the closing balance.
pub fn statement_csv(s: &Statement) -> String {
    let money = |a| s.currency.show(a);
    let code = s.currency.code();
    let mut out = table(&["date", "kind", "reference", "description", "amount", "balance", "currency"]);
    let edge = |day: String, kind: &str, label: &str, balance: String| {
        vec![day, kind.to_owned(), String::new(), label.to_owned(), String::new(), balance, code.to_owned()]
    };
    row(&mut out, &edge(s.from.to_string(), "opening_balance", "Opening balance", money(s.opening)));
    for l in &s.lines {
        let cells = [
            l.day.to_string(),
            l.kind.to_owned(),
            text(&l.reference),
            text(&l.description),
            money(l.amount),
            money(l.balance),
            code.to_owned(),
        ];
        row(&mut out, &cells);
    }
    row(&mut out, &edge(s.to.to_string(), "closing_balance", "Closing balance", money(s.closing)));
    out.finish()
}

/// The statement as a page for `customer`, from `issuer`.
pub fn statement_html(s: &Statement, customer: &Customer, issuer: &str) -> String {
    let money = |a| s.currency.show(a);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Statement {} {} to {}</title>\
         <style>{STYLE}</style></head><body>\n<h1>Statement of account</h1>\n<p>{}</p>\n",
        esc(customer.id.as_str()),
        s.from,
        s.to,
        esc(issuer)
    );
    // The same block as on invoices; details that do not read as a profile (stored
    // before profiles were checked) are printed as they are, under their keys.
    let lines = match customer.profile() {
        Ok(profile) => crate::document::bill_to(customer, &profile),
        Err(_) => std::iter::once(customer.name.clone())
            .chain(customer.billing_details.iter().map(|(k, v)| format!("{k}: {v}")))
            .collect(),
    };
    let _ = write!(page, "<h2>Account</h2>\n<p><strong>{}</strong><br>", esc(&lines[0]));
    for line in &lines[1..] {
        let _ = write!(page, "{}<br>", esc(line));
    }
    let _ = writeln!(
        page,
        "Customer id: {}<br>Period: {} to {}<br>Currency: {}</p>",
        esc(customer.id.as_str()),
        s.from,
        s.to,
        s.currency
    );
    page.push_str(
        "<table>\n<tr><th>Date</th><th>Reference</th><th>Description</th><th class=\"n\">Amount</th>\
         <th class=\"n\">Balance</th></tr>\n",
    );
    let _ = writeln!(
        page,
        "<tr><td>{}</td><td></td><td>Opening balance</td><td class=\"n\"></td><td class=\"n\">{}</td></tr>",
        s.from,
        money(s.opening)
    );
    for l in &s.lines {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            l.day,
            esc(&l.reference),
            esc(&l.description),
            money(l.amount),
            money(l.balance)
        );
    }
    let _ = writeln!(
        page,
        "<tr class=\"total\"><td>{}</td><td></td><td>Closing balance</td><td class=\"n\"></td>\
         <td class=\"n\">{} {}</td></tr>\n</table>",
        s.to,
        money(s.closing),
        s.currency
    );
    let _ = writeln!(
        page,
        "<p>A positive balance is owed to {}; a negative one is your credit. Credit not yet used: {} {}.</p>",
        esc(issuer),
        money(s.unapplied_credit),
        s.currency
    );
    page.push_str("</body></html>\n");
    page
}
