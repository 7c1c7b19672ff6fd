//! CSV exports of invoices and of their lines.
//!
//! For Excel: UTF-8 with a byte-order mark (else Excel guesses a legacy code page and
//! breaks names like "Müller"), CRLF line ends, RFC 4180 quoting, decimals with a dot
//! and as many decimals as the amount has, dates as ISO 8601. Text that Excel would run
//! as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'` (CSV injection); numbers
//! are written as numbers.

use rust_decimal::Decimal;

use crate::model::{Invoice, InvoiceLine};

const BOM: &str = "\u{feff}";

/// One row per invoice.
pub fn invoices_csv(invoices: &[Invoice]) -> String {
    let mut out = table(&[
        "number",
        "id",
        "document",
        "state",
        "customer",
        "subscription",
        "period_start",
        "period_end",
        "currency",
        "total",
        "issued_at",
        "credits",
        "revises",
    ]);
    for i in invoices {
        row(
            &mut out,
            &[
                text(i.number.as_deref().unwrap_or("")),
                text(&i.id),
                text(i.document.name()),
                text(i.state.name()),
                text(i.customer.as_str()),
                text(i.subscription.as_str()),
                text(&i.period.start().to_rfc3339()),
                text(&i.period.end().to_rfc3339()),
                text(i.currency.code()),
                number(i.total),
                text(&i.issued_at.map(|t| t.to_rfc3339()).unwrap_or_default()),
                text(i.credits.as_deref().unwrap_or("")),
                text(i.revises.as_deref().unwrap_or("")),
            ],
        );
    }
    out.finish()
}

/// One row per invoice line.
pub fn lines_csv(invoices: &[Invoice]) -> String {
    let mut out = table(&[
        "invoice_number",
        "invoice_id",
        "line",
        "kind",
        "key",
        "plan",
        "service_start",
        "service_end",
        "dimensions",
        "quantity",
        "billable_quantity",
        "amount",
        "currency",
    ]);
    for i in invoices {
        for (n, l) in i.lines.iter().enumerate() {
            row(
                &mut out,
                &[
                    text(i.number.as_deref().unwrap_or("")),
                    text(&i.id),
                    (n + 1).to_string(),
                    text(kind(l)),
                    text(&l.key),
                    text(l.plan.as_str()),
                    text(&l.service_period.start().to_rfc3339()),
                    text(&l.service_period.end().to_rfc3339()),
                    text(&l.dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")),
                    l.quantity.map(number).unwrap_or_default(),
                    l.billable_quantity.map(|q| number(q.round_dp(12))).unwrap_or_default(),
                    number(l.amount),
                    text(i.currency.code()),
                ],
            );
        }
    }
    out.finish()
}

fn kind(line: &InvoiceLine) -> &'static str {
    line.kind.name()
}

/// A CSV document being written: quoting and CRLF by the `csv` crate.
pub(super) struct Table(::csv::Writer<Vec<u8>>);

pub(super) fn table(header: &[&str]) -> Table {
    let mut writer =
        ::csv::WriterBuilder::new().terminator(::csv::Terminator::CRLF).from_writer(BOM.as_bytes().to_vec());
    // Writing to memory cannot fail.
    writer.write_record(header).expect("writing CSV to memory");
    Table(writer)
}

pub(super) fn row(out: &mut Table, cells: &[String]) {
    out.0.write_record(cells).expect("writing CSV to memory");
}

impl Table {
    pub(super) fn finish(self) -> String {
        let bytes = self.0.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }
}

/// A decimal as Excel reads it: plain digits, a dot, no exponent.
fn number(d: Decimal) -> String {
    d.to_string()
}

/// A text cell, defused if Excel would evaluate it (quoting is the writer's).
pub(super) fn text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_quoted_and_defused() {
        let mut t = table(&["a", "b", "c"]);
        row(&mut t, &[text("Acme, Inc."), text("=HYPERLINK(\"x\")"), number("-5.00".parse().unwrap())]);
        let out = t.finish();
        assert!(out.starts_with('\u{feff}'), "a BOM for Excel");
        assert_eq!(&out[3..], "a,b,c\r\n\"Acme, Inc.\",\"'=HYPERLINK(\"\"x\"\")\",-5.00\r\n");
        assert_eq!(text("-5"), "'-5", "text that looks like a formula is defused; numbers are not");
    }
}
