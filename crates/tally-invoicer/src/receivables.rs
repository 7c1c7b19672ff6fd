//! Receivables through the ledger: the billing acts after an invoice is issued (record
//! a payment, reverse it, refund credit, credit part of an invoice, write one off) and
//! what is derived from the entries (what is owed, overdue, aging, statements), as one
//! set of calls that the CLI and the HTTP API both use; the rules are in
//! `tally_ledger::plan`, the entries in the store.
//!
//! Issued documents enter the ledger when they are issued (invoice close, void,
//! rebill), so every read and act works on the ledger's entries alone: one customer's
//! entries for an act or a statement, the store's totals (added up where the entries
//! are) for aging and overdue lists. [`sync`] brings in what was issued before the
//! ledger existed (and payments of the old per-invoice payments table), idempotently:
//! `tally migrate` runs it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use tally_domain::{Currency, CustomerId};
use tally_invoicing::{Document, Invoice, InvoiceState};
use tally_ledger::plan::{self, Context};
use tally_ledger::{AgingRow, Book, Entry, LedgerError, OpenDocument, Source, Statement};
use tally_store::{InvoiceFilter, InvoiceStore, LedgerStore, PaymentStore};

use crate::close::parse_record;
use crate::error::InvoicerError;

/// How receivables are kept.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    /// An invoice is due this long after it is issued.
    pub payment_terms: TimeDelta,
    /// The reporting currency issued documents record their rate to, if any.
    pub reporting: Option<crate::exchange::Reporting>,
}

impl Terms {
    /// When `doc`, issued at `issued`, is due: the date it was issued with, or (an
    /// invoice issued before due dates were kept) the default terms after issue.
    pub fn due_of(&self, doc: &Invoice, issued: DateTime<Utc>) -> NaiveDate {
        self.due_or_default(doc.due, issued)
    }

    /// `due`, or (none kept) the default terms after `issued`.
    pub fn due_or_default(&self, due: Option<NaiveDate>, issued: DateTime<Utc>) -> NaiveDate {
        due.unwrap_or_else(|| (issued + self.payment_terms).date_naive())
    }

    /// When an invoice issued to `customer` at `issued` is due: its own payment terms
    /// (`billing_details.payment_terms_days`) or the default.
    pub fn due_for(&self, profile: &tally_domain::BillingProfile, issued: DateTime<Utc>) -> NaiveDate {
        let terms = profile.payment_terms_days.map_or(self.payment_terms, |days| TimeDelta::days(i64::from(days)));
        (issued + terms).date_naive()
    }
}

impl From<LedgerError> for InvoicerError {
    fn from(err: LedgerError) -> Self {
        InvoicerError::Ledger(err)
    }
}

/// Who acts on which account, in which currency, from which day, and when.
#[derive(Debug, Clone, Copy)]
pub struct On<'a> {
    /// The customer.
    pub customer: &'a CustomerId,
    /// The currency of the act.
    pub currency: Currency,
    /// The day it takes effect (a payment's received date).
    pub day: NaiveDate,
    /// The clock: today is its date, and entries are recorded at it.
    pub now: DateTime<Utc>,
}

impl On<'_> {
    fn context(&self, memo: &str) -> Context {
        context(self.customer, self.currency, self.day, self.now, memo)
    }
}

/// The context of an act on `customer`'s account in `currency`, effective `day`, at `now`.
pub(crate) fn context(
    customer: &CustomerId,
    currency: Currency,
    day: NaiveDate,
    now: DateTime<Utc>,
    memo: &str,
) -> Context {
    Context {
        customer: customer.clone(),
        currency,
        day,
        today: now.date_naive(),
        recorded_at: now,
        memo: memo.to_owned(),
    }
}

/// The ledger entry of an invoice issued at `issued`: owed, due on `due`; a total below zero is the customer's credit (`plan::negative_invoice`); a
/// zero total is no entry.
pub fn invoice_entry(
    due: NaiveDate,
    customer: &CustomerId,
    currency: Currency,
    id: &str,
    number: &str,
    total: Decimal,
    issued: DateTime<Utc>,
) -> Result<Vec<Entry>, InvoicerError> {
    let ctx = context(customer, currency, issued.date_naive(), issued, "");
    if total < Decimal::ZERO {
        return Ok(plan::negative_invoice(&Book::default(), &ctx, id, number, -total)?);
    }
    Ok(plan::invoice(&Book::default(), &ctx, id, number, total, due)?)
}

/// Puts issued invoice `doc` into the ledger if it is not there (`entries` are its
/// customer's, and gain the new entry).
pub(crate) async fn owe<S: LedgerStore>(
    store: &S,
    terms: Terms,
    doc: &Invoice,
    entries: &mut Vec<tally_ledger::Entry>,
) -> Result<(), InvoicerError> {
    let (Some(number), Some(issued)) = (&doc.number, doc.issued_at) else { return Ok(()) };
    let new =
        invoice_entry(terms.due_of(doc, issued), &doc.customer, doc.currency, &doc.id, number, doc.total, issued)?;
    append_new(store, new, entries).await
}

/// Appends those of `new` that `entries` (a customer's, read already) lack, and adds
/// them to `entries`.
pub(crate) async fn append_new<S: LedgerStore>(
    store: &S,
    new: Vec<Entry>,
    entries: &mut Vec<Entry>,
) -> Result<(), InvoicerError> {
    let new: Vec<Entry> = new.into_iter().filter(|e| !entries.iter().any(|known| known.id == e.id)).collect();
    store.append_entries(&new).await?;
    entries.extend(new);
    Ok(())
}

/// Brings every issued document and every payment of the old payments table into the
/// ledger, appending only what is missing (for stores written before the ledger
/// existed; `tally migrate` runs it). Returns how many entries it added.
pub async fn sync<S>(store: &S, terms: Terms, customer: Option<&CustomerId>) -> Result<usize, InvoicerError>
where
    S: InvoiceStore + LedgerStore + PaymentStore,
{
    let entries = store.entries(customer).await?;
    let filter = InvoiceFilter { customer: customer.cloned(), ..Default::default() };
    let mut documents = Vec::new();
    for record in store.invoices(&filter).await? {
        if record.state == InvoiceState::Draft {
            continue;
        }
        documents.push(parse_record(&record)?);
    }
    documents.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
    let mut book = Book::all(&entries);
    let mut new = Vec::new();
    let push = |book: &mut Book, new: &mut Vec<Entry>, more: Vec<Entry>| {
        more.iter().for_each(|e| book.add(e));
        new.extend(more);
    };
    // Invoices first (voided ones too: they were owed until voided), then the old
    // payments against them, then credit notes.
    for doc in documents.iter().filter(|d| d.document == Document::Invoice) {
        let (Some(issued), Some(number)) = (doc.issued_at, doc.number.as_deref()) else { continue };
        let more =
            invoice_entry(terms.due_of(doc, issued), &doc.customer, doc.currency, &doc.id, number, doc.total, issued)?;
        let more = more.into_iter().filter(|e| !book.has(&e.id)).collect();
        push(&mut book, &mut new, more);
    }
    let by_id: HashMap<&str, &Invoice> = documents.iter().map(|d| (d.id.as_str(), d)).collect();
    for payment in store.payments(None).await? {
        // Only payments of the documents read (those of `customer`, when given).
        let Some(doc) = by_id.get(payment.invoice.as_str()) else { continue };
        let ctx = context(&doc.customer, doc.currency, payment.received_on, payment.recorded_at, "");
        let ctx = Context { today: ctx.day.max(ctx.today), ..ctx };
        match plan::payment(&book, &ctx, &payment.reference, payment.amount, std::slice::from_ref(&doc.id)) {
            Ok(more) => push(&mut book, &mut new, more),
            // An old payment that breaks a rule of the ledger (a reference used on two
            // invoices, an amount below the minor unit) is left out and said so.
            Err(err) => tracing::warn!(invoice = %doc.id, reference = %payment.reference, error = %err,
                "an old payment cannot enter the ledger; record it again by hand"),
        }
    }
    for doc in documents.iter().filter(|d| d.document == Document::CreditNote && d.state == InvoiceState::Issued) {
        let (Some(issued), Some(number), Some(credits)) =
            (doc.issued_at, doc.number.as_deref(), doc.credits.as_deref())
        else {
            continue;
        };
        if book.invoice(credits).is_none() {
            continue;
        }
        let ctx = context(&doc.customer, doc.currency, issued.date_naive(), issued, "");
        // The credit note of a void gets the void's own entries (what paid the voided
        // invoice moves to its revision): whichever of a void and a concurrent reader
        // appends them first, they are the same entries with the same ids.
        let voided = by_id.get(credits).is_some_and(|d| d.state == InvoiceState::Void) && doc.cancels_whole();
        let more = if voided {
            let revision = documents.iter().find(|d| {
                d.revises.as_deref() == Some(credits) && d.state == InvoiceState::Issued && d.number.is_some()
            });
            let revision = revision.and_then(|r| {
                let issued = r.issued_at?;
                let due = terms.due_of(r, issued);
                Some((r.id.as_str(), r.number.as_deref()?, r.total, due)).filter(|rev| rev.2 > Decimal::ZERO)
            });
            plan::void(&book, &ctx, credits, (&doc.id, number), revision)?
        } else {
            let reason = doc.reason.as_deref().unwrap_or("credit");
            plan::credit_note(&book, &ctx, credits, (&doc.id, number), doc.total.abs(), reason)?
        };
        push(&mut book, &mut new, more);
    }
    Ok(store.append_entries(&new).await?)
}

/// A payment recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecorded {
    /// False when the same payment (reference, amount, day) was recorded already.
    pub recorded: bool,
    /// Per invoice it went to: (invoice id, number, amount, still owed after).
    pub allocated: Vec<(String, String, Decimal, Decimal)>,
    /// Credit it left (more than was owed).
    pub credit: Decimal,
}

/// Money received: once per customer and reference, held to the currency's minor unit,
/// not dated ahead of today; allocated to `allocate_to` in order, or else to the oldest
/// open invoices; what is left is the customer's credit.
pub async fn record_payment<S>(
    store: &S,
    on: On<'_>,
    reference: &str,
    amount: Decimal,
    allocate_to: &[String],
    memo: &str,
) -> Result<PaymentRecorded, InvoicerError>
where
    S: LedgerStore,
{
    let customer = on.customer;
    let book = Book::all(&store.entries(Some(customer)).await?);
    let new = plan::payment(&book, &on.context(memo), reference, amount, allocate_to)?;
    if new.is_empty() {
        return Ok(PaymentRecorded { recorded: false, allocated: Vec::new(), credit: Decimal::ZERO });
    }
    store.append_entries(&new).await?;
    let mut after = book;
    new.iter().for_each(|e| after.add(e));
    let allocated: Vec<_> = new
        .iter()
        .filter_map(|e| match &e.kind {
            tally_ledger::EntryKind::Allocation { document, .. } => {
                let doc = after.invoice(document)?;
                Some((document.clone(), doc.number.clone(), e.amount, doc.owed))
            }
            _ => None,
        })
        .collect();
    let credit = after.available(customer, &Source::Payment(reference.trim().to_owned())).unwrap_or_default();
    Ok(PaymentRecorded { recorded: true, allocated, credit })
}

/// Runs one planned act on `customer`'s entries and appends what it returns.
async fn act<S>(
    store: &S,
    customer: &CustomerId,
    plan: impl FnOnce(&Book) -> Result<Vec<Entry>, LedgerError>,
) -> Result<Vec<Entry>, InvoicerError>
where
    S: LedgerStore,
{
    let new = plan(&Book::all(&store.entries(Some(customer)).await?))?;
    store.append_entries(&new).await?;
    Ok(new)
}

/// A payment that bounced or was charged back.
pub async fn reverse_payment<S>(
    store: &S,
    on: On<'_>,
    reference: &str,
    reason: &str,
) -> Result<Vec<Entry>, InvoicerError>
where
    S: LedgerStore,
{
    let ctx = on.context(reason);
    act(store, on.customer, |book| plan::reverse_payment(book, &ctx, reference, reason)).await
}

/// Credit paid back to the customer out of a payment's unallocated part.
pub async fn refund<S>(
    store: &S,
    on: On<'_>,
    payment: &str,
    reference: &str,
    amount: Decimal,
) -> Result<Vec<Entry>, InvoicerError>
where
    S: LedgerStore,
{
    let ctx = on.context("");
    let source = Source::Payment(payment.to_owned());
    act(store, on.customer, |book| plan::refund(book, &ctx, &source, reference, amount)).await
}

/// What an invoice still owes, given up.
pub async fn write_off<S>(store: &S, on: On<'_>, invoice: &str, reason: &str) -> Result<Vec<Entry>, InvoicerError>
where
    S: LedgerStore,
{
    let ctx = on.context(reason);
    act(store, on.customer, |book| plan::write_off(book, &ctx, invoice, reason)).await
}

/// The ledger of `customer` (or all) with every entry, whatever its day: what stands now.
pub async fn current<S>(store: &S, customer: Option<&CustomerId>) -> Result<Book, InvoicerError>
where
    S: LedgerStore,
{
    Ok(Book::all(&store.entries(customer).await?))
}

/// The ledger of `customer` (or all) as of the end of `day`.
pub async fn book<S>(store: &S, customer: Option<&CustomerId>, day: NaiveDate) -> Result<Book, InvoicerError>
where
    S: LedgerStore,
{
    Ok(Book::as_of(&store.entries(customer).await?, day))
}

/// What is owed per currency by days past due on `day`.
pub async fn aging<S>(store: &S, customer: Option<&CustomerId>, day: NaiveDate) -> Result<Vec<AgingRow>, InvoicerError>
where
    S: LedgerStore,
{
    Ok(store.totals(day, customer).await?.aging(customer))
}

/// Invoices past due on `day` with something owed, most overdue first.
pub async fn overdue<S>(
    store: &S,
    customer: Option<&CustomerId>,
    day: NaiveDate,
) -> Result<Vec<OpenDocument>, InvoicerError>
where
    S: LedgerStore,
{
    let totals = store.totals(day, customer).await?;
    Ok(totals.overdue(customer).into_iter().cloned().collect())
}

/// `customer`'s statement in `currency` from `from` to `to`.
pub async fn statement<S>(
    store: &S,
    customer: &CustomerId,
    currency: Currency,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Statement, InvoicerError>
where
    S: LedgerStore,
{
    let entries = store.entries(Some(customer)).await?;
    Ok(Statement::of(&entries, customer, currency, from, to))
}

/// The totals of `customer` (or all) as of the end of `day`: open invoices, unused
/// credit, balances (added up by the store).
pub async fn totals<S>(
    store: &S,
    customer: Option<&CustomerId>,
    day: NaiveDate,
) -> Result<tally_ledger::Totals, InvoicerError>
where
    S: LedgerStore,
{
    Ok(store.totals(day, customer).await?)
}
