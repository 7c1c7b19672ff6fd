//! The document a customer receives, as one model both the HTML page and the PDF are
//! drawn from: every text already written for the customer's locale (numbers, money,
//! dates), every row in its place. A renderer only lays it out, so the two formats
//! cannot say different things, and no business rule lives in a template.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;
use tally_domain::account::detail_label;
use tally_domain::{AccountError, Currency, Customer, Locale, TaxRounding};

use crate::model::{Document, Invoice, InvoiceLine, InvoiceState, LineKind, LineNote};
use crate::trail::Trail;

/// Who issues the documents (from the `[issuer]` settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Issuer {
    /// Legal name.
    pub name: String,
    /// Address lines.
    pub address: Vec<String>,
    /// Tax number.
    pub tax_id: Option<String>,
    /// Company registration.
    pub registration: Option<String>,
    /// Contact email.
    pub email: Option<String>,
    /// Logo image.
    #[serde(skip)]
    pub logo: Option<Logo>,
    /// Footer line.
    pub footer: Option<String>,
    /// How to pay, by currency code.
    pub payment: BTreeMap<String, Payment>,
}

/// A logo: PNG or JPEG bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// `image/png` or `image/jpeg`.
    pub mime: &'static str,
    /// The file's bytes.
    pub bytes: Arc<Vec<u8>>,
}

impl Logo {
    /// The image in `bytes`, if it is a PNG or a JPEG (by its signature).
    pub fn of(bytes: Vec<u8>) -> Option<Logo> {
        let mime = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            "image/png"
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            "image/jpeg"
        } else {
            return None;
        };
        Some(Logo { mime, bytes: Arc::new(bytes) })
    }
}

/// How to pay in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Payment {
    /// Instruction lines (bank details).
    pub instructions: Vec<String>,
    /// A link template: `{number}`, `{amount}`, `{currency}` are filled in.
    pub link: Option<String>,
}

/// What the ledger says of an issued invoice: its amount and what it still owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The amount it was owed for.
    pub amount: Decimal,
    /// What it still owes on the day asked.
    pub owed: Decimal,
}

/// The document, ready to lay out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sheet {
    /// `<html lang>`: the customer's locale.
    pub lang: String,
    /// "Invoice" or "Credit note".
    pub title: String,
    /// Its number, or "(draft)".
    pub number: String,
    /// VOID or DRAFT across it, when it is not issued.
    pub mark: Option<String>,
    /// Who issues it.
    pub issuer: Vec<String>,
    /// The issuer's logo.
    #[serde(skip)]
    pub logo: Option<Logo>,
    /// Who it is addressed to: the name first.
    pub bill_to: Vec<String>,
    /// Numbered facts (issue date, due date, period, ...), label and value.
    pub facts: Vec<(String, String)>,
    /// The lines.
    pub lines: Vec<SheetLine>,
    /// Subtotal, tax per rate, total, paid, amount due.
    pub totals: Vec<TotalRow>,
    /// What the amounts do not say: a reverse charge, the rounding rule.
    pub notes: Vec<String>,
    /// How to pay.
    pub payment: Vec<String>,
    /// The payment link, filled in.
    pub payment_link: Option<String>,
    /// The footer.
    pub footer: Option<String>,
}

/// One line of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SheetLine {
    /// What it is.
    pub description: String,
    /// Smaller lines beneath: the catalog's description, the group, notes.
    pub details: Vec<String>,
    /// The service period.
    pub period: String,
    /// The billable quantity in its unit.
    pub quantity: String,
    /// The unit price.
    pub unit_price: String,
    /// Its tax rates.
    pub tax: String,
    /// The amount.
    pub amount: String,
    /// Tier rows: text and amount.
    pub tiers: Vec<(String, String)>,
}

/// A row of the totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TotalRow {
    /// What it is.
    pub label: String,
    /// The amount.
    pub amount: String,
    /// The total and the amount due stand out.
    pub strong: bool,
}

/// The document of `invoice` for `customer` from `issuer`; `trail` names linked
/// documents by number; `standing` is the ledger's word on what is paid. A customer
/// whose stored details cannot be read is an error, never a silent default.
pub fn sheet(
    invoice: &Invoice,
    customer: &Customer,
    issuer: &Issuer,
    trail: &Trail,
    standing: Option<Standing>,
) -> Result<Sheet, AccountError> {
    let profile = customer.profile()?;
    let locale = profile.locale();
    let zone = customer.timezone;
    let currency = invoice.currency;
    let day = |t: DateTime<Utc>| locale.date(t.with_timezone(&zone).date_naive());
    let last_day = |t: DateTime<Utc>| day(t - TimeDelta::seconds(1));
    let money = |a: Decimal| locale.money(a, currency);
    let credit_note = invoice.document == Document::CreditNote;

    let mut issuer_lines = vec![issuer.name.clone()];
    issuer_lines.extend(issuer.address.iter().cloned());
    issuer_lines.extend(issuer.tax_id.iter().map(|t| format!("Tax ID: {t}")));
    issuer_lines.extend(issuer.registration.iter().cloned());
    issuer_lines.extend(issuer.email.iter().cloned());

    let bill_to = bill_to(customer, &profile);

    let number = invoice.number.clone().unwrap_or_else(|| "(draft)".into());
    let mut facts =
        vec![(if credit_note { "Credit note number" } else { "Invoice number" }.to_owned(), number.clone())];
    if let Some(issued) = invoice.issued_at {
        facts.push(("Issue date".into(), day(issued)));
    }
    if let Some(due) = invoice.due {
        facts.push(("Due date".into(), locale.date(due)));
    }
    facts.push((
        "Billing period".into(),
        format!("{} – {} ({})", day(invoice.period.start()), last_day(invoice.period.end()), zone.name()),
    ));
    facts.push(("Customer".into(), customer.id.to_string()));
    facts.push(("Subscription".into(), invoice.subscription.to_string()));
    let linked = |number: &Option<String>, id: &Option<String>| number.clone().or_else(|| id.clone());
    if let Some(cancels) = linked(&trail.cancels, &invoice.credits) {
        let what = if invoice.cancels_whole() { "Cancels invoice" } else { "Credits part of invoice" };
        facts.push((what.into(), cancels));
    }
    if let Some(replaces) = linked(&trail.replaces, &invoice.revises) {
        facts.push(("Replaces invoice".into(), replaces));
    }
    if !trail.credited_by.is_empty() {
        facts.push(("Credit notes".into(), trail.credited_by.join(", ")));
    }
    if !trail.replaced_by.is_empty() {
        facts.push(("Replaced by invoice".into(), trail.replaced_by.join(", ")));
    }
    if let Some(reason) = &invoice.reason {
        facts.push(("Reason".into(), reason.clone()));
    }
    if let Some(memo) = &invoice.memo {
        facts.push(("Note".into(), memo.clone()));
    }

    let rates = invoice.tax.as_ref().map(|t| t.rates.as_slice()).unwrap_or_default();
    let lines = invoice.lines.iter().map(|l| sheet_line(l, rates, &locale, currency, zone)).collect();

    let mut totals = Vec::new();
    let mut notes = Vec::new();
    let row = |label: String, amount: Decimal, strong: bool| TotalRow { label, amount: money(amount), strong };
    if let Some(tax) = &invoice.tax {
        totals.push(row("Subtotal".into(), tax.subtotal, false));
        for rate in &tax.rates {
            let label =
                format!("{} {} ({}) on {}", rate.name, locale.percent(rate.rate), rate.jurisdiction, money(rate.base));
            totals.push(row(label, rate.tax, false));
        }
        if tax.rates.is_empty() {
            totals.push(row("Tax".into(), Decimal::ZERO, false));
        }
        notes.extend(tax.note.clone());
        if invoice.lines.iter().any(|l| l.tax_inclusive && !l.tax_rates.is_empty()) {
            notes.push("Prices include tax; the tax shown is the part of them that is tax.".into());
        }
        if !tax.rates.is_empty() {
            notes.push(match tax.rounding {
                TaxRounding::PerLine => "Tax is rounded on each line to the minor unit, half away from zero.".into(),
                TaxRounding::PerInvoice => "Tax is rounded once per rate on the invoice, half away from zero.".into(),
            });
        }
    }
    totals.push(row(if credit_note { "Total credited".into() } else { "Total".into() }, invoice.total, true));
    let owed = match standing {
        Some(s) if !credit_note && invoice.state == InvoiceState::Issued => {
            if s.amount != s.owed {
                totals.push(row("Paid or credited".into(), -(s.amount - s.owed), false));
            }
            totals.push(row("Amount due".into(), s.owed, true));
            s.owed
        }
        _ => invoice.total,
    };

    let mut payment = Vec::new();
    let mut payment_link = None;
    let payable = !credit_note && invoice.state == InvoiceState::Issued && owed > Decimal::ZERO;
    if let (true, Some(how)) = (payable, issuer.payment.get(currency.code())) {
        payment.extend(how.instructions.iter().cloned());
        payment_link = how.link.as_ref().map(|link| {
            link.replace("{number}", &number)
                .replace("{amount}", &currency.show(owed))
                .replace("{currency}", currency.code())
        });
    }

    Ok(Sheet {
        lang: locale.tag(),
        title: if credit_note { "Credit note" } else { "Invoice" }.into(),
        number,
        mark: match invoice.state {
            InvoiceState::Issued => None,
            InvoiceState::Void => Some("VOID".into()),
            InvoiceState::Draft => Some("DRAFT".into()),
        },
        issuer: issuer_lines,
        logo: issuer.logo.clone(),
        bill_to,
        facts,
        lines,
        totals,
        notes,
        payment,
        payment_link,
        footer: issuer.footer.clone(),
    })
}

/// Who a document is addressed to, line by line: the legal name (or the name), the
/// address, region and country, the tax id, the email, then other details by label.
pub fn bill_to(customer: &Customer, profile: &tally_domain::BillingProfile) -> Vec<String> {
    let mut lines = vec![profile.legal_name.clone().unwrap_or_else(|| customer.name.clone())];
    if let Some(address) = &profile.address {
        lines.extend(address.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned));
    }
    match (&profile.region, &profile.country) {
        (Some(region), Some(country)) => lines.push(format!("{region}, {country}")),
        (None, Some(country)) => lines.push(country.clone()),
        _ => {}
    }
    lines.extend(profile.tax_id.iter().map(|t| format!("Tax ID: {t}")));
    lines.extend(profile.email.iter().cloned());
    lines.extend(profile.extra.iter().map(|(k, v)| format!("{}: {v}", detail_label(k))));
    lines
}

fn sheet_line(
    line: &InvoiceLine,
    rates: &[crate::tax::RateTotal],
    locale: &Locale,
    currency: Currency,
    zone: Tz,
) -> SheetLine {
    let label = &line.label;
    let kind = match line.kind {
        LineKind::Fee | LineKind::Usage => None,
        LineKind::MinimumCommitment => Some("minimum commitment true-up"),
        LineKind::FeeAdjustment => Some("fee correction"),
        LineKind::LateUsage => Some("late usage"),
        LineKind::Credit => Some("credit"),
    };
    let name = label.name.clone().unwrap_or_else(|| match line.kind {
        LineKind::MinimumCommitment => "Minimum commitment".into(),
        LineKind::Credit => "Credit".into(),
        _ => detail_label(&line.key),
    });
    let description = match kind {
        Some(kind) => format!("{name} ({kind})"),
        None => name,
    };
    let mut details: Vec<String> = label.description.iter().cloned().collect();
    if !line.dimensions.is_empty() {
        details.push(
            line.dimensions.iter().map(|(k, v)| format!("{}: {v}", detail_label(k))).collect::<Vec<_>>().join(", "),
        );
    }
    let money = |a: Decimal| locale.money(a, currency);
    if let (Some(q), Some(b)) = (line.quantity, line.billable_quantity) {
        if q != b {
            details.push(format!("Used: {}", locale.number(q)));
        }
    }
    for note in &label.notes {
        details.push(match note {
            LineNote::Included { units } => format!("{} included in the plan", locale.number(*units)),
            LineNote::Prorated { days, of } => format!("Prorated: {days} of {of} days"),
            LineNote::Minimum { amount } => format!("Line minimum of {} applied", money(*amount)),
            LineNote::Maximum { amount } => format!("Capped at the line maximum of {}", money(*amount)),
        });
    }
    let unit = label.unit.as_deref();
    let quantity = line
        .billable_quantity
        .map(|q| {
            let n = locale.number(q.round_dp(6));
            unit.map_or(n.clone(), |u| format!("{n} × {u}"))
        })
        .unwrap_or_default();
    let unit_price = label
        .unit_price
        .filter(|_| line.billable_quantity.is_some())
        .map(|p| {
            let price = locale.unit_price(p, currency);
            unit.map_or(price.clone(), |u| format!("{price} / {u}"))
        })
        .unwrap_or_default();
    let tax = line
        .tax_rates
        .iter()
        .filter_map(|&i| rates.get(i))
        .map(|r| locale.percent(r.rate))
        .collect::<Vec<_>>()
        .join(" + ");
    let tiers = line
        .tiers
        .iter()
        .map(|tier| {
            let range = tier.up_to.map_or_else(|| "and above".to_owned(), |u| format!("up to {}", locale.number(u)));
            let mut text = format!(
                "Tier {} ({range}): {} at {}",
                tier.tier,
                locale.number(tier.quantity),
                locale.unit_price(tier.unit_price, currency)
            );
            if !tier.flat_price.is_zero() {
                text.push_str(&format!(" + {} flat", money(tier.flat_price)));
            }
            (text, money(tier.amount))
        })
        .collect();
    let day = |t: DateTime<Utc>| locale.date(t.with_timezone(&zone).date_naive());
    SheetLine {
        description,
        details,
        period: format!(
            "{} – {}",
            day(line.service_period.start()),
            day(line.service_period.end() - TimeDelta::seconds(1))
        ),
        quantity,
        unit_price,
        tax,
        amount: money(line.amount),
        tiers,
    }
}

#[cfg(test)]
mod tests;
