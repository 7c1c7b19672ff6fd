//! Subscription changes dated inside periods already invoiced. An issued invoice bills
//! its period as the subscription was when it was composed (its spans: which plan, for
//! which part of the period). A plan change or an end dated inside such a period would
//! leave the invoice billing the old plan while later closes bill the new one: the same
//! usage twice, a fee billed in advance never credited.
//!
//! The rule: a change that makes an issued invoice stale (the subscription now says
//! other spans for its period) is refused, naming the invoices, unless the caller asks
//! to revise them; then the change is stored and each stale invoice, oldest first, is
//! voided with a revision composed with the change (`crate::void`): the credit note
//! cancels what it billed (usage on the old plan, the fees billed in advance), the
//! revision bills the period's usage on the plans it now had and corrects its fees, and
//! what paid the old invoice moves to the revision. Oldest first, so each revision
//! reads the fees its predecessor billed in advance as corrected already. A change
//! dated after the last issued period needs nothing: the next close corrects the fee
//! billed in advance. Running the same change again revises only what is still stale.

use chrono::{DateTime, Utc};
use tally_domain::{Catalog, Subscription};
use tally_invoicing::Invoice;
use tally_store::{AccountStore, InvoiceStore, LedgerStore, UsageStore};

use crate::close::documents_of;
use crate::error::InvoicerError;
use crate::receivables::Terms;
use crate::void::{void, Voided};

/// The issued invoices (originals and revisions) of `updated`'s subscription that bill
/// a period otherwise than `updated` says, oldest first.
pub async fn stale_invoices<S: InvoiceStore>(store: &S, updated: &Subscription) -> Result<Vec<Invoice>, InvoicerError> {
    let standing: Vec<Invoice> = documents_of(store, &updated.id).await?.into_iter().filter(Invoice::counts).collect();
    let mut stale: Vec<Invoice> = standing
        .iter()
        .filter(|doc| !doc.late_only && doc.billed_spans() != updated.spans(&doc.period))
        .cloned()
        .collect();
    // An invoice whose late usage lines bill a part of an earlier period on a plan the
    // subscription no longer says (a late-usage invoice, or any carrying late lines).
    let cycle_of_line = |line: &tally_invoicing::InvoiceLine| {
        let spans = updated.spans(&line.service_period);
        spans.len() == 1 && spans[0] == (line.plan.clone(), line.service_period)
    };
    let wrong_late: Vec<Invoice> = standing
        .iter()
        .filter(|doc| !stale.iter().any(|s| s.id == doc.id))
        .filter(|doc| doc.lines.iter().any(|l| l.kind == tally_invoicing::LineKind::LateUsage && !cycle_of_line(l)))
        .cloned()
        .collect();
    stale.extend(wrong_late);
    // A later invoice that billed late usage of a stale period billed it on the old
    // plan for the old part: it is revised too (the revision of the stale period bills
    // all of that period's usage, split as it now is).
    let late_of_stale = |doc: &Invoice| {
        doc.lines.iter().any(|l| {
            l.kind == tally_invoicing::LineKind::LateUsage
                && stale.iter().any(|s| s.period.intersect(&l.service_period).is_some())
        })
    };
    let more: Vec<Invoice> =
        standing.iter().filter(|doc| !stale.iter().any(|s| s.id == doc.id) && late_of_stale(doc)).cloned().collect();
    stale.extend(more);
    stale.sort_by(|a, b| (a.period.start(), &a.id).cmp(&(b.period.start(), &b.id)));
    Ok(stale)
}

/// Stores `updated` (a subscription with a plan change or an end) after checking it
/// against the invoices issued; with `revise`, revises the invoices it makes stale.
/// Returns the voids done.
#[allow(clippy::too_many_arguments)]
pub async fn change_subscription<S>(
    store: &S,
    catalog: &Catalog,
    updated: &Subscription,
    revise: bool,
    now: DateTime<Utc>,
    prefixes: (&str, &str),
    terms: Terms,
) -> Result<Vec<Voided>, InvoicerError>
where
    S: UsageStore + AccountStore + InvoiceStore + LedgerStore + tally_store::RateStore,
{
    let stale = stale_invoices(store, updated).await?;
    if !stale.is_empty() && !revise {
        let invoices = stale
            .iter()
            .map(|d| {
                let number = d.number.clone().unwrap_or_else(|| d.id.clone());
                format!("{number} ({} to {})", d.period.start().to_rfc3339(), d.period.end().to_rfc3339())
            })
            .collect();
        return Err(InvoicerError::IssuedPeriods { subscription: updated.id.to_string(), invoices });
    }
    store.put_subscription(updated).await?;
    let mut done = Vec::with_capacity(stale.len());
    for doc in &stale {
        done.push(void(store, catalog, &doc.id, true, now, prefixes, terms).await?);
    }
    if !done.is_empty() {
        tracing::info!(subscription = %updated.id, revised = done.len(), "issued periods revised after a change");
    }
    Ok(done)
}
