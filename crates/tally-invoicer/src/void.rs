//! Voiding an issued invoice: a credit note cancels it, and optionally a revised
//! invoice replaces it. Nothing issued is edited: the original keeps its number and
//! lines, marked void; the credit note negates every line under its own number; the
//! revision is recomposed from the usage as it is now.

use chrono::{DateTime, Utc};
use tally_domain::{Catalog, PlanKey};
use tally_invoicing::{compose_in, cycle_of, Document, Invoice, InvoiceState, LineKind};
use tally_rating::ChargeUsage;
use tally_store::{AccountStore, InvoiceStore, LedgerStore, RateStore, UsageStore};

use crate::close::{billed_for, documents_of, find_invoice, parse_record, record};
use crate::error::InvoicerError;
use crate::usage::UsageBook;

/// What voiding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voided {
    /// The voided invoice's number.
    pub voided: String,
    /// The credit note's id and number.
    pub credit_note: (String, String),
    /// The revised invoice's id and number, if one was asked for.
    pub revision: Option<(String, String)>,
}

/// Voids issued invoice `id` (or number) with a credit note; with `revise`, issues a
/// revised invoice for the same period from the usage as it is now (less the usage of
/// that period billed since as late usage, which stays where it was billed). In the
/// ledger, what paid the voided invoice moves to the revision, or else to the
/// customer's credit (`tally_ledger::plan::void`).
pub async fn void<S>(
    store: &S,
    catalog: &Catalog,
    id: &str,
    revise: bool,
    now: DateTime<Utc>,
    prefixes: (&str, &str),
    terms: crate::receivables::Terms,
) -> Result<Voided, InvoicerError>
where
    S: UsageStore + AccountStore + InvoiceStore + LedgerStore + RateStore,
{
    let (invoice_prefix, credit_prefix) = prefixes;
    let stored = find_invoice(store, id)
        .await?
        .ok_or_else(|| InvoicerError::NotVoidable { id: id.to_owned(), why: "no such invoice".into() })?;
    let original = parse_record(&stored)?;
    if original.state == InvoiceState::Draft || original.document != Document::Invoice {
        let why = format!("it is a {:?} {:?}; only issued invoices can be voided", original.state, original.document);
        return Err(InvoicerError::NotVoidable { id: id.to_owned(), why: why.to_lowercase() });
    }
    // A revision prices the period as it was priced: refused before anything changes
    // when the catalog's prices for it were edited since.
    if revise {
        let plans: Vec<PlanKey> = original.prices.keys().cloned().collect();
        crate::close::same_prices(catalog, &plans, &[&original])?;
    }
    // The credit note and the revision have ids derived from the voided invoice, so a
    // void that stopped half-way (a killed process, a store that failed) is completed by
    // voiding again, and voids of one invoice at once converge on one of each.
    let find = |docs: &[Invoice], id: &str| docs.iter().find(|d| d.id == id).cloned();
    let documents = documents_of(store, &original.subscription).await?;
    let mut note = original.credit_note();
    let revision_id = revision_id(&original);
    let (had_note, had_revision) = (find(&documents, &note.id), find(&documents, &revision_id));
    // The ledger knows the invoice and what paid it before anything changes (an invoice
    // issued before the ledger existed enters it now).
    let mut entries = store.entries(Some(&original.customer)).await?;
    crate::receivables::owe(store, terms, &original, &mut entries).await?;
    // Done only when the documents are written and the ledger has moved the money (a
    // void stopped between the two is completed).
    let moved_ids = [
        tally_ledger::plan::entry_id(&["credit_note", &note.id]),
        tally_ledger::plan::entry_id(&["invoice", &note.id]),
    ];
    let moved = entries.iter().any(|e| moved_ids.contains(&e.id));
    let nothing_owed = original.total.is_zero();
    let documents_done =
        original.state == InvoiceState::Void && had_note.is_some() && (!revise || had_revision.is_some());
    if documents_done && (moved || nothing_owed) {
        let why = "it is voided already (its credit note and any revision are issued)".to_owned();
        return Err(InvoicerError::NotVoidable { id: id.to_owned(), why });
    }
    // The credit note's rate first: a missing rate refuses the void before anything changes.
    note.state = InvoiceState::Issued;
    note.issued_at = Some(now);
    let rates = crate::exchange::Rates::read(store, terms.reporting).await?;
    crate::exchange::record(rates.as_ref(), &mut note)?;
    if original.state == InvoiceState::Issued {
        let mut voided = original.clone();
        voided.state = InvoiceState::Void;
        store.put_invoices(&[record(&voided, catalog)?], invoice_prefix).await?;
    }
    fail::fail_point!("void-after-mark");
    let credit_number = match had_note {
        Some(existing) => existing.number.unwrap_or_default(),
        None => number_of(store, &record(&note, catalog)?, credit_prefix).await?,
    };
    fail::fail_point!("void-after-note");
    let mut revision = None;
    let mut revised_total = rust_decimal::Decimal::ZERO;
    let mut revised_due = None;
    if revise {
        let (id, number, total) = match had_revision {
            Some(existing) => {
                revised_due = existing.due;
                (existing.id, existing.number.unwrap_or_default(), existing.total)
            }
            None => {
                let revised = recompose(store, catalog, &original, now, terms, rates.as_ref()).await?;
                let number = number_of(store, &record(&revised, catalog)?, invoice_prefix).await?;
                // The ledger owes what the stored revision says (the store keeps one
                // copy whatever number of voids wrote it).
                let total = store.invoice(&revised.id).await?.map_or(revised.total, |stored| stored.total);
                revised_due = revised.due;
                (revised.id, number, total)
            }
        };
        revised_total = total;
        revision = Some((id, number));
        fail::fail_point!("void-after-revision");
    }
    let book = tally_ledger::Book::all(&entries);
    let held = book.invoice(&original.id).is_some();
    if held {
        let ctx = ledger_context(&original, now, "void of");
        let due = match revised_due {
            Some(due) => due,
            None => (now + terms.payment_terms).date_naive(),
        };
        let rev = revision
            .as_ref()
            .filter(|_| revised_total > rust_decimal::Decimal::ZERO)
            .map(|(id, number)| (id.as_str(), number.as_str(), revised_total, due));
        let moves = tally_ledger::plan::void(&book, &ctx, &original.id, (&note.id, &credit_number), rev)?;
        store.append_entries(&moves).await?;
        if revised_total < rust_decimal::Decimal::ZERO {
            // A revision below zero (fees corrected down): the customer's credit.
            let mut entries = store.entries(Some(&original.customer)).await?;
            owe_stored(store, terms, &revision_id, &mut entries).await?;
        }
        if moves.is_empty() && revision.is_some() {
            // Completing an earlier void: the revision enters the ledger now, and the
            // credit the void left goes to it.
            let mut entries = store.entries(Some(&original.customer)).await?;
            owe_stored(store, terms, &revision_id, &mut entries).await?;
            let act = format!("void|{}|complete", original.id);
            let credit = tally_ledger::plan::apply_credit(&tally_ledger::Book::all(&entries), &ctx, &act);
            store.append_entries(&credit).await?;
        }
    } else if original.total < rust_decimal::Decimal::ZERO {
        // Voiding an invoice below zero takes back the credit it gave: its credit note
        // (above zero) is owed like an invoice and paid from the customer's credit; a
        // revision enters as any issued invoice does.
        let ctx = ledger_context(&original, now, "void of");
        let mut entries = store.entries(Some(&original.customer)).await?;
        let cancel = crate::receivables::invoice_entry(
            (now + terms.payment_terms).date_naive(),
            &original.customer,
            original.currency,
            &note.id,
            &credit_number,
            -original.total,
            now,
        )?;
        crate::receivables::append_new(store, cancel, &mut entries).await?;
        if let Some((id, _)) = &revision {
            owe_stored(store, terms, id, &mut entries).await?;
        }
        let act = format!("void|{}|negative", original.id);
        let credit = tally_ledger::plan::apply_credit(&tally_ledger::Book::all(&entries), &ctx, &act);
        store.append_entries(&credit).await?;
    }
    if !held && original.total >= rust_decimal::Decimal::ZERO {
        // An original the ledger never held (it owed nothing: a zero invoice): its
        // revision is owed as any issued invoice is, from the customer's credit first.
        if let Some((id, _)) = &revision {
            let mut entries = store.entries(Some(&original.customer)).await?;
            owe_stored(store, terms, id, &mut entries).await?;
            let ctx = ledger_context(&original, now, "void of");
            let act = format!("void|{}|zero", original.id);
            let credit = tally_ledger::plan::apply_credit(&tally_ledger::Book::all(&entries), &ctx, &act);
            store.append_entries(&credit).await?;
        }
    }
    tracing::info!(invoice = %original.id, credit_note = %note.id, revised = revise, "invoice voided");
    Ok(Voided { voided: original.number.clone().unwrap_or_default(), credit_note: (note.id, credit_number), revision })
}

/// Bills again the period of an invoice voided without a revision (the period would
/// otherwise stay closed for ever): a revised invoice from the usage as it is now, and
/// in the ledger the customer's credit (what paid the voided invoice) goes to it first.
/// Returns the revision's id and number.
pub async fn rebill<S>(
    store: &S,
    catalog: &Catalog,
    id: &str,
    now: DateTime<Utc>,
    invoice_prefix: &str,
    terms: crate::receivables::Terms,
) -> Result<(String, String), InvoicerError>
where
    S: UsageStore + AccountStore + InvoiceStore + LedgerStore + RateStore,
{
    let refuse = |why: &str| InvoicerError::NotRebillable { id: id.to_owned(), why: why.to_owned() };
    let stored = find_invoice(store, id).await?.ok_or_else(|| refuse("no such invoice"))?;
    let original = parse_record(&stored)?;
    if original.state != InvoiceState::Void || original.document != Document::Invoice {
        return Err(refuse("only a voided invoice's period can be billed again"));
    }
    for doc in documents_of(store, &original.subscription).await? {
        if doc.revises.as_deref() == Some(original.id.as_str()) && doc.state != InvoiceState::Void {
            let number = doc.number.unwrap_or_default();
            return Err(refuse(&format!("its period is billed already, by {number}")));
        }
    }
    let rates = crate::exchange::Rates::read(store, terms.reporting).await?;
    let revised = recompose(store, catalog, &original, now, terms, rates.as_ref()).await?;
    let revision = revised.id.clone();
    let number = number_of(store, &record(&revised, catalog)?, invoice_prefix).await?;
    let mut entries = store.entries(Some(&original.customer)).await?;
    owe_stored(store, terms, &revision, &mut entries).await?;
    let ctx = ledger_context(&original, now, "billed again after the void of");
    let credit =
        tally_ledger::plan::apply_credit(&tally_ledger::Book::all(&entries), &ctx, &format!("rebill|{revision}"));
    store.append_entries(&credit).await?;
    tracing::info!(invoice = %original.id, %revision, "voided period billed again");
    Ok((revision, number))
}

/// Puts stored invoice `id`, if there is one, into the ledger (`receivables::owe`).
async fn owe_stored<S: InvoiceStore + LedgerStore>(
    store: &S,
    terms: crate::receivables::Terms,
    id: &str,
    entries: &mut Vec<tally_ledger::Entry>,
) -> Result<(), InvoicerError> {
    match store.invoice(id).await? {
        Some(stored) => crate::receivables::owe(store, terms, &parse_record(&stored)?, entries).await,
        None => Ok(()),
    }
}

/// The ledger's context of an act on `original` now, its memo `what` and the number.
fn ledger_context(original: &Invoice, now: DateTime<Utc>, what: &str) -> tally_ledger::plan::Context {
    let memo = format!("{what} {}", original.number.clone().unwrap_or_default());
    crate::receivables::context(&original.customer, original.currency, now.date_naive(), now, &memo)
}

/// The id of `original`'s revision: one per voided invoice, derived from it.
fn revision_id(original: &Invoice) -> String {
    format!("{}/r1", original.id)
}

/// Writes `record` (a new issued document) and returns its number: the one it was
/// given, or, when another writer stored it first, the stored one.
pub(crate) async fn number_of<S: InvoiceStore>(
    store: &S,
    record: &tally_store::InvoiceRecord,
    prefix: &str,
) -> Result<String, InvoicerError> {
    let written = store.put_invoices(std::slice::from_ref(record), prefix).await?;
    if let Some(number) = written.first().and_then(|w| w.number.clone()) {
        return Ok(number);
    }
    let stored = store.invoice(&record.id).await?;
    Ok(stored.and_then(|r| r.number).unwrap_or_default())
}

/// The revised invoice of `original`'s period.
pub(crate) async fn recompose<S>(
    store: &S,
    catalog: &Catalog,
    original: &Invoice,
    now: DateTime<Utc>,
    terms: crate::receivables::Terms,
    rates: Option<&crate::exchange::Rates>,
) -> Result<Invoice, InvoicerError>
where
    S: UsageStore + AccountStore + InvoiceStore,
{
    let missing =
        |what: &str| InvoicerError::NotVoidable { id: original.id.clone(), why: format!("its {what} is gone") };
    let subscription = store.subscription(&original.subscription).await?.ok_or_else(|| missing("subscription"))?;
    let customer = store.customer(&original.customer).await?.ok_or_else(|| missing("customer"))?;
    let cycle = cycle_of(&subscription, &customer, catalog)
        .map_err(|source| InvoicerError::Account { subscription: subscription.id.to_string(), source })?;
    let index = cycle.index_at(original.period.start());
    let period = cycle.period(index);
    let spans = subscription.spans(&period);
    // Late usage of earlier periods the original billed is billed again by the revision
    // (else voiding the last invoice of an ended subscription would lose it), for the
    // spans the subscription still has: an earlier period whose spans changed is
    // revised itself and bills all of its usage.
    let mut late: Vec<(PlanKey, tally_domain::Period)> = Vec::new();
    for line in original.lines.iter().filter(|l| l.kind == LineKind::LateUsage) {
        let earlier = cycle.period(cycle.index_at(line.service_period.start()));
        let still = subscription.spans(&earlier).contains(&(line.plan.clone(), line.service_period));
        let key = (line.plan.clone(), line.service_period);
        if still && !late.contains(&key) {
            late.push(key);
        }
    }
    let wanted: Vec<_> =
        spans.iter().chain(late.iter()).map(|(plan, span)| (*span, plan.clone(), customer.id.clone())).collect();
    let usage = UsageBook::read(store, catalog, wanted, Some(&customer.id)).await?;
    // The revision itself, written by a concurrent void of the same invoice, is not
    // something this period was billed by: leaving it out makes every void compose the
    // same revision.
    let itself = revision_id(original);
    let documents: Vec<Invoice> = documents_of(store, &subscription.id)
        .await?
        .into_iter()
        .filter(|doc| doc.counts() && doc.id != itself)
        .collect();
    let docs: Vec<&Invoice> = documents.iter().collect();
    let period_usage: Vec<ChargeUsage> = spans
        .iter()
        .map(|(plan, span)| {
            let mut now_usage = usage.get(span, plan, &customer.id).clone();
            // Late usage of this period billed on later invoices stays billed there.
            for line in docs.iter().flat_map(|d| d.lines.iter()) {
                if line.kind == LineKind::LateUsage && &line.plan == plan && line.service_period == *span {
                    if let Some(groups) = now_usage.get_mut(&line.key) {
                        for (dims, quantity) in groups.iter_mut() {
                            if *dims == line.dimensions {
                                *quantity = (*quantity - line.quantity.unwrap_or_default()).max(Default::default());
                            }
                        }
                    }
                }
            }
            now_usage
        })
        .collect();
    let billed = billed_for(&docs, &period);
    let mut plans: Vec<PlanKey> = spans.iter().map(|(plan, _)| plan.clone()).collect();
    plans.extend(late.iter().map(|(plan, _)| plan.clone()));
    let with_original: Vec<&Invoice> = docs.iter().copied().chain(std::iter::once(original)).collect();
    crate::close::same_prices(catalog, &plans, &with_original)?;
    let period_usage: Vec<&ChargeUsage> = period_usage.iter().collect();
    let mut revised = if original.late_only {
        Invoice::late_shell(&customer, &subscription.id, period)
    } else {
        compose_in(catalog, &customer, &subscription, &cycle, index, &period_usage, &billed)?
    };
    for (plan, span) in &late {
        if let Some(p) = catalog.plan(plan.as_str()) {
            revised.prices.insert(plan.clone(), p.prices.clone());
        }
        let earlier = cycle.period(cycle.index_at(span.start()));
        let billed = tally_invoicing::billed_usage(&docs, plan, span);
        let now_usage = usage.get(span, plan, &customer.id);
        let name = subscription.id.as_str();
        revised
            .lines
            .extend(tally_invoicing::late_usage_lines(catalog, name, plan, &earlier, span, now_usage, &billed)?);
    }
    let profile = customer.profile().map_err(|source| tally_invoicing::InvoiceError::Account {
        subscription: subscription.id.to_string(),
        source,
    })?;
    tally_invoicing::tax::settle(&mut revised, catalog, &profile);
    revised.id = revision_id(original);
    revised.revises = Some(original.id.clone());
    revised.state = InvoiceState::Issued;
    revised.issued_at = Some(now);
    revised.due = Some(terms.due_for(&profile, now));
    crate::exchange::record(rates, &mut revised)?;
    Ok(revised)
}
