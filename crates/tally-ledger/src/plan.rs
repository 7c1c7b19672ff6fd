//! Billing acts turned into the entries they append, checked against the book first.
//!
//! Each function takes the book of *every* entry (`Book::all`), so what it checks is
//! the ledger as it stands, and returns the entries to append, in order; an empty list
//! means the act was done already (the same payment reference with the same amount and
//! date, say). Entry ids derive from the act, so appending the same act twice, or two
//! callers appending it at once, stores it once.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use tally_domain::{Currency, CustomerId};

use crate::book::Book;
use crate::entry::{Entry, EntryKind, Source};
use crate::error::LedgerError;

/// An entry id from its parts; `%` and `|` inside a part are escaped, so different
/// parts never give the same id.
pub fn entry_id(parts: &[&str]) -> String {
    parts.iter().map(|p| p.replace('%', "%25").replace('|', "%7C")).collect::<Vec<_>>().join("|")
}

/// `amount` is positive and held to the currency's minor unit (no 10.005 EUR, no 0.5 JPY).
pub fn check_amount(amount: Decimal, currency: Currency) -> Result<(), LedgerError> {
    let refuse = |why: String| LedgerError::Amount { amount: amount.to_string(), currency: currency.to_string(), why };
    if amount <= Decimal::ZERO {
        return Err(refuse("must be above zero".into()));
    }
    if amount.normalize().scale() > currency.minor_units() {
        return Err(refuse(format!("has more decimals than the currency's {}", currency.minor_units())));
    }
    Ok(())
}

/// A reference (a bank line's, a refund's) as people and bank files write it: not
/// empty, no control characters (it reaches statements, CSV files and terminals).
fn check_reference(reference: &str) -> Result<&str, LedgerError> {
    let reference = reference.trim();
    let refuse = |why: &str| LedgerError::Invalid { field: "reference", why: why.into() };
    if reference.is_empty() {
        return Err(refuse("is empty"));
    }
    if reference.chars().any(char::is_control) {
        return Err(refuse("contains a control character"));
    }
    Ok(reference)
}

fn not_future(field: &'static str, day: NaiveDate, today: NaiveDate) -> Result<(), LedgerError> {
    if day > today {
        return Err(LedgerError::Date { field, why: format!("{day} is in the future (today is {today})") });
    }
    Ok(())
}

/// Who, in which currency, when, and why: what every act carries.
#[derive(Debug, Clone)]
pub struct Context {
    /// Whose account.
    pub customer: CustomerId,
    /// In which currency.
    pub currency: Currency,
    /// The day the act takes effect.
    pub day: NaiveDate,
    /// Today, in the ledger's calendar (acts may not be dated later).
    pub today: NaiveDate,
    /// When it is appended.
    pub recorded_at: DateTime<Utc>,
    /// Free text for people.
    pub memo: String,
}

impl Context {
    fn entry(&self, id: String, amount: Decimal, effective: NaiveDate, kind: EntryKind) -> Entry {
        Entry {
            id,
            customer: self.customer.clone(),
            currency: self.currency,
            effective,
            recorded_at: self.recorded_at,
            // Written with the currency's decimals (40 becomes 40.00); checked exact before.
            amount: self.currency.round(amount).unwrap_or(amount),
            kind,
            memo: self.memo.clone(),
        }
    }
}

/// An issued invoice enters the ledger: the customer owes its total from its issue day.
pub fn invoice(
    book: &Book,
    ctx: &Context,
    document: &str,
    number: &str,
    amount: Decimal,
    due: NaiveDate,
) -> Result<Vec<Entry>, LedgerError> {
    let id = entry_id(&["invoice", document]);
    if book.has(&id) {
        return Ok(Vec::new());
    }
    if amount.is_zero() {
        return Ok(Vec::new()); // nothing owed: no entry (a zero invoice neither owes nor pays)
    }
    check_amount(amount, ctx.currency)?;
    let kind = EntryKind::Invoice { document: document.into(), number: number.into(), due };
    Ok(vec![ctx.entry(id, amount, ctx.day, kind)])
}

/// An invoice whose total is below zero (a downgrade's or an end's fee corrections
/// outweigh what it bills): the customer is owed `amount` (positive), kept as credit
/// under the invoice's own id and number, to be applied or refunded like a credit note's.
pub fn negative_invoice(
    book: &Book,
    ctx: &Context,
    document: &str,
    number: &str,
    amount: Decimal,
) -> Result<Vec<Entry>, LedgerError> {
    let id = entry_id(&["credit_note", document]);
    if book.has(&id) {
        return Ok(Vec::new());
    }
    check_amount(amount, ctx.currency)?;
    let kind = EntryKind::CreditNote {
        document: document.into(),
        number: number.into(),
        credits: document.into(),
        reason: "invoice total below zero".into(),
    };
    Ok(vec![ctx.entry(id, amount, ctx.day, kind)])
}

/// Money received: recorded once per customer and reference, then allocated to the
/// named invoices in order, or else to the oldest open ones; what is left is credit.
pub fn payment(
    book: &Book,
    ctx: &Context,
    reference: &str,
    amount: Decimal,
    allocate_to: &[String],
) -> Result<Vec<Entry>, LedgerError> {
    check_amount(amount, ctx.currency)?;
    not_future("received_on", ctx.day, ctx.today)?;
    let reference = check_reference(reference)?;
    let source = Source::Payment(reference.to_owned());
    if let Some(known) = book.source(&ctx.customer, &source) {
        if known.amount == amount && known.effective == ctx.day && known.currency == ctx.currency {
            return Ok(Vec::new()); // the same payment again: recorded already
        }
        return Err(LedgerError::Reference {
            what: format!("reference {reference}"),
            why: format!(
                "recorded already for customer {} ({} {} on {}); a reference counts once",
                ctx.customer, known.amount, known.currency, known.effective
            ),
        });
    }
    let id = entry_id(&["payment", ctx.customer.as_str(), reference]);
    let mut out = vec![ctx.entry(id.clone(), amount, ctx.day, EntryKind::Payment { reference: reference.into() })];
    let targets: Vec<_> = if allocate_to.is_empty() {
        book.open(Some(&ctx.customer)).into_iter().filter(|d| d.currency == ctx.currency).collect()
    } else {
        let mut targets = Vec::new();
        for document in allocate_to {
            let doc = book.invoice(document).filter(|d| d.customer == ctx.customer).ok_or_else(|| {
                LedgerError::Reference {
                    what: format!("invoice {document}"),
                    why: format!("is not an issued invoice of customer {}", ctx.customer),
                }
            })?;
            if doc.currency != ctx.currency {
                return Err(LedgerError::Refused(format!(
                    "invoice {} is in {}, the payment in {}",
                    doc.number, doc.currency, ctx.currency
                )));
            }
            targets.push(doc);
        }
        targets
    };
    let mut left = amount;
    for doc in targets {
        let part = left.min(doc.owed);
        if part <= Decimal::ZERO {
            continue;
        }
        left -= part;
        let kind = EntryKind::Allocation { source: source.clone(), document: doc.document.clone() };
        out.push(ctx.entry(entry_id(&[&id, "to", &doc.document]), part, ctx.day.max(doc.issued), kind));
        if left.is_zero() {
            break;
        }
    }
    Ok(out)
}

/// Credit not yet allocated (payments, credit notes) applied to the open invoices of
/// the customer in that currency, oldest credit to oldest invoice.
pub fn apply_credit(book: &Book, ctx: &Context, act: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut open: Vec<(String, NaiveDate, Decimal)> = book
        .open(Some(&ctx.customer))
        .into_iter()
        .filter(|d| d.currency == ctx.currency)
        .map(|d| (d.document.clone(), d.issued, d.owed))
        .collect();
    for (source, mut credit) in book.sources_with_credit(&ctx.customer, ctx.currency) {
        let since = book.source(&ctx.customer, &source).map_or(ctx.day, |s| s.effective);
        for (document, issued, owed) in open.iter_mut().filter(|d| d.2 > Decimal::ZERO) {
            let part = credit.min(*owed);
            credit -= part;
            *owed -= part;
            let kind = EntryKind::Allocation { source: source.clone(), document: document.clone() };
            let id = entry_id(&[act, "apply", source.id(), document]);
            out.push(ctx.entry(id, part, ctx.day.max(*issued).max(since), kind));
            if credit.is_zero() {
                break;
            }
        }
    }
    out
}

/// A credit note for `amount` of invoice `invoice` (a partial credit for a dispute, or
/// the whole of it for a void): its credit goes to what the invoice still owes; any
/// more stays as the customer's credit.
pub fn credit_note(
    book: &Book,
    ctx: &Context,
    invoice: &str,
    note: (&str, &str),
    amount: Decimal,
    reason: &str,
) -> Result<Vec<Entry>, LedgerError> {
    check_amount(amount, ctx.currency)?;
    let doc = book.invoice(invoice).filter(|d| d.customer == ctx.customer).ok_or_else(|| LedgerError::Reference {
        what: format!("invoice {invoice}"),
        why: "is not in the ledger".into(),
    })?;
    let (document, number) = note;
    let id = entry_id(&["credit_note", document]);
    if book.has(&id) {
        return Ok(Vec::new());
    }
    let kind = EntryKind::CreditNote {
        document: document.into(),
        number: number.into(),
        credits: invoice.into(),
        reason: reason.into(),
    };
    let day = ctx.day.max(doc.issued);
    let mut out = vec![ctx.entry(id.clone(), amount, day, kind)];
    let part = amount.min(doc.owed);
    if part > Decimal::ZERO {
        let kind = EntryKind::Allocation { source: Source::CreditNote(document.into()), document: invoice.into() };
        out.push(ctx.entry(entry_id(&[&id, "to", invoice]), part, day, kind));
    }
    Ok(out)
}

/// What a void does to the money: every payment or credit allocated to the voided
/// invoice is taken off it, a credit note for its whole amount settles it, and, with a
/// revision, the revision is owed and the money taken off the voided invoice goes to
/// it first (what it does not need stays the customer's credit). Nothing paid is lost,
/// and no payment counts twice.
pub fn void(
    book: &Book,
    ctx: &Context,
    invoice: &str,
    note: (&str, &str),
    revision: Option<(&str, &str, Decimal, NaiveDate)>,
) -> Result<Vec<Entry>, LedgerError> {
    let doc = book.invoice(invoice).filter(|d| d.customer == ctx.customer).ok_or_else(|| LedgerError::Reference {
        what: format!("invoice {invoice}"),
        why: "is not in the ledger".into(),
    })?;
    let act = entry_id(&["void", invoice]);
    if book.has(&entry_id(&["credit_note", note.0])) {
        return Ok(Vec::new());
    }
    let allocated = book.allocations_to(&ctx.customer, invoice);
    let moved: Decimal = allocated.iter().map(|(_, a)| *a).sum();
    if doc.owed + moved != doc.amount {
        return Err(LedgerError::Refused(format!(
            "invoice {} has been written off in part; it cannot be voided",
            doc.number
        )));
    }
    let day = ctx.day.max(doc.issued);
    let mut out = Vec::new();
    for (source, amount) in &allocated {
        let kind = EntryKind::Deallocation { source: source.clone(), document: invoice.into() };
        out.push(ctx.entry(entry_id(&[&act, "off", source.id()]), *amount, day, kind));
    }
    let mut after = book.clone();
    out.iter().for_each(|e| after.add(e));
    out.extend(credit_note(&after, ctx, invoice, note, doc.amount, "void")?);
    if let Some((document, number, amount, due)) = revision {
        // The revision is owed from the day it is issued; the money moved off the
        // voided invoice reaches it once both exist.
        let issued = self::invoice(&after, ctx, document, number, amount, due)?;
        issued.iter().for_each(|e| after.add(e));
        out.extend(issued);
        let mut room = amount;
        for (source, moved) in allocated {
            let part = moved.min(room);
            if part <= Decimal::ZERO {
                break;
            }
            room -= part;
            let kind = EntryKind::Allocation { source: source.clone(), document: document.into() };
            out.push(ctx.entry(entry_id(&[&act, "to", source.id(), document]), part, day, kind));
        }
    }
    Ok(out)
}

/// A payment that bounced or was charged back: taken off every invoice it paid (they
/// owe again) and out of the customer's credit.
pub fn reverse_payment(book: &Book, ctx: &Context, reference: &str, reason: &str) -> Result<Vec<Entry>, LedgerError> {
    not_future("day", ctx.day, ctx.today)?;
    let source = Source::Payment(reference.into());
    let state = book.source(&ctx.customer, &source).ok_or_else(|| LedgerError::Reference {
        what: format!("payment {reference}"),
        why: format!("no such payment of customer {}", ctx.customer),
    })?;
    let act = entry_id(&["reversal", ctx.customer.as_str(), reference]);
    if book.has(&act) {
        return Ok(Vec::new());
    }
    if reason.trim().is_empty() {
        return Err(LedgerError::Refused(
            "reason: say why the payment is reversed (bounced, charged back, ...)".into(),
        ));
    }
    let day = ctx.day.max(state.effective);
    let mut out = Vec::new();
    for (document, amount) in book.allocations_of(&ctx.customer, &source) {
        let kind = EntryKind::Deallocation { source: source.clone(), document: document.clone() };
        out.push(ctx.entry(entry_id(&[&act, "off", &document]), amount, day, kind));
    }
    // The whole payment: its money never arrived, whatever was refunded of it since
    // (a refund paid out real money; the customer owes that back too, as a negative
    // credit until it is settled).
    let kind = EntryKind::PaymentReversal { reference: reference.into(), reason: reason.into() };
    out.push(ctx.entry(act, state.amount, day, kind));
    Ok(out)
}

/// Credit paid back to the customer, out of what `source` has not allocated.
pub fn refund(
    book: &Book,
    ctx: &Context,
    source: &Source,
    reference: &str,
    amount: Decimal,
) -> Result<Vec<Entry>, LedgerError> {
    check_amount(amount, ctx.currency)?;
    not_future("day", ctx.day, ctx.today)?;
    let reference = check_reference(reference)?;
    let id = entry_id(&["refund", ctx.customer.as_str(), reference]);
    if book.has(&id) {
        return Ok(Vec::new());
    }
    let available = book.available(&ctx.customer, source).ok_or_else(|| LedgerError::Reference {
        what: format!(
            "{} {}",
            if matches!(source, Source::Payment(_)) { "payment" } else { "credit note" },
            source.id()
        ),
        why: format!("no such credit of customer {}", ctx.customer),
    })?;
    if amount > available {
        return Err(LedgerError::Refused(format!(
            "{amount} {} is more than the {available} of {} not allocated to invoices",
            ctx.currency,
            source.id()
        )));
    }
    let kind = EntryKind::Refund { source: source.clone(), reference: reference.into() };
    Ok(vec![ctx.entry(id, amount, ctx.day, kind)])
}

/// What invoice `invoice` still owes, given up.
pub fn write_off(book: &Book, ctx: &Context, invoice: &str, reason: &str) -> Result<Vec<Entry>, LedgerError> {
    not_future("day", ctx.day, ctx.today)?;
    let doc = book.invoice(invoice).filter(|d| d.customer == ctx.customer).ok_or_else(|| LedgerError::Reference {
        what: format!("invoice {invoice}"),
        why: "is not in the ledger".into(),
    })?;
    let id = entry_id(&["write_off", invoice]);
    if book.has(&id) || doc.owed <= Decimal::ZERO {
        return Ok(Vec::new());
    }
    let kind = EntryKind::WriteOff { document: invoice.into(), reason: reason.into() };
    Ok(vec![ctx.entry(id, doc.owed, ctx.day.max(doc.issued), kind)])
}
