//! Closing due periods, and previewing the current one.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use tally_domain::{Catalog, Customer, CustomerId, PlanKey, Subscription};
use tally_invoicing::{compose_in, cycle_of, due_periods, BilledFee, Invoice, InvoiceState, LineKind};
use tally_store::{
    AccountStore, InvoiceFilter, InvoiceLineRecord, InvoiceRecord, InvoiceStore, LeaseStore, LedgerStore, RateStore,
    ReportedTotal, UsageStore,
};

use crate::error::InvoicerError;
use crate::usage::UsageBook;

/// How to close.
#[derive(Debug, Clone)]
pub struct CloseOptions {
    /// The instant closing happens at (the clock, or a chosen time for a re-run).
    pub now: DateTime<Utc>,
    /// A period is issued once it ended this long ago (late events still arrive); before, it is a draft.
    pub grace: TimeDelta,
    /// Invoice numbers are this prefix and a sequence: `INV-000001`.
    pub number_prefix: String,
    /// How far back late events are looked for in issued periods (the ingest's late
    /// window: older events are refused at the door).
    pub late_window: TimeDelta,
    /// An issued invoice is due this long after it is issued (its ledger entry says when).
    pub payment_terms: TimeDelta,
    /// The reporting currency issued invoices record their rate to, if any.
    pub reporting: Option<crate::exchange::Reporting>,
}

/// What a close did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseSummary {
    /// Invoices issued now, with their numbers.
    pub issued: Vec<(String, String)>,
    /// Drafts written or refreshed (periods still in their grace period).
    pub drafts: usize,
    /// Due periods found closed already (by an earlier run or another invoicer).
    pub already_closed: usize,
    /// Total issued now, per currency.
    pub issued_total: BTreeMap<String, Decimal>,
    /// Lines issued now, summed per (currency, plan) (a plan change splits an invoice).
    pub issued_by_plan: BTreeMap<(String, String), Decimal>,
    /// Time spent per phase: reading accounts and invoices, the usage queries,
    /// composing, writing.
    pub phases: Vec<(&'static str, std::time::Duration)>,
    /// Subscriptions that could not be closed, and why (a plan gone from the catalog, a
    /// missing customer, dates that would open thousands of periods): each is left as it
    /// is, reported, and tried again next run; every other subscription is closed.
    pub failed: Vec<(String, String)>,
}

/// Periods one subscription may close in one run. A year of daily periods is 366; a
/// subscription with more due at once has dates no one meant (a start in year 1 once
/// issued 99,984 invoices in one run) and is reported instead.
pub const MAX_PERIODS_PER_RUN: usize = 1_000;

/// One invoice to compose: a subscription's period, and the earlier issued periods
/// whose late usage it bills.
struct Work<'a> {
    subscription: &'a Subscription,
    customer: &'a Customer,
    cycle: tally_domain::BillingCycle,
    index: i64,
    state: InvoiceState,
    late: Vec<i64>,
    /// Only the late usage of `late`, on an invoice of its own: the subscription has
    /// ended and all its periods are invoiced, so no later invoice would carry it.
    late_only: bool,
}

/// [`close`] on a thread of the runtime's blocking pool, driving the store's futures
/// from there: the run's CPU work (reading the usage book, composing every invoice on
/// its own threads) never holds a worker of the runtime that also serves the HTTP API
/// and the ingest (`tally run`). Needs a Tokio runtime; a panic in the close is
/// resumed in the caller.
pub async fn close_detached<S>(
    store: std::sync::Arc<S>,
    catalog: std::sync::Arc<Catalog>,
    options: CloseOptions,
) -> Result<CloseSummary, InvoicerError>
where
    S: UsageStore + AccountStore + InvoiceStore + LedgerStore + LeaseStore + RateStore + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(close(&*store, &catalog, &options)))
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
}

/// The lease one close holds at a time, and how long it lasts if its holder dies.
pub const CLOSE_LEASE: &str = "invoice-close";
const CLOSE_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Closes every due period of every subscription (see the crate docs), holding the
/// close's lease: while another process closes, this one does nothing and says so
/// ([`InvoicerError::CloseRunning`]), so a summary reports what this close issued.
pub async fn close<S>(store: &S, catalog: &Catalog, options: &CloseOptions) -> Result<CloseSummary, InvoicerError>
where
    S: UsageStore + AccountStore + InvoiceStore + LedgerStore + LeaseStore + RateStore,
{
    let holder = tally_store::holder_id();
    let claim = match store.claim(CLOSE_LEASE, &holder, CLOSE_LEASE_TTL).await? {
        Ok(claim) => claim,
        Err(other) => return Err(InvoicerError::CloseRunning { holder: other.holder, since: other.since }),
    };
    let closed = close_held(store, catalog, options, claim).await;
    let released = store.release(CLOSE_LEASE, &holder).await;
    let summary = closed?;
    released?;
    Ok(summary)
}

/// [`close`] with the lease claimed: it reads and composes while the claim settles,
/// and confirms the claim before it writes anything.
async fn close_held<S>(
    store: &S,
    catalog: &Catalog,
    options: &CloseOptions,
    claim: tally_store::Claim,
) -> Result<CloseSummary, InvoicerError>
where
    S: UsageStore + AccountStore + InvoiceStore + LedgerStore + LeaseStore + RateStore,
{
    let mut clock = std::time::Instant::now();
    let mut phases = Vec::new();
    let mut lap = |name: &'static str| {
        phases.push((name, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let customers: HashMap<CustomerId, Customer> =
        store.customers().await?.into_iter().map(|c| (c.id.clone(), c)).collect();
    let subscriptions = store.subscriptions(None).await?;
    // Periods close in order: everything up to a subscription's last closed period is
    // closed, so history is not read, only the latest closed period per subscription.
    let last_closed = store.last_closed().await?;
    let mut summary = CloseSummary::default();
    let mut work = Vec::new();
    for subscription in &subscriptions {
        let Some(customer) = customers.get(&subscription.customer) else {
            let err = InvoicerError::NoCustomer {
                subscription: subscription.id.to_string(),
                customer: subscription.customer.to_string(),
            };
            summary.failed.push((subscription.id.to_string(), err.to_string()));
            continue;
        };
        let cycle = match cycle_of(subscription, customer, catalog) {
            Ok(cycle) => cycle,
            Err(source) => {
                let err = InvoicerError::Account { subscription: subscription.id.to_string(), source };
                summary.failed.push((subscription.id.to_string(), err.to_string()));
                continue;
            }
        };
        let last = last_closed.get(&subscription.id);
        let is_closed = |index: i64| last.is_some_and(|last| cycle.period(index).start() <= *last);
        // Issued: ended before the grace period; drafts: ended since.
        let ended = due_periods(subscription, &cycle, options.now, TimeDelta::zero());
        let open = ended.iter().filter(|&&i| !is_closed(i)).count();
        if open > MAX_PERIODS_PER_RUN {
            summary.failed.push((
                subscription.id.to_string(),
                format!(
                    "{open} periods to close at once (more than {MAX_PERIODS_PER_RUN}): check its start {} and anchor {}",
                    subscription.start.to_rfc3339(),
                    subscription.anchor
                ),
            ));
            continue;
        }
        let issuable: HashSet<i64> =
            due_periods(subscription, &cycle, options.now, options.grace).into_iter().collect();
        let mut first_open = true;
        for &index in &ended {
            if is_closed(index) {
                summary.already_closed += 1;
                continue;
            }
            let state = if issuable.contains(&index) { InvoiceState::Issued } else { InvoiceState::Draft };
            // The first invoice issued now carries the late usage of the issued periods
            // still inside the late window.
            let late = if state == InvoiceState::Issued && std::mem::take(&mut first_open) {
                ended
                    .iter()
                    .copied()
                    .filter(|&j| j < index && cycle.period(j).end() > options.now - options.late_window)
                    .filter(|&j| is_closed(j))
                    .collect()
            } else {
                Vec::new()
            };
            work.push(Work { subscription, customer, cycle, index, state, late, late_only: false });
        }
        if first_open && open == 0 && subscription.end.is_some() {
            let late: Vec<i64> = ended
                .iter()
                .copied()
                .filter(|&j| is_closed(j) && cycle.period(j).end() > options.now - options.late_window)
                .collect();
            if let Some(&index) = ended.iter().filter(|&&j| is_closed(j)).max() {
                if !late.is_empty() {
                    let state = InvoiceState::Issued;
                    work.push(Work { subscription, customer, cycle, index, state, late, late_only: true });
                }
            }
        }
    }
    let wanted = work.iter().flat_map(|w| {
        std::iter::once(w.index)
            .chain(w.late.iter().copied())
            .flat_map(|index| w.subscription.spans(&w.cycle.period(index)))
            .map(|(plan, span)| (span, plan, w.customer.id.clone()))
    });
    let wanted: Vec<_> = wanted.collect();
    // The documents that can still matter: the period before each one to close (its
    // advance fees) and the periods whose late usage is billed now.
    let earliest = work
        .iter()
        .flat_map(|w| std::iter::once(w.index - 1).chain(w.late.iter().copied()).map(|i| w.cycle.period(i).start()))
        .min();
    let mut documents: HashMap<String, Vec<Invoice>> = HashMap::new();
    // Periods voided without a revision (subscription, period start): waived until
    // billed again (`rebill`), so their usage is not billed as late usage either.
    let mut waived: HashSet<(String, (String, DateTime<Utc>))> = HashSet::new();
    if let Some(from) = earliest {
        let mut revised = HashSet::new();
        for record in store.invoices(&InvoiceFilter { from: Some(from), ..Default::default() }).await? {
            let invoice = parse_record(&record)?;
            if invoice.state == InvoiceState::Void && invoice.document == tally_invoicing::Document::Invoice {
                waived.insert((invoice.id.clone(), (record.subscription.to_string(), invoice.period.start())));
            }
            // What counts as billed: issued invoices and revisions, not voided ones or credit notes.
            if invoice.counts() {
                if let Some(of) = &invoice.revises {
                    revised.insert(of.clone());
                }
                documents.entry(record.subscription.to_string()).or_default().push(invoice);
            }
        }
        waived.retain(|(id, _)| !revised.contains(id));
    }
    let waived: HashSet<(String, DateTime<Utc>)> = waived.into_iter().map(|(_, period)| period).collect();
    lap("read accounts and invoices");
    let usage = UsageBook::read(store, catalog, wanted, None).await?;
    lap("usage queries");

    // Per subscription in period order: a period's fees billed in advance come from the
    // invoice before it, possibly composed in this same run.
    work.sort_by(|a, b| (a.subscription.id.as_str(), a.index).cmp(&(b.subscription.id.as_str(), b.index)));
    // Subscriptions are independent: compose on every core, in chunks cut at
    // subscription boundaries (a subscription's periods stay in order in one chunk).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let chunks = split_by_subscription(&work, threads);
    let terms = crate::receivables::Terms { payment_terms: options.payment_terms, reporting: options.reporting };
    let rates = crate::exchange::Rates::read(store, options.reporting).await?;
    let rates = rates.as_ref();
    let results: Vec<(Vec<Composed>, Vec<(String, String)>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(|| compose_chunk(chunk, catalog, &usage, &documents, &waived, (options.now, terms, rates)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let mut composed: HashMap<String, (InvoiceState, String, Decimal, Vec<(String, Decimal)>)> = HashMap::new();
    let mut dues: HashMap<String, Option<chrono::NaiveDate>> = HashMap::new();
    let mut records = Vec::new();
    for (result, failed) in results {
        summary.failed.extend(failed);
        for (record, state, due, by_plan) in result {
            dues.insert(record.id.clone(), due);
            composed.insert(record.id.clone(), (state, record.currency.clone(), record.total, by_plan));
            records.push(record);
        }
    }
    // Issue in a stable order so numbers follow periods, then subscriptions.
    records.sort_by(|a, b| (a.period.start(), &a.id).cmp(&(b.period.start(), &b.id)));
    // The usage book is done with. Freeing its millions of small allocations took a
    // quarter of a second at 100,000 subscriptions, on the close's path; a thread of
    // its own does it while the writes below wait on the store.
    std::thread::spawn(move || drop(usage));
    lap("compose");
    // Everything above only read. Nothing is written unless the lease holds: another
    // close that claimed it first, seen now, goes on alone.
    if let Err(other) = store.confirm(claim).await? {
        return Err(InvoicerError::CloseRunning { holder: other.holder, since: other.since });
    }
    lap("lease");
    let written = store.put_invoices(&records, &options.number_prefix).await?;
    lap("write invoices");
    // Into the ledger: what was issued now, and the issued invoices read above (the
    // latest of each subscription), so an invoice issued by a run that stopped before
    // this step is owed from the next run on. Entries are appended once per id.
    let mut owed = Vec::new();
    let by_id: HashMap<&str, &InvoiceRecord> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    for w in &written {
        let Some(number) = &w.number else { continue };
        let Some(record) = by_id.get(w.id.as_str()) else { continue };
        let due = terms.due_or_default(dues.get(w.id.as_str()).copied().flatten(), options.now);
        owed.extend(crate::receivables::invoice_entry(
            due,
            &record.customer,
            record.currency.parse().map_err(|_| InvoicerError::Corrupt {
                id: record.id.clone(),
                message: format!("unreadable currency {:?}", record.currency),
            })?,
            &record.id,
            number,
            record.total,
            options.now,
        )?);
    }
    for doc in documents.values().flatten() {
        if let (Some(number), Some(issued)) = (&doc.number, doc.issued_at) {
            if doc.document == tally_invoicing::Document::Invoice {
                let customer = &doc.customer;
                owed.extend(crate::receivables::invoice_entry(
                    terms.due_of(doc, issued),
                    customer,
                    doc.currency,
                    &doc.id,
                    number,
                    doc.total,
                    issued,
                )?);
            }
        }
    }
    store.append_entries(&owed).await?;
    lap("ledger");
    summary.phases = phases;
    for w in written {
        let Some((state, currency, total, by_plan)) = composed.get(&w.id) else { continue };
        match (state, w.number) {
            (InvoiceState::Issued, Some(number)) => {
                *summary.issued_total.entry(currency.clone()).or_default() += *total;
                for (plan, amount) in by_plan {
                    *summary.issued_by_plan.entry((currency.clone(), plan.clone())).or_default() += *amount;
                }
                summary.issued.push((w.id.clone(), number));
            }
            _ => summary.drafts += 1,
        }
    }
    for (subscription, why) in &summary.failed {
        tracing::warn!(%subscription, reason = %why, "subscription not closed; the others were");
    }
    tracing::debug!(
        issued = summary.issued.len(),
        drafts = summary.drafts,
        already_closed = summary.already_closed,
        phases = ?summary.phases,
        "billing periods closed"
    );
    Ok(summary)
}

/// The current period's invoice-to-date of each of the customer's subscriptions (not stored).
pub async fn preview<S>(
    store: &S,
    catalog: &Catalog,
    customer: &CustomerId,
    now: DateTime<Utc>,
) -> Result<Vec<Invoice>, InvoicerError>
where
    S: UsageStore + AccountStore + InvoiceStore,
{
    let Some(owner) = store.customer(customer).await? else {
        return Ok(Vec::new());
    };
    let mut invoices = Vec::new();
    for subscription in store.subscriptions(Some(customer)).await? {
        let cycle = cycle_of(&subscription, &owner, catalog)
            .map_err(|source| InvoicerError::Account { subscription: subscription.id.to_string(), source })?;
        let index = cycle.index_at(now);
        let period = cycle.period(index);
        if subscription.spans(&period).is_empty() {
            continue;
        }
        let spans = subscription.spans(&period);
        let wanted: Vec<_> = spans.iter().map(|(plan, span)| (*span, plan.clone(), customer.clone())).collect();
        let usage = UsageBook::read(store, catalog, wanted, Some(customer)).await?;
        let period_usage: Vec<_> = spans.iter().map(|(plan, span)| usage.get(span, plan, customer)).collect();
        let docs: Vec<Invoice> =
            documents_of(store, &subscription.id).await?.into_iter().filter(Invoice::counts).collect();
        let billed = billed_for(&docs.iter().collect::<Vec<_>>(), &period);
        invoices.push(compose_in(catalog, &owner, &subscription, &cycle, index, &period_usage, &billed)?);
    }
    Ok(invoices)
}

/// A composed invoice as the store keeps it, its state and its due date (set when issued).
/// An invoice to write, its state, and its amount per plan (for the billed-amount metric).
type Composed = (InvoiceRecord, InvoiceState, Option<chrono::NaiveDate>, Vec<(String, Decimal)>);

/// `work` (sorted by subscription) cut into at most `parts` chunks, never inside a subscription.
fn split_by_subscription<'w, 'a>(work: &'w [Work<'a>], parts: usize) -> Vec<&'w [Work<'a>]> {
    let target = work.len().div_ceil(parts.max(1)).max(1);
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < work.len() {
        let mut end = (start + target).min(work.len());
        while end < work.len() && work[end].subscription.id == work[end - 1].subscription.id {
            end += 1;
        }
        chunks.push(&work[start..end]);
        start = end;
    }
    chunks
}

/// Composes one chunk's invoices in order; `documents` are what the store holds. A
/// subscription whose invoice cannot be composed is reported, and none of its later
/// periods composed (they would bill on top of the missing one).
fn compose_chunk(
    chunk: &[Work<'_>],
    catalog: &Catalog,
    usage: &UsageBook,
    documents: &HashMap<String, Vec<Invoice>>,
    waived: &HashSet<(String, DateTime<Utc>)>,
    at: (DateTime<Utc>, crate::receivables::Terms, Option<&crate::exchange::Rates>),
) -> (Vec<Composed>, Vec<(String, String)>) {
    let mut out = Vec::with_capacity(chunk.len());
    let mut failed: Vec<(String, String)> = Vec::new();
    // Invoices composed here that a later period of the same subscription counts.
    let mut this_run: Vec<Invoice> = Vec::new();
    for (position, w) in chunk.iter().enumerate() {
        if failed.last().is_some_and(|(id, _)| id == w.subscription.id.as_str()) {
            continue;
        }
        match compose_one(w, catalog, usage, documents, waived, &this_run, at) {
            Ok((invoice, _)) if invoice.late_only && invoice.lines.is_empty() => {} // nothing late
            Ok((invoice, composed)) => {
                out.push(composed);
                if chunk.get(position + 1).is_some_and(|next| next.subscription.id == w.subscription.id) {
                    this_run.push(invoice);
                } else {
                    this_run.clear();
                }
            }
            Err(err) => {
                this_run.clear();
                failed.push((w.subscription.id.to_string(), err.to_string()));
            }
        }
    }
    (out, failed)
}

/// One period's invoice, its late usage lines included.
fn compose_one(
    w: &Work<'_>,
    catalog: &Catalog,
    usage: &UsageBook,
    documents: &HashMap<String, Vec<Invoice>>,
    waived: &HashSet<(String, DateTime<Utc>)>,
    this_run: &[Invoice],
    (now, terms, rates): (DateTime<Utc>, crate::receivables::Terms, Option<&crate::exchange::Rates>),
) -> Result<(Invoice, Composed), InvoicerError> {
    let cycle = w.cycle;
    let period = cycle.period(w.index);
    let period_usage: Vec<_> =
        w.subscription.spans(&period).iter().map(|(plan, span)| usage.get(span, plan, &w.customer.id)).collect();
    let docs: Vec<&Invoice> = documents
        .get(w.subscription.id.as_str())
        .into_iter()
        .flatten()
        .chain(this_run.iter().filter(|i| i.subscription == w.subscription.id))
        .collect();
    let billed = billed_for(&docs, &period);
    let mut plans: Vec<PlanKey> = w.subscription.spans(&period).into_iter().map(|(plan, _)| plan).collect();
    for &j in &w.late {
        plans.extend(w.subscription.spans(&cycle.period(j)).into_iter().map(|(plan, _)| plan));
    }
    same_prices(catalog, &plans, &docs)?;
    let mut invoice = if w.late_only {
        Invoice::late_shell(w.customer, &w.subscription.id, period)
    } else {
        compose_in(catalog, w.customer, w.subscription, &cycle, w.index, &period_usage, &billed)?
    };
    for &j in &w.late {
        let earlier = cycle.period(j);
        if waived.contains(&(w.subscription.id.to_string(), earlier.start())) {
            continue;
        }
        for (plan, span) in w.subscription.spans(&earlier) {
            if let Some(p) = catalog.plan(plan.as_str()) {
                invoice.prices.insert(plan.clone(), p.prices.clone());
            }
            let billed = tally_invoicing::billed_usage(&docs, &plan, &span);
            let now_usage = usage.get(&span, &plan, &w.customer.id);
            let name = w.subscription.id.as_str();
            invoice
                .lines
                .extend(tally_invoicing::late_usage_lines(catalog, name, &plan, &earlier, &span, now_usage, &billed)?);
        }
    }
    let profile = w.customer.profile().map_err(|source| tally_invoicing::InvoiceError::Account {
        subscription: w.subscription.id.to_string(),
        source,
    })?;
    tally_invoicing::tax::settle(&mut invoice, catalog, &profile);
    if w.late_only {
        invoice.id = late_id(&tally_invoicing::invoice_id(&w.subscription.id, &period), &invoice.lines);
    }
    invoice.state = w.state;
    if w.state == InvoiceState::Issued {
        invoice.issued_at = Some(now);
        invoice.due = Some(terms.due_for(&profile, now));
        crate::exchange::record(rates, &mut invoice)?;
    }
    let mut by_plan: Vec<(String, Decimal)> = Vec::new();
    for line in &invoice.lines {
        match by_plan.iter_mut().find(|(plan, _)| plan == line.plan.as_str()) {
            Some((_, amount)) => *amount += line.amount,
            None => by_plan.push((line.plan.to_string(), line.amount)),
        }
    }
    let composed = (record(&invoice, catalog)?, invoice.state, invoice.due, by_plan);
    Ok((invoice, composed))
}

/// The catalog prices `plans` as the invoices `docs` were priced (an old period must
/// not be priced again with prices edited since).
pub(crate) fn same_prices(catalog: &Catalog, plans: &[PlanKey], docs: &[&Invoice]) -> Result<(), InvoicerError> {
    for plan in plans {
        let Some(now) = catalog.plan(plan.as_str()).map(|p| &p.prices) else { continue };
        for doc in docs {
            if doc.prices.get(plan).is_some_and(|then| then != now) {
                let invoice = doc.number.clone().unwrap_or_else(|| doc.id.clone());
                return Err(InvoicerError::PricesChanged { plan: plan.to_string(), invoice });
            }
        }
    }
    Ok(())
}

/// The id of a late-usage invoice: the period's invoice id and a hash of what it bills,
/// so two invoicers (or a retry) that find the same late usage write one invoice.
pub(crate) fn late_id(period_id: &str, lines: &[tally_invoicing::InvoiceLine]) -> String {
    let text: Vec<String> = lines
        .iter()
        .map(|l| {
            let dims: Vec<String> = l.dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "{}|{}|{}|{}|{}|{}",
                l.key,
                l.plan,
                l.service_period.start().timestamp_millis(),
                l.service_period.end().timestamp_millis(),
                dims.join(","),
                l.quantity.unwrap_or_default().normalize()
            )
        })
        .collect();
    format!("{period_id}/late-{}", crate::credit::short_hash(&text.join("\n")))
}

/// The stored invoice with this id, or else with this number.
pub async fn find_invoice<S: InvoiceStore>(
    store: &S,
    id_or_number: &str,
) -> Result<Option<InvoiceRecord>, InvoicerError> {
    if let Some(record) = store.invoice(id_or_number).await? {
        return Ok(Some(record));
    }
    Ok(store.invoice_by_number(id_or_number).await?)
}

/// The documents linked to `invoice` (its credit note, revision, the invoice a credit
/// note cancels), by number, from the documents of its subscription.
pub async fn paper_trail<S: InvoiceStore>(
    store: &S,
    invoice: &Invoice,
) -> Result<tally_invoicing::Trail, InvoicerError> {
    Ok(tally_invoicing::Trail::of(invoice, &documents_of(store, &invoice.subscription).await?))
}

/// Every document of a subscription (drafts, issued, voided invoices and credit notes),
/// read back from the store.
pub(crate) async fn documents_of<S: InvoiceStore>(
    store: &S,
    subscription: &tally_domain::SubscriptionId,
) -> Result<Vec<Invoice>, InvoicerError> {
    let filter = InvoiceFilter { subscription: Some(subscription.clone()), ..Default::default() };
    store.invoices(&filter).await?.iter().map(parse_record).collect()
}

/// A stored invoice, its state and number as the store has them (the columns are the truth).
pub fn parse_record(record: &InvoiceRecord) -> Result<Invoice, InvoicerError> {
    let mut invoice: Invoice = body_of(record)?;
    invoice.number = record.number.clone();
    // The store read the state typed (an unknown name is its error, naming the row).
    invoice.state = record.state;
    Ok(invoice)
}

/// A stored body read as `T` (the whole invoice, or the books' figures of it); a body
/// that does not read is an error naming the invoice.
pub(crate) fn body_of<T: serde::de::DeserializeOwned>(record: &InvoiceRecord) -> Result<T, InvoicerError> {
    serde_json::from_str(&record.body)
        .map_err(|e| InvoicerError::Corrupt { id: record.id.clone(), message: e.to_string() })
}

/// The fees `documents` billed for `period` (in advance or since), corrections included.
pub(crate) fn billed_for(documents: &[&Invoice], period: &tally_domain::Period) -> Vec<BilledFee> {
    documents
        .iter()
        .flat_map(|d| d.lines.iter())
        .filter(|l| matches!(l.kind, LineKind::Fee | LineKind::FeeAdjustment))
        .filter(|l| l.service_period.start() >= period.start() && l.service_period.start() < period.end())
        .map(|l| BilledFee { plan: l.plan.clone(), key: l.key.clone(), amount: l.amount })
        .collect()
}

/// The invoice as the store keeps it (an invoice that cannot be written as JSON is an
/// error, never an empty body).
pub(crate) fn record(invoice: &Invoice, catalog: &Catalog) -> Result<InvoiceRecord, InvoicerError> {
    // The meter a usage line's charge reads, what the plan includes and the charge's
    // filter (`model = "gpt-4o"`), for reports by meter, model or GPU type and of
    // allowances (nothing for fees).
    let no_filter = std::collections::BTreeMap::new();
    let charge_of = |plan: &str, key: &str| {
        catalog
            .plan(plan)
            .and_then(|p| p.charges.iter().find(|c| c.key.as_str() == key))
            .map_or(("", Decimal::ZERO, &no_filter), |c| (c.meter.as_str(), c.included, &c.filter))
    };
    let body = serde_json::to_string(invoice)
        .map_err(|e| InvoicerError::Corrupt { id: invoice.id.clone(), message: format!("cannot be written: {e}") })?;
    Ok(InvoiceRecord {
        id: invoice.id.clone(),
        number: invoice.number.clone(),
        customer: invoice.customer.clone(),
        subscription: invoice.subscription.clone(),
        period: invoice.period,
        currency: invoice.currency.to_string(),
        state: invoice.state,
        total: invoice.total,
        issued_at: invoice.issued_at,
        body,
        reporting: invoice
            .exchange
            .as_ref()
            .map(|x| ReportedTotal { currency: x.currency.to_string(), total: x.convert(invoice.total) }),
        lines: invoice
            .lines
            .iter()
            .map(|l| (l, charge_of(l.plan.as_str(), &l.key)))
            .map(|(l, (meter, included, filter))| {
                let detail = detail(l.plan.as_str(), meter, included, filter, &l.service_period);
                let detail = detail.map_err(|e| InvoicerError::Corrupt {
                    id: invoice.id.clone(),
                    message: format!("a line cannot be written: {e}"),
                })?;
                Ok(InvoiceLineRecord {
                    key: l.key.clone(),
                    kind: LineKind::name(l.kind).to_owned(),
                    dimensions: l.dimensions.clone(),
                    quantity: l.quantity.unwrap_or_default(),
                    // A reporting column of 12 decimals: `per` divisions can go further; the
                    // exact value stays in the body.
                    billable_quantity: l.billable_quantity.unwrap_or_default().round_dp(12),
                    amount: l.amount,
                    // The body holds the whole line; reports need its plan, meter, allowance
                    // (included units per period) and service period.
                    detail,
                })
            })
            .collect::<Result<_, InvoicerError>>()?,
    })
}

/// A line's reporting detail: its plan, meter, allowance (included units per period),
/// filter and service period, as one JSON object written into one buffer (it was a
/// `format!` of four separately allocated JSON values, for every line of a month).
fn detail(
    plan: &str,
    meter: &str,
    included: Decimal,
    filter: &BTreeMap<String, String>,
    period: &tally_domain::Period,
) -> Result<String, std::io::Error> {
    use std::io::Write;
    let mut out: Vec<u8> = Vec::with_capacity(160);
    out.write_all(b"{\"plan\":")?;
    serde_json::to_writer(&mut out, plan)?;
    out.write_all(b",\"meter\":")?;
    serde_json::to_writer(&mut out, meter)?;
    write!(out, ",\"included\":\"{}\",\"filter\":", included.normalize())?;
    serde_json::to_writer(&mut out, filter)?;
    write!(
        out,
        ",\"service_start_ms\":{},\"service_end_ms\":{}}}",
        period.start().timestamp_millis(),
        period.end().timestamp_millis()
    )?;
    String::from_utf8(out).map_err(std::io::Error::other)
}

/// A line kind's name, as in the invoice JSON.

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tally_domain::{BillingCycle, Interval, Phase, PlanKey, SubscriptionId};

    use super::*;

    /// The detail written into one buffer is byte for byte the `format!` of JSON values
    /// it replaced, escapes and all.
    #[test]
    fn a_lines_detail_is_the_json_it_was() {
        let period = tally_domain::Period::new(
            "2026-11-01T00:00:00Z".parse().unwrap(),
            "2026-11-15T12:30:00.250Z".parse().unwrap(),
        )
        .unwrap();
        let filters: [&[(&str, &str)]; 3] =
            [&[], &[("model", "gpt-4o")], &[("region", "eu \"west\"\n"), ("model", "千問 \\ 2")]];
        for (plan, meter, included, filter) in [
            ("starter", "llm_tokens", "1000000.000", filters[1]),
            ("", "", "0", filters[0]),
            ("pro \"annual\"", "gpu\tseconds", "12.5", filters[2]),
        ] {
            let filter: BTreeMap<String, String> = filter.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let included: Decimal = included.parse().unwrap();
            let before = format!(
                "{{\"plan\":{},\"meter\":{},\"included\":\"{}\",\"filter\":{},\"service_start_ms\":{},\"service_end_ms\":{}}}",
                serde_json::Value::from(plan),
                serde_json::Value::from(meter),
                included.normalize(),
                serde_json::to_string(&filter).unwrap(),
                period.start().timestamp_millis(),
                period.end().timestamp_millis()
            );
            assert_eq!(detail(plan, meter, included, &filter, &period).unwrap(), before);
        }
    }

    #[test]
    fn chunks_never_cut_a_subscription() {
        let customer = Customer {
            id: CustomerId::new("c"),
            name: "c".into(),
            currency: "USD".parse().unwrap(),
            timezone: chrono_tz::Tz::UTC,
            billing_details: BTreeMap::new(),
        };
        let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let subscriptions: Vec<Subscription> = ["a", "b", "c"]
            .iter()
            .map(|id| Subscription {
                id: SubscriptionId::new(*id),
                customer: customer.id.clone(),
                start,
                end: None,
                anchor: start.date_naive(),
                phases: vec![Phase { plan: PlanKey::new("pro"), from: start }],
            })
            .collect();
        let cycle = BillingCycle::new(Interval::Month, start.date_naive(), chrono_tz::Tz::UTC);
        // a: 3 periods, b: 1, c: 2.
        let work: Vec<Work<'_>> = [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0), (2, 1)]
            .iter()
            .map(|&(s, index)| Work {
                subscription: &subscriptions[s],
                customer: &customer,
                cycle,
                index,
                state: InvoiceState::Issued,
                late: Vec::new(),
                late_only: false,
            })
            .collect();
        for parts in 1..=7 {
            let chunks = split_by_subscription(&work, parts);
            assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), work.len());
            for pair in chunks.windows(2) {
                assert_ne!(pair[0].last().unwrap().subscription.id, pair[1][0].subscription.id, "{parts} parts");
            }
        }
    }
}
