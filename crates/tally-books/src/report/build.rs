//! Building the report from the source (see the module docs of `report`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_domain::{Currency, Exchange};
use tally_invoicing::{Document, DocumentFigures, LineFigures, LineKind};
use tally_ledger::{aging_bucket, EntryKind, AGING_BUCKETS};

use super::{Aging, Bucket, Collected, CreditNoteRow, CustomerBilled, GroupBilled, Outstanding, RateUsed, Report};
use crate::{BooksError, Source};

/// Converts amounts to the reporting currency and remembers every rate it used.
struct Converter<'s> {
    source: &'s Source<'s>,
    used: BTreeMap<(Currency, NaiveDate, Decimal, String, &'static str), u64>,
}

impl Converter<'_> {
    fn reporting(&self) -> Option<Currency> {
        self.source.reporting.map(|(c, _)| c)
    }

    fn note(&mut self, x: &Exchange, from: Currency, source: &'static str) {
        *self.used.entry((from, x.on, x.rate, x.how.clone(), source)).or_default() += 1;
    }

    /// `doc`'s rate: recorded on it when issued, else its issue day's.
    fn of_doc(&mut self, doc: &DocumentFigures) -> Result<Option<Exchange>, BooksError> {
        let Some(reporting) = self.reporting() else { return Ok(None) };
        if let Some(x) = doc.exchange.as_ref().filter(|x| x.currency == reporting) {
            self.note(x, doc.currency, "recorded");
            return Ok(Some(x.clone()));
        }
        let day = doc.issued_at.map_or(doc.period.end().date_naive(), |t| t.date_naive());
        let what = doc.number.clone().unwrap_or_else(|| doc.id.clone());
        self.on(doc.currency, day, &what).map(Some)
    }

    /// The rate of `day` from `currency` (for `what`, named in an error).
    fn on(&mut self, currency: Currency, day: NaiveDate, what: &str) -> Result<Exchange, BooksError> {
        let (reporting, max_age) = self.source.reporting.expect("only called with a reporting currency");
        let x = self
            .source
            .rates
            .exchange(currency, reporting, day, max_age)
            .map_err(|source| BooksError::Rate { what: what.to_owned(), source })?;
        self.note(&x, currency, "looked up");
        Ok(x)
    }
}

/// Adds `x` to an optional sum (kept `None` without a reporting currency).
fn add(sum: &mut Option<Decimal>, x: Option<Decimal>) {
    if let Some(x) = x {
        *sum = Some(sum.unwrap_or(Decimal::ZERO) + x);
    }
}

/// The report of `source`.
pub fn build(source: &Source<'_>) -> Result<Report, BooksError> {
    let mut fx = Converter { source, used: BTreeMap::new() };
    let reporting = fx.reporting();
    let zero = || reporting.map(|_| Decimal::ZERO);
    let name_of = |id: &tally_domain::CustomerId| source.customers.get(id).map_or_else(|| id.to_string(), |a| a.name());
    let numbers = source.numbers();

    let mut by_customer: BTreeMap<(String, Currency), CustomerBilled> = BTreeMap::new();
    let mut by_plan: BTreeMap<(String, Currency), GroupBilled> = BTreeMap::new();
    let mut by_meter: BTreeMap<(String, Currency), GroupBilled> = BTreeMap::new();
    let mut credit_notes = Vec::new();
    for doc in &source.documents {
        let Some(number) = doc.number.clone() else { continue };
        let x = fx.of_doc(doc)?;
        let convert = |amount: Decimal| x.as_ref().map(|x| x.convert(amount));
        let row = by_customer.entry((doc.customer.to_string(), doc.currency)).or_insert_with(|| CustomerBilled {
            customer: doc.customer.to_string(),
            name: name_of(&doc.customer),
            currency: doc.currency,
            invoices: 0,
            credit_notes: 0,
            subtotal: Decimal::ZERO,
            tax: Decimal::ZERO,
            total: Decimal::ZERO,
            reporting_total: zero(),
        });
        let tax = doc.tax.as_ref().map_or(Decimal::ZERO, |t| t.tax);
        match doc.document {
            Document::Invoice => row.invoices += 1,
            Document::CreditNote => row.credit_notes += 1,
        }
        row.subtotal += doc.total - tax;
        row.tax += tax;
        row.total += doc.total;
        add(&mut row.reporting_total, convert(doc.total));
        // Per plan and per meter: the document's lines added up, then converted once.
        let mut plans: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
        let mut meters: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
        for line in &doc.lines {
            let net = crate::lines::net(doc, line);
            let plan = plans.entry(line.plan.to_string()).or_default();
            (plan.0, plan.1) = (plan.0 + 1, plan.1 + net);
            let meter = meters.entry(meter_of(source, line)).or_default();
            (meter.0, meter.1) = (meter.0 + 1, meter.1 + net);
        }
        for (groups, into) in [(plans, &mut by_plan), (meters, &mut by_meter)] {
            for (key, (lines, amount)) in groups {
                let g = into.entry((key.clone(), doc.currency)).or_insert_with(|| GroupBilled {
                    key,
                    currency: doc.currency,
                    lines: 0,
                    amount: Decimal::ZERO,
                    reporting_amount: zero(),
                });
                g.lines += lines;
                g.amount += amount;
                add(&mut g.reporting_amount, convert(amount));
            }
        }
        if doc.document == Document::CreditNote {
            credit_notes.push(CreditNoteRow {
                number,
                issued: doc.issued_at.map_or(doc.period.end().date_naive(), |t| t.date_naive()),
                customer: doc.customer.to_string(),
                name: name_of(&doc.customer),
                credits: numbers.credited(doc).unwrap_or_default(),
                reason: doc.reason.clone().unwrap_or_default(),
                currency: doc.currency,
                total: doc.total,
                reporting_total: convert(doc.total),
            });
        }
    }

    let mut collected: BTreeMap<(String, Currency), Collected> = BTreeMap::new();
    for entry in source.entries.iter().filter(|e| source.range.contains(e.effective)) {
        let sign = match &entry.kind {
            EntryKind::Payment { .. } => Decimal::ONE,
            EntryKind::PaymentReversal { .. } | EntryKind::Refund { .. } => Decimal::NEGATIVE_ONE,
            _ => continue,
        };
        let reference = match &entry.kind {
            EntryKind::Payment { reference }
            | EntryKind::PaymentReversal { reference, .. }
            | EntryKind::Refund { reference, .. } => reference.clone(),
            _ => String::new(),
        };
        let converted = match reporting {
            Some(_) => Some(
                fx.on(entry.currency, entry.effective, &format!("{} {reference}", entry.kind_name()))?
                    .convert(entry.amount),
            ),
            None => None,
        };
        let row = collected.entry((entry.customer.to_string(), entry.currency)).or_insert_with(|| Collected {
            customer: entry.customer.to_string(),
            name: name_of(&entry.customer),
            currency: entry.currency,
            payments: 0,
            received: Decimal::ZERO,
            reversed: Decimal::ZERO,
            refunded: Decimal::ZERO,
            net: Decimal::ZERO,
            reporting_net: zero(),
        });
        match &entry.kind {
            EntryKind::Payment { .. } => {
                row.payments += 1;
                row.received += entry.amount;
            }
            EntryKind::PaymentReversal { .. } => row.reversed += entry.amount,
            _ => row.refunded += entry.amount,
        }
        row.net += sign * entry.amount;
        add(&mut row.reporting_net, converted.map(|c| sign * c));
    }

    let day = source.range.to;
    let mut outstanding = Vec::new();
    let mut aging: BTreeMap<(bool, Currency), [Decimal; 5]> = BTreeMap::new();
    for open in &source.totals.open {
        let days = (day - open.due).num_days();
        let bucket = aging_bucket(days);
        let at = AGING_BUCKETS.iter().position(|b| *b == bucket).unwrap_or(0);
        let reporting_owed = match reporting {
            Some(r) => {
                let owed = fx.on(open.currency, day, &format!("{} owed on {day}", open.number))?.convert(open.owed);
                aging.entry((true, r)).or_default()[at] += owed;
                Some(owed)
            }
            None => None,
        };
        aging.entry((false, open.currency)).or_default()[at] += open.owed;
        outstanding.push(Outstanding {
            number: open.number.clone(),
            customer: open.customer.to_string(),
            name: name_of(&open.customer),
            issued: open.issued,
            due: open.due,
            days_overdue: days.max(0),
            bucket,
            currency: open.currency,
            amount: open.amount,
            owed: open.owed,
            reporting_owed,
        });
    }
    let aging = aging
        .into_iter()
        .map(|((converted, currency), amounts)| Aging {
            currency,
            converted,
            buckets: AGING_BUCKETS.iter().zip(amounts).map(|(b, amount)| Bucket { bucket: b, amount }).collect(),
            total: amounts.iter().sum(),
        })
        .collect();
    let rates = match reporting {
        Some(r) => fx
            .used
            .into_iter()
            .map(|((currency, on, rate, how, source), uses)| RateUsed {
                currency,
                reporting: r,
                on,
                rate,
                how,
                source,
                uses,
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(Report {
        from: source.range.from,
        to: source.range.to,
        reporting_currency: reporting,
        billed_by_customer: by_customer.into_values().collect(),
        billed_by_plan: by_plan.into_values().collect(),
        billed_by_meter: by_meter.into_values().collect(),
        collected: collected.into_values().collect(),
        outstanding,
        aging,
        credit_notes,
        rates,
    })
}

/// The meter a line bills (its charge's, in the catalog), or what kind of line it is.
fn meter_of(source: &Source<'_>, line: &LineFigures) -> String {
    match line.kind {
        LineKind::Usage | LineKind::LateUsage => source
            .catalog
            .plan(line.plan.as_str())
            .and_then(|p| p.charges.iter().find(|c| c.key.as_str() == line.key))
            .map_or_else(|| format!("charge {}", line.key), |c| c.meter.to_string()),
        LineKind::Fee | LineKind::FeeAdjustment => "fees".into(),
        LineKind::MinimumCommitment => "minimum commitment".into(),
        LineKind::Credit => "credits".into(),
    }
}
