//! The book: everything derived from the entries dated on or before one day. Nothing
//! here is stored; a book is rebuilt from entries whenever it is needed, so it can never
//! disagree with them. It is a sum: the entries may come in any order (stores return
//! them by day, not by the order of the acts), and what an invoice owes or a payment
//! has left is worked out when asked.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_domain::{Currency, CustomerId};

use crate::entry::{Entry, EntryKind, Source};
use crate::totals::Totals;

/// An invoice as the book knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDocument {
    /// The invoice's id.
    pub document: String,
    /// Its number.
    pub number: String,
    /// Whose.
    pub customer: CustomerId,
    /// In which currency.
    pub currency: Currency,
    /// Its amount.
    pub amount: Decimal,
    /// The day it was issued.
    pub issued: NaiveDate,
    /// When it is due.
    pub due: NaiveDate,
    /// What it still owes.
    pub owed: Decimal,
}

/// A source of credit as the book knows it; what it has given is in the book's sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceState {
    /// How people name it: the payment's reference, the credit note's number.
    pub(crate) label: String,
    pub(crate) currency: Currency,
    pub(crate) amount: Decimal,
    pub(crate) effective: NaiveDate,
}

/// The aging buckets, by days past due.
pub const AGING_BUCKETS: [&str; 5] = ["current", "1-30", "31-60", "61-90", "90+"];

/// The bucket of an invoice `days_past_due` (0 or less: not yet due).
pub fn aging_bucket(days_past_due: i64) -> &'static str {
    match days_past_due {
        ..=0 => AGING_BUCKETS[0],
        1..=30 => AGING_BUCKETS[1],
        31..=60 => AGING_BUCKETS[2],
        61..=90 => AGING_BUCKETS[3],
        _ => AGING_BUCKETS[4],
    }
}

/// What is owed in one currency, by age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgingRow {
    /// The currency.
    pub currency: Currency,
    /// Per bucket of [`AGING_BUCKETS`]: amount owed and invoices.
    pub buckets: [(Decimal, u64); 5],
    /// Credit not allocated to any invoice (payments and credit notes), which a customer
    /// may still use.
    pub unapplied_credit: Decimal,
}

impl AgingRow {
    /// Everything owed.
    pub fn owed(&self) -> Decimal {
        self.buckets.iter().map(|b| b.0).sum()
    }
}

/// The entries dated on or before a day, added up.
#[derive(Debug, Clone, Default)]
pub struct Book {
    as_of: Option<NaiveDate>,
    invoices: BTreeMap<String, OpenDocument>,
    sources: BTreeMap<(CustomerId, Source), SourceState>,
    /// Per (source, invoice): allocated net of allocations undone.
    allocations: BTreeMap<(CustomerId, Source, String), Decimal>,
    /// Per invoice: allocated to it, net; and written off.
    allocated_to: HashMap<String, Decimal>,
    written_off: HashMap<String, Decimal>,
    /// Per source: allocated from it, net; refunded or reversed.
    allocated_from: HashMap<(CustomerId, Source), Decimal>,
    taken: HashMap<(CustomerId, Source), Decimal>,
    balances: BTreeMap<(CustomerId, Currency), Decimal>,
    /// Ids of the entries counted, to tell a new entry from one appended already.
    ids: HashMap<String, NaiveDate>,
}

impl Book {
    /// The book of `entries` as of the end of `day` (entries dated later are left out).
    pub fn as_of<'a>(entries: impl IntoIterator<Item = &'a Entry>, day: NaiveDate) -> Book {
        let mut book = Book { as_of: Some(day), ..Book::default() };
        for entry in entries.into_iter().filter(|e| e.effective <= day) {
            book.add(entry);
        }
        book
    }

    /// The book of every entry, whatever its date.
    pub fn all<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Book {
        let mut book = Book::default();
        for entry in entries {
            book.add(entry);
        }
        book
    }

    /// The day the book is as of (`None`: every entry).
    pub fn day(&self) -> Option<NaiveDate> {
        self.as_of
    }

    /// Counts one entry (an entry counted already is ignored: ids are unique).
    pub fn add(&mut self, entry: &Entry) {
        if self.ids.insert(entry.id.clone(), entry.effective).is_some() {
            return;
        }
        let customer = &entry.customer;
        *self.balances.entry((customer.clone(), entry.currency)).or_default() += entry.balance_effect();
        let source_state = |entry: &Entry, label: &str| SourceState {
            label: label.to_owned(),
            currency: entry.currency,
            amount: entry.amount,
            effective: entry.effective,
        };
        match &entry.kind {
            EntryKind::Invoice { document, number, due } => {
                self.invoices.insert(
                    document.clone(),
                    OpenDocument {
                        document: document.clone(),
                        number: number.clone(),
                        customer: customer.clone(),
                        currency: entry.currency,
                        amount: entry.amount,
                        issued: entry.effective,
                        due: *due,
                        owed: entry.amount,
                    },
                );
                self.refresh_invoice(document);
            }
            EntryKind::CreditNote { document, number, .. } => {
                let state = source_state(entry, number);
                self.sources.insert((customer.clone(), Source::CreditNote(document.clone())), state);
            }
            EntryKind::Payment { reference } => {
                let state = source_state(entry, reference);
                self.sources.insert((customer.clone(), Source::Payment(reference.clone())), state);
            }
            EntryKind::Allocation { source, document } | EntryKind::Deallocation { source, document } => {
                let sign =
                    if matches!(entry.kind, EntryKind::Allocation { .. }) { Decimal::ONE } else { -Decimal::ONE };
                let amount = sign * entry.amount;
                *self.allocated_from.entry((customer.clone(), source.clone())).or_default() += amount;
                *self.allocated_to.entry(document.clone()).or_default() += amount;
                *self.allocations.entry((customer.clone(), source.clone(), document.clone())).or_default() += amount;
                self.refresh_invoice(document);
            }
            EntryKind::PaymentReversal { reference, .. } => {
                *self.taken.entry((customer.clone(), Source::Payment(reference.clone()))).or_default() += entry.amount;
            }
            EntryKind::Refund { source, .. } => {
                *self.taken.entry((customer.clone(), source.clone())).or_default() += entry.amount;
            }
            EntryKind::WriteOff { document, .. } => {
                *self.written_off.entry(document.clone()).or_default() += entry.amount;
                self.refresh_invoice(document);
            }
        }
    }

    /// What an invoice owes, from the sums (whichever entries came first).
    fn refresh_invoice(&mut self, document: &str) {
        if let Some(invoice) = self.invoices.get_mut(document) {
            let allocated = self.allocated_to.get(document).copied().unwrap_or_default();
            let written_off = self.written_off.get(document).copied().unwrap_or_default();
            invoice.owed = invoice.amount - allocated - written_off;
        }
    }

    /// What a source has not given yet (allocated, refunded or reversed), from the sums.
    fn left(&self, key: &(CustomerId, Source), source: &SourceState) -> Decimal {
        let allocated = self.allocated_from.get(key).copied().unwrap_or_default();
        source.amount - allocated - self.taken.get(key).copied().unwrap_or_default()
    }

    /// Whether an entry with this id is counted.
    pub fn has(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    /// The invoice `document`, with what it still owes.
    pub fn invoice(&self, document: &str) -> Option<&OpenDocument> {
        self.invoices.get(document)
    }

    /// Every invoice of `customer` (or of all), by due date then number.
    pub fn invoices(&self, customer: Option<&CustomerId>) -> Vec<&OpenDocument> {
        let mut out: Vec<&OpenDocument> =
            self.invoices.values().filter(|d| customer.is_none_or(|c| &d.customer == c)).collect();
        out.sort_by(|a, b| (a.due, a.issued, &a.number).cmp(&(b.due, b.issued, &b.number)));
        out
    }

    /// Invoices of `customer` (or of all) that still owe something, oldest due first.
    pub fn open(&self, customer: Option<&CustomerId>) -> Vec<&OpenDocument> {
        self.invoices(customer).into_iter().filter(|d| d.owed > Decimal::ZERO).collect()
    }

    /// A customer's balance in a currency: positive when it owes, negative when it is in credit.
    pub fn balance(&self, customer: &CustomerId, currency: Currency) -> Decimal {
        self.balances.get(&(customer.clone(), currency)).copied().unwrap_or_default()
    }

    /// Every (customer, currency) the book has entries for, with its balance.
    pub fn balances(&self) -> impl Iterator<Item = (&CustomerId, Currency, Decimal)> {
        self.balances.iter().map(|((c, cur), b)| (c, *cur, *b))
    }

    /// Credit of `customer` in `currency` not allocated to any invoice (negative when a
    /// reversed payment had been refunded in part: money paid out that never came in).
    pub fn unapplied(&self, customer: &CustomerId, currency: Currency) -> Decimal {
        self.sources
            .iter()
            .filter(|((c, _), s)| c == customer && s.currency == currency)
            .map(|(key, s)| self.left(key, s))
            .sum()
    }

    /// What `source` of `customer` can still give (allocate or refund).
    pub fn available(&self, customer: &CustomerId, source: &Source) -> Option<Decimal> {
        let key = (customer.clone(), source.clone());
        self.sources.get(&key).map(|s| self.left(&key, s))
    }

    /// How people name `source`: a payment's reference, a credit note's number.
    pub fn label(&self, customer: &CustomerId, source: &Source) -> Option<&str> {
        self.source(customer, source).map(|s| s.label.as_str())
    }

    pub(crate) fn source(&self, customer: &CustomerId, source: &Source) -> Option<&SourceState> {
        self.sources.get(&(customer.clone(), source.clone()))
    }

    /// Sources of `customer` in `currency` with credit left, oldest first.
    pub(crate) fn sources_with_credit(&self, customer: &CustomerId, currency: Currency) -> Vec<(Source, Decimal)> {
        let mut out: Vec<(NaiveDate, Source, Decimal)> = self
            .sources
            .iter()
            .filter(|((c, _), s)| c == customer && s.currency == currency)
            .map(|(key, s)| (s.effective, key.1.clone(), self.left(key, s)))
            .filter(|(_, _, left)| *left > Decimal::ZERO)
            .collect();
        out.sort();
        out.into_iter().map(|(_, s, a)| (s, a)).collect()
    }

    /// What each source has allocated to `document` (net, positive only).
    pub fn allocations_to(&self, customer: &CustomerId, document: &str) -> Vec<(Source, Decimal)> {
        self.allocations
            .iter()
            .filter(|((c, _, d), a)| c == customer && d == document && **a > Decimal::ZERO)
            .map(|((_, s, _), a)| (s.clone(), *a))
            .collect()
    }

    /// Where `source` is allocated (net, positive only).
    pub fn allocations_of(&self, customer: &CustomerId, source: &Source) -> Vec<(String, Decimal)> {
        self.allocations
            .iter()
            .filter(|((c, s, _), a)| c == customer && s == source && **a > Decimal::ZERO)
            .map(|((_, _, d), a)| (d.clone(), *a))
            .collect()
    }

    /// The totals of `customer` (or of all) on `day`: open invoices, unused credit and
    /// balances.
    pub fn totals(&self, customer: Option<&CustomerId>, day: NaiveDate) -> Totals {
        let mut open: Vec<OpenDocument> = self.open(customer).into_iter().cloned().collect();
        Totals::sort(&mut open);
        let mine = |c: &CustomerId| customer.is_none_or(|want| want == c);
        let mut credit: BTreeMap<(CustomerId, Currency), Decimal> = BTreeMap::new();
        for (key, s) in self.sources.iter().filter(|(key, _)| mine(&key.0)) {
            let left = self.left(key, s);
            if left > Decimal::ZERO {
                *credit.entry((key.0.clone(), s.currency)).or_default() += left;
            }
        }
        let balances = self.balances.iter().filter(|(key, _)| mine(&key.0)).map(|(k, b)| (k.clone(), *b)).collect();
        Totals { day, open, credit, balances }
    }

    /// What is owed per currency by days past due on `day`, for `customer` or all.
    pub fn aging(&self, customer: Option<&CustomerId>, day: NaiveDate) -> Vec<AgingRow> {
        self.totals(customer, day).aging(customer)
    }
}
