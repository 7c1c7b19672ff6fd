//! Partial credit notes: part of an issued invoice given back, for an amount or for
//! chosen lines, with a reason and a memo (how disputes are usually settled). The
//! invoice stays issued (a void cancels all of it); the credit note is a document of
//! its own, with its own number, naming the invoice it credits. In the ledger its
//! credit goes to what the invoice still owes, and what the invoice no longer owes
//! stays the customer's credit (`tally_ledger::plan::credit_note`).
//!
//! A credit note's id derives from the invoice and from what it credits, so a retried
//! request (or two at once) issues one credit note. Credits of one invoice never add
//! up to more than its total, and a line is credited once.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_domain::Catalog;
use tally_invoicing::{Document, Invoice, InvoiceLine, InvoiceState, LineKind};
use tally_ledger::plan;
use tally_store::{InvoiceStore, LedgerStore};

use crate::close::{documents_of, find_invoice, parse_record, record};
use crate::error::InvoicerError;
use crate::receivables::Terms;

/// What a credit note gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credit {
    /// An amount, in the invoice's currency, to its minor unit.
    Amount(Decimal),
    /// Whole lines of the invoice, by position (from 0, as the invoice lists them).
    Lines(Vec<usize>),
}

/// A credit note issued (or found issued already).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credited {
    /// The credit note's id and number.
    pub credit_note: (String, String),
    /// The invoice's number.
    pub invoice: String,
    /// The invoice's currency.
    pub currency: tally_domain::Currency,
    /// What it gives back (positive).
    pub amount: Decimal,
    /// What the invoice still owes after it.
    pub owed: Decimal,
    /// False when the same credit note was issued already (nothing changed).
    pub issued: bool,
}

/// Longest reason or memo kept.
const MAX_TEXT: usize = 2_000;

/// Issues a credit note for part of issued invoice `id` (or number).
#[allow(clippy::too_many_arguments)]
pub async fn credit<S>(
    store: &S,
    catalog: &Catalog,
    id: &str,
    what: &Credit,
    reason: &str,
    memo: &str,
    now: DateTime<Utc>,
    prefix: &str,
    terms: Terms,
) -> Result<Credited, InvoicerError>
where
    S: InvoiceStore + LedgerStore + tally_store::RateStore,
{
    let refuse = |why: String| InvoicerError::NotCreditable { id: id.to_owned(), why };
    let stored = find_invoice(store, id).await?.ok_or_else(|| refuse("no such invoice".into()))?;
    let original = parse_record(&stored)?;
    if original.state != InvoiceState::Issued || original.document != Document::Invoice {
        let why = format!("it is a {:?} {:?}; only issued invoices can be credited", original.state, original.document);
        return Err(refuse(why.to_lowercase()));
    }
    let (reason, memo) = (reason.trim(), memo.trim());
    if reason.is_empty() {
        return Err(refuse("a reason is required (the customer and the books read it)".into()));
    }
    for (field, text) in [("reason", reason), ("memo", memo)].into_iter().filter(|(_, t)| !t.is_empty()) {
        tally_domain::account::check_text(field, text, true).map_err(|e| refuse(e.to_string()))?;
        if text.chars().count() > MAX_TEXT {
            return Err(refuse(format!("{field}: longer than {MAX_TEXT} characters")));
        }
    }
    let documents = documents_of(store, &original.subscription).await?;
    let earlier: Vec<&Invoice> = documents
        .iter()
        .filter(|d| {
            d.document == Document::CreditNote
                && d.credits.as_deref() == Some(original.id.as_str())
                && d.state == InvoiceState::Issued
        })
        .collect();
    let (lines, key) = match what {
        Credit::Amount(amount) => {
            plan::check_amount(*amount, original.currency)?;
            let plan =
                original.lines.first().map(|l| l.plan.clone()).ok_or_else(|| refuse("it has no lines".into()))?;
            // An amount given back is what the customer paid, tax included: its tax is
            // taken out at the rates the invoice charged.
            let tax_rates = match original.tax {
                Some(_) => tally_invoicing::tax::common_rates(&original).ok_or_else(|| {
                    refuse("its lines carry different tax rates; credit lines instead of an amount".into())
                })?,
                None => Vec::new(),
            };
            let line = InvoiceLine {
                key: "credit".into(),
                plan,
                kind: LineKind::Credit,
                service_period: original.period,
                dimensions: Default::default(),
                quantity: None,
                billable_quantity: None,
                tiers: Vec::new(),
                amount: -*amount,
                label: Default::default(),
                tax: None,
                tax_rates,
                tax_inclusive: original.tax.is_some(),
            };
            (vec![line], format!("amount {}", amount.normalize()))
        }
        Credit::Lines(chosen) => {
            if chosen.is_empty() {
                return Err(refuse("name at least one line".into()));
            }
            let mut seen = std::collections::BTreeSet::new();
            let mut lines = Vec::new();
            for &i in chosen {
                let line = original.lines.get(i).ok_or_else(|| {
                    refuse(format!(
                        "it has {} lines (0 to {}); there is no line {i}",
                        original.lines.len(),
                        original.lines.len().saturating_sub(1)
                    ))
                })?;
                if !seen.insert(i) {
                    return Err(refuse(format!("line {i} is named twice")));
                }
                if let Some(note) = earlier.iter().find(|n| n.credited_lines.contains(&i)) {
                    let number = note.number.clone().unwrap_or_default();
                    return Err(refuse(format!("line {i} is credited already, by {number}")));
                }
                let mut negated = line.clone();
                negated.amount = -line.amount;
                negated.quantity = line.quantity.map(|q| -q);
                negated.billable_quantity = line.billable_quantity.map(|q| -q);
                lines.push(negated);
            }
            let names: Vec<String> = seen.iter().map(usize::to_string).collect();
            (lines, format!("lines {}", names.join(",")))
        }
    };
    // Tax at the invoice's own rates (they may have changed in the catalog since).
    let (lines, tax, amount) = {
        let mut shell = original.clone();
        shell.lines = lines;
        tally_invoicing::tax::compute(&mut shell);
        (shell.lines, shell.tax, -shell.total)
    };
    let note_id = format!("{}/cn-{}", original.id, short_hash(&plan::entry_id(&[&key, reason])));
    if let Some(existing) = documents.iter().find(|d| d.id == note_id) {
        let number = existing.number.clone().unwrap_or_default();
        let owed = into_ledger(store, terms, &original, (&note_id, &number), amount, reason, now).await?;
        let invoice = original.number.clone().unwrap_or_default();
        return Ok(Credited {
            credit_note: (note_id, number),
            invoice,
            currency: original.currency,
            amount,
            owed,
            issued: false,
        });
    }
    if amount <= Decimal::ZERO {
        return Err(refuse(format!("the lines chosen add up to {amount}: nothing to give back")));
    }
    let credited: Decimal = earlier.iter().map(|n| n.total.abs()).sum();
    let left = original.total - credited;
    if amount > left {
        let numbers: Vec<String> = earlier.iter().filter_map(|n| n.number.clone()).collect();
        let why = if numbers.is_empty() {
            format!("{amount} is more than its total {}", original.total)
        } else {
            format!("{amount} is more than is left to credit: {left} (credited already by {})", numbers.join(", "))
        };
        return Err(refuse(why));
    }
    let note = Invoice {
        id: note_id.clone(),
        number: None,
        customer: original.customer.clone(),
        subscription: original.subscription.clone(),
        period: original.period,
        currency: original.currency,
        state: InvoiceState::Issued,
        lines,
        total: -amount,
        tax,
        due: None,
        exchange: None,
        issued_at: Some(now),
        document: Document::CreditNote,
        credits: Some(original.id.clone()),
        revises: None,
        reason: Some(reason.to_owned()),
        memo: (!memo.is_empty()).then(|| memo.to_owned()),
        credited_lines: match what {
            Credit::Lines(chosen) => {
                let mut chosen = chosen.clone();
                chosen.sort_unstable();
                chosen
            }
            Credit::Amount(_) => Vec::new(),
        },
        spans: Vec::new(),
        late_only: false,
        prices: Default::default(),
    };
    let mut note = note;
    let rates = crate::exchange::Rates::read(store, terms.reporting).await?;
    crate::exchange::record(rates.as_ref(), &mut note)?;
    let number = crate::void::number_of(store, &record(&note, catalog)?, prefix).await?;
    let owed = into_ledger(store, terms, &original, (&note_id, &number), amount, reason, now).await?;
    tracing::info!(invoice = %original.id, credit_note = %number, %amount, "credit note issued");
    let invoice = original.number.clone().unwrap_or_default();
    Ok(Credited { credit_note: (note_id, number), invoice, currency: original.currency, amount, owed, issued: true })
}

/// The credit note's entries (once); returns what the invoice still owes.
async fn into_ledger<S: LedgerStore>(
    store: &S,
    terms: Terms,
    original: &Invoice,
    note: (&str, &str),
    amount: Decimal,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Decimal, InvoicerError> {
    let mut entries = store.entries(Some(&original.customer)).await?;
    crate::receivables::owe(store, terms, original, &mut entries).await?;
    let book = tally_ledger::Book::all(&entries);
    let memo = format!("{reason} ({})", original.number.clone().unwrap_or_default());
    let ctx = crate::receivables::context(&original.customer, original.currency, now.date_naive(), now, &memo);
    let new = plan::credit_note(&book, &ctx, &original.id, note, amount, reason)?;
    store.append_entries(&new).await?;
    let mut after = book;
    new.iter().for_each(|e| after.add(e));
    Ok(after.invoice(&original.id).map_or(Decimal::ZERO, |d| d.owed))
}

pub(crate) fn short_hash(text: &str) -> String {
    tally_domain::fingerprint(text)
}

#[cfg(test)]
mod tests {
    use super::short_hash;

    #[test]
    fn the_hash_is_stable() {
        // Known FNV-1a 64 values: ids stored today must be found again by later builds.
        assert_eq!(short_hash(""), "cbf29ce484222325");
        assert_eq!(short_hash("a"), "af63dc4c8601ec8c");
    }
}
