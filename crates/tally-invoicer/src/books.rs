//! What the books are made from, read from the store: the documents issued in a range
//! of days (`InvoiceFilter::issued_from`/`issued_to`, so only those bodies are read),
//! every customer, the ledger's entries and its totals on the last day, and the
//! exchange rates. The exports and reports themselves are `tally_books`'s.
//!
//! The bodies are read as [`DocumentFigures`] (what the books need of a document, not
//! the whole invoice with its tiers, notes and prices), parsed on every core with
//! `rayon` (a month of 100,000 invoices is that many JSON documents; rayon's parallel
//! iterators keep the order and stop at the first corrupt body without hand-written
//! chunking).

use chrono::{NaiveDate, TimeDelta};
use rayon::iter::{IntoParallelRefIterator, ParallelIterator};
use tally_books::{Account, Range, Source};
use tally_domain::{Catalog, RateBook};
use tally_invoicing::DocumentFigures;
use tally_store::{AccountStore, InvoiceFilter, InvoiceStore, LedgerStore, RateStore};

use crate::close::body_of;
use crate::error::InvoicerError;
use crate::receivables::Terms;

/// Days of documents read (and parsed) at a time.
const BOOKS_READ_DAYS: i64 = 7;

/// The source of the books for the days `from` to `to` (both included).
pub async fn source<'c, S>(
    store: &S,
    catalog: &'c Catalog,
    from: NaiveDate,
    to: NaiveDate,
    terms: Terms,
) -> Result<Source<'c>, InvoicerError>
where
    S: AccountStore + InvoiceStore + LedgerStore + RateStore,
{
    if to < from {
        return Err(InvoicerError::Range(format!("--to {to} is before --from {from}")));
    }
    let start = |day: NaiveDate| day.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    // A week at a time: each week's bodies are parsed on the other cores while the
    // store reads the next (one connection reads), and are dropped once parsed, so a
    // month is never held twice, as text and as invoices. (A week, not a day: each
    // read is a query, and ClickHouse reads the table `FINAL` for each.)
    let mut parsing = Vec::new();
    let mut week = from;
    while week <= to {
        let next = (week + TimeDelta::days(BOOKS_READ_DAYS)).min(to + TimeDelta::days(1));
        let filter = InvoiceFilter { issued_from: start(week), issued_to: start(next), ..InvoiceFilter::default() };
        let records = store.invoices(&filter).await?;
        parsing.push(tokio::task::spawn_blocking(move || parse_all(&records, terms)));
        week = next;
    }
    let customers = store
        .customers()
        .await?
        .into_iter()
        .map(|customer| match customer.profile() {
            Ok(profile) => Ok((customer.id.clone(), Account { customer, profile })),
            Err(source) => Err(InvoicerError::Profile { customer: customer.id.to_string(), source }),
        })
        .collect::<Result<_, _>>()?;
    let entries = store.entries(None).await?;
    let totals = store.totals(to, None).await?;
    let rates = RateBook::new(store.rates().await?);
    let mut documents = Vec::new();
    for day in parsing {
        match day.await {
            Ok(parsed) => documents.extend(parsed?),
            Err(panicked) => std::panic::resume_unwind(panicked.into_panic()),
        }
    }
    documents.sort_by(|a, b| (a.issued_at, &a.number).cmp(&(b.issued_at, &b.number)));
    Ok(Source {
        range: Range { from, to },
        documents,
        customers,
        entries,
        totals,
        catalog,
        reporting: terms.reporting.map(|r| (r.currency, r.max_age_days)),
        rates,
    })
}

/// The documents of `records`, parsed on every core; an invoice kept without a due date
/// (issued before invoices kept theirs) gets the default terms'.
fn parse_all(records: &[tally_store::InvoiceRecord], terms: Terms) -> Result<Vec<DocumentFigures>, InvoicerError> {
    records
        .par_iter()
        .map(|record| {
            let mut doc: DocumentFigures = body_of(record)?;
            // As `close::parse_record`: the row's number and state are the document's.
            doc.number = record.number.clone();
            doc.state = record.state;
            if let (None, Some(issued), tally_invoicing::Document::Invoice) = (doc.due, doc.issued_at, doc.document) {
                doc.due = Some(terms.due_or_default(doc.due, issued));
            }
            Ok(doc)
        })
        .collect()
}
