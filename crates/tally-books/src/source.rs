//! What the books are made from: a range of days and everything issued or received in
//! it, read by the invoicer from the store.

use std::collections::HashMap;

use chrono::NaiveDate;
use tally_domain::{BillingProfile, Catalog, Currency, Customer, CustomerId, RateBook};
use tally_invoicing::DocumentFigures;
use tally_ledger::Entry;

/// Days from `from` to `to`, both included (UTC days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The first day.
    pub from: NaiveDate,
    /// The last day (included).
    pub to: NaiveDate,
}

impl Range {
    /// Whether `day` is in the range.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

/// A customer and its billing profile, read once (a profile that cannot be read is
/// an error when the source is made, never an empty name or email in a file).
#[derive(Debug, Clone)]
pub struct Account {
    /// The customer.
    pub customer: Customer,
    /// Its billing details.
    pub profile: BillingProfile,
}

impl Account {
    /// The name in the books: the legal name of its billing details, else its name.
    pub fn name(&self) -> String {
        self.profile.legal_name.clone().unwrap_or_else(|| self.customer.name.clone())
    }
}

/// The inputs of every export and report.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The days.
    pub range: Range,
    /// Invoices and credit notes issued in the range (issued or voided since), by issue
    /// time then number; every invoice has its due date.
    pub documents: Vec<DocumentFigures>,
    /// Their customers (and every other, for the receivables), with their profiles.
    pub customers: HashMap<CustomerId, Account>,
    /// Every ledger entry (payments are those effective in the range).
    pub entries: Vec<Entry>,
    /// What the entries dated on or before the last day add up to.
    pub totals: tally_ledger::Totals,
    /// The catalog: accounting names, charges' meters.
    pub catalog: &'a Catalog,
    /// The reporting currency, with the age a rate may have, and the loaded rates.
    pub reporting: Option<(Currency, u32)>,
    /// Every exchange rate loaded.
    pub rates: RateBook,
}

impl Source<'_> {
    /// The documents' numbers by id, to name the invoice a credit note credits.
    pub fn numbers(&self) -> Numbers<'_> {
        Numbers(self.documents.iter().filter_map(|d| Some((d.id.as_str(), d.number.as_deref()?))).collect())
    }
}

/// The documents' numbers by id ([`Source::numbers`]).
pub struct Numbers<'s>(HashMap<&'s str, &'s str>);

impl Numbers<'_> {
    /// For a credit note, the number of the invoice it credits (its id when that
    /// invoice is not among the documents).
    pub fn credited(&self, doc: &DocumentFigures) -> Option<String> {
        let id = doc.credits.as_deref()?;
        Some(self.0.get(id).map_or(id, |n| *n).to_owned())
    }
}
