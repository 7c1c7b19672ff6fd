//! A document as a self-contained HTML page a customer could receive: the issuer and
//! its logo, who is billed, the facts (number, dates, period), every line with its
//! quantity, unit price, tax and amount, the totals, the notes and how to pay. It
//! lays out a [`Sheet`] and nothing more; every text from data is escaped.

use std::fmt::Write;

use base64::Engine;

use crate::document::Sheet;

pub(super) const STYLE: &str = "body{font-family:'Noto Sans','Noto Sans CJK JP','DejaVu Sans',system-ui,sans-serif;margin:2rem;color:#222;font-size:14px}\
table{border-collapse:collapse;width:100%}th,td{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr.tier td{color:#666;font-size:.9em}\
small{color:#555}.strong td{font-weight:bold;border-top:2px solid #222}.state{display:inline-block;padding:.1rem .5rem;border:2px solid #b00;color:#b00;font-weight:bold}\
header{display:flex;justify-content:space-between;gap:2rem}.parties{display:flex;gap:4rem;margin:1.5rem 0}\
table.facts td{border:none;padding:.1rem .6rem .1rem 0}table.totals{width:auto;margin-left:auto;margin-top:1rem}\
.notes,.pay,footer{margin-top:1.2rem;color:#333}footer{border-top:1px solid #ddd;padding-top:.5rem;font-size:.9em}img.logo{max-height:60px}";

/// The page for `sheet`.
pub fn html(sheet: &Sheet) -> String {
    let mut page = String::with_capacity(8192);
    let title = format!("{} {}", sheet.title, sheet.number);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<header><div>",
        esc(&sheet.lang),
        esc(&title)
    );
    if let Some(logo) = &sheet.logo {
        let data = base64::engine::general_purpose::STANDARD.encode(logo.bytes.as_slice());
        let _ = write!(page, "<img class=\"logo\" alt=\"\" src=\"data:{};base64,{data}\"><br>", logo.mime);
    }
    let _ = write!(page, "{}</div><div><h1>{}</h1>", lines(&sheet.issuer, true), esc(&title));
    if let Some(mark) = &sheet.mark {
        let _ = write!(page, "<p class=\"state\">{}</p>", esc(mark));
    }
    page.push_str("</div></header>\n<section class=\"parties\"><div><h2>Bill to</h2>");
    page.push_str(&lines(&sheet.bill_to, true));
    page.push_str("</div><div><table class=\"facts\">");
    for (label, value) in &sheet.facts {
        let _ = write!(page, "<tr><td>{}</td><td>{}</td></tr>", esc(label), esc(value));
    }
    page.push_str("</table></div></section>\n<table class=\"lines\">\n<tr><th>Description</th><th>Service period</th><th class=\"n\">Quantity</th><th class=\"n\">Unit price</th><th class=\"n\">Tax</th><th class=\"n\">Amount</th></tr>\n");
    for line in &sheet.lines {
        let mut description = esc(&line.description);
        for detail in &line.details {
            let _ = write!(description, "<br><small>{}</small>", esc(detail));
        }
        let _ = writeln!(
            page,
            "<tr><td>{description}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&line.period),
            esc(&line.quantity),
            esc(&line.unit_price),
            esc(&line.tax),
            esc(&line.amount)
        );
        for (text, amount) in &line.tiers {
            let _ = writeln!(
                page,
                "<tr class=\"tier\"><td colspan=\"5\">&nbsp;&nbsp;{}</td><td class=\"n\">{}</td></tr>",
                esc(text),
                esc(amount)
            );
        }
    }
    page.push_str("</table>\n<table class=\"totals\">\n");
    for row in &sheet.totals {
        let class = if row.strong { " class=\"strong\"" } else { "" };
        let _ = writeln!(page, "<tr{class}><td>{}</td><td class=\"n\">{}</td></tr>", esc(&row.label), esc(&row.amount));
    }
    page.push_str("</table>\n");
    if !sheet.notes.is_empty() {
        let _ = writeln!(page, "<div class=\"notes\">{}</div>", lines(&sheet.notes, false));
    }
    if !sheet.payment.is_empty() || sheet.payment_link.is_some() {
        page.push_str("<div class=\"pay\"><h2>How to pay</h2>");
        page.push_str(&lines(&sheet.payment, false));
        if let Some(link) = &sheet.payment_link {
            let _ = write!(page, "<p><a href=\"{0}\">{0}</a></p>", esc(link));
        }
        page.push_str("</div>\n");
    }
    if let Some(footer) = &sheet.footer {
        let _ = writeln!(page, "<footer>{}</footer>", esc(footer));
    }
    page.push_str("</body></html>\n");
    page
}

/// Lines of text as a paragraph, the first in bold when `first_strong`.
fn lines(texts: &[String], first_strong: bool) -> String {
    let mut out = String::from("<p>");
    for (i, text) in texts.iter().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        if i == 0 && first_strong {
            let _ = write!(out, "<strong>{}</strong>", esc(text));
        } else {
            out.push_str(&esc(text));
        }
    }
    out.push_str("</p>");
    out
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
