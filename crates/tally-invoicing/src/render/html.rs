//! An invoice as a self-contained HTML page a customer could receive: who and what
//! period, every line with its quantities and tier breakdown, totals. Dates are shown
//! in the customer's time zone; every text from data is escaped.

use std::fmt::Write;

use chrono_tz::Tz;
use tally_domain::Customer;

use crate::model::{Document, Invoice, InvoiceLine, InvoiceState, LineKind};
use crate::trail::Trail;

pub(super) const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}\
table{border-collapse:collapse;width:100%}th,td{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.tier td{color:#666;font-size:.9em}\
.total td{font-weight:bold;border-top:2px solid #222}.state{display:inline-block;padding:.1rem .5rem;border:1px solid #999}";

/// The page for `invoice`, addressed to `customer`, from `issuer`; `trail` names the
/// documents linked to it by number.
pub fn html(invoice: &Invoice, customer: &Customer, issuer: &str, trail: &Trail) -> String {
    let zone = customer.timezone;
    let title = match invoice.document {
        Document::Invoice => "Invoice",
        Document::CreditNote => "Credit note",
    };
    let number = invoice.number.as_deref().unwrap_or("(draft)");
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} {}</title><style>{STYLE}</style></head><body>\n",
        esc(number)
    );
    let _ = write!(page, "<h1>{title} {}</h1>\n<p>{}</p>\n", esc(number), esc(issuer));
    if invoice.state != InvoiceState::Issued {
        let state = if invoice.state == InvoiceState::Void { "VOID" } else { "DRAFT" };
        let _ = writeln!(page, "<p class=\"state\">{state}</p>");
    }
    let _ = write!(page, "<h2>Bill to</h2>\n<p><strong>{}</strong><br>", esc(&customer.name));
    for (key, value) in &customer.billing_details {
        let _ = write!(page, "{}: {}<br>", esc(key), esc(value));
    }
    let _ = writeln!(page, "Customer id: {}</p>", esc(customer.id.as_str()));
    let _ = write!(
        page,
        "<p>Period: {} to {} ({})<br>Subscription: {}",
        day(invoice.period.start(), zone),
        day(invoice.period.end() - chrono::TimeDelta::seconds(1), zone),
        esc(zone.name()),
        esc(invoice.subscription.as_str())
    );
    if let Some(issued) = invoice.issued_at {
        let _ = write!(page, "<br>Issued: {}", day(issued, zone));
    }
    // By number: an id (sub-acme@1793516400000) means nothing to a customer.
    let linked = |number: &Option<String>, id: &Option<String>| number.clone().or_else(|| id.clone());
    if let Some(cancels) = linked(&trail.cancels, &invoice.credits) {
        // A void's credit note cancels the whole invoice; any other credits part of it.
        let what = if invoice.cancels_whole() { "Cancels invoice" } else { "Credits part of invoice" };
        let _ = write!(page, "<br>{what}: {}", esc(&cancels));
    }
    if let Some(reason) = &invoice.reason {
        let _ = write!(page, "<br>Reason: {}", esc(reason));
    }
    if let Some(memo) = &invoice.memo {
        let _ = write!(page, "<br>Note: {}", esc(memo));
    }
    if let Some(replaces) = linked(&trail.replaces, &invoice.revises) {
        let _ = write!(page, "<br>Replaces invoice: {}", esc(&replaces));
    }
    if !trail.credited_by.is_empty() {
        let _ = write!(page, "<br>Credit notes: {}", esc(&trail.credited_by.join(", ")));
    }
    if !trail.replaced_by.is_empty() {
        let _ = write!(page, "<br>Replaced by invoice: {}", esc(&trail.replaced_by.join(", ")));
    }
    page.push_str("</p>\n<table>\n<tr><th>Description</th><th>Service period</th><th class=\"n\">Quantity</th><th class=\"n\">Billable</th><th class=\"n\">Amount</th></tr>\n");
    for line in &invoice.lines {
        row(&mut page, line, zone, invoice.currency.code());
    }
    let _ = write!(
        page,
        "<tr class=\"total\"><td colspan=\"4\">Total</td><td class=\"n\">{} {}</td></tr>\n</table>\n</body></html>\n",
        invoice.total,
        invoice.currency.code()
    );
    page
}

fn row(page: &mut String, line: &InvoiceLine, zone: Tz, currency: &str) {
    let what = match line.kind {
        LineKind::Fee => "fee",
        LineKind::Usage => "usage",
        LineKind::MinimumCommitment => "minimum commitment true-up",
        LineKind::FeeAdjustment => "fee correction",
        LineKind::LateUsage => "late usage",
        LineKind::Credit => "credit",
    };
    // The catalog's name for the line when it has one (the key otherwise), what kind of
    // line it is, and the description beneath.
    let label = &line.label;
    let mut description = match &label.name {
        Some(name) => format!("{} ({what})", esc(name)),
        None => format!("{} ({what}, plan {})", esc(&line.key), esc(line.plan.as_str())),
    };
    if !line.dimensions.is_empty() {
        let dims: Vec<String> = line.dimensions.iter().map(|(k, v)| format!("{}={}", esc(k), esc(v))).collect();
        let _ = write!(description, " [{}]", dims.join(", "));
    }
    if let Some(more) = &label.description {
        let _ = write!(description, "<br><small>{}</small>", esc(more));
    }
    let period = format!(
        "{} to {}",
        day(line.service_period.start(), zone),
        day(line.service_period.end() - chrono::TimeDelta::seconds(1), zone)
    );
    let quantity = line.quantity.map(|q| q.normalize().to_string()).unwrap_or_default();
    let mut billable = line.billable_quantity.map(|q| q.round_dp(6).normalize().to_string()).unwrap_or_default();
    if let (false, Some(unit)) = (billable.is_empty(), &label.unit) {
        let _ = write!(billable, " {}", esc(unit));
    }
    if let (false, Some(price)) = (billable.is_empty(), label.unit_price) {
        let per = label.unit.as_deref().map(|u| format!(" per {}", esc(u))).unwrap_or_default();
        let _ = write!(billable, "<br><small>at {} {currency}{per}</small>", price.normalize());
    }
    let _ = writeln!(
        page,
        "<tr><td>{description}</td><td>{period}</td><td class=\"n\">{quantity}</td><td class=\"n\">{billable}</td><td class=\"n\">{} {currency}</td></tr>",
        line.amount
    );
    for tier in &line.tiers {
        let field = |name: &str| tier.get(name).and_then(|v| v.as_str()).map(esc).unwrap_or_default();
        let upto = tier
            .get("up_to")
            .and_then(|v| v.as_str())
            .map_or_else(|| "and above".to_owned(), |u| format!("up to {}", esc(u)));
        let _ = writeln!(
            page,
            "<tr class=\"tier\"><td>&nbsp;&nbsp;tier {} ({upto}): {} at {}{}</td><td></td><td></td><td></td><td class=\"n\">{}</td></tr>",
            tier.get("tier").map(|v| v.to_string()).unwrap_or_default(),
            field("quantity"),
            field("unit_price"),
            if field("flat_price").trim_start_matches(['0', '.']).is_empty() { String::new() } else { format!(" + {} flat", field("flat_price")) },
            field("amount")
        );
    }
}

fn day(t: chrono::DateTime<chrono::Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%Y-%m-%d").to_string()
}

/// Escapes text for HTML element content and attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("<script>alert('x & y')</script>"), "&lt;script&gt;alert(&#39;x &amp; y&#39;)&lt;/script&gt;");
    }
}
