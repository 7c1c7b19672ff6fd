//! What the receivables add up to on a day, without the entries behind them: the
//! invoices that still owe, the credit customers have not used, and each account's
//! balance. Aging and overdue lists are derived from these alone, so a store that keeps
//! many customers can add the entries up where they are (ClickHouse does it in SQL, see
//! `tally-store`) instead of handing every entry over; a [`Book`](crate::Book) gives the
//! same totals from the entries, and the store's contract tests hold both to the same
//! figures.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_domain::{Currency, CustomerId};

use crate::book::{aging_bucket, AgingRow, OpenDocument, AGING_BUCKETS};

/// The receivables as of the end of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// The day.
    pub day: NaiveDate,
    /// Invoices with something still owed, in [`Totals::sort`] order.
    pub open: Vec<OpenDocument>,
    /// Per customer and currency: credit not allocated to any invoice, over the sources
    /// (payments, credit notes) that have some left.
    pub credit: BTreeMap<(CustomerId, Currency), Decimal>,
    /// Per customer and currency: the balance (positive: owed; negative: in credit).
    pub balances: BTreeMap<(CustomerId, Currency), Decimal>,
}

impl Totals {
    /// Puts open invoices in the order every list shows them: by due date, issue date,
    /// number, then id (a total order, whichever store added them up).
    pub fn sort(open: &mut [OpenDocument]) {
        open.sort_by(|a, b| (a.due, a.issued, &a.number, &a.document).cmp(&(b.due, b.issued, &b.number, &b.document)));
    }

    /// What is owed per currency by days past due, for `customer` or all.
    pub fn aging(&self, customer: Option<&CustomerId>) -> Vec<AgingRow> {
        let mut rows: BTreeMap<&'static str, AgingRow> = BTreeMap::new();
        fn row<'r>(rows: &'r mut BTreeMap<&'static str, AgingRow>, currency: Currency) -> &'r mut AgingRow {
            rows.entry(currency.code()).or_insert(AgingRow {
                currency,
                buckets: Default::default(),
                unapplied_credit: Decimal::ZERO,
            })
        }
        for doc in self.open.iter().filter(|d| customer.is_none_or(|c| &d.customer == c)) {
            let bucket = aging_bucket((self.day - doc.due).num_days());
            let index = AGING_BUCKETS.iter().position(|b| *b == bucket).unwrap_or(0);
            let cell = &mut row(&mut rows, doc.currency).buckets[index];
            *cell = (cell.0 + doc.owed, cell.1 + 1);
        }
        for ((who, currency), credit) in &self.credit {
            if customer.is_none_or(|c| c == who) && *credit > Decimal::ZERO {
                row(&mut rows, *currency).unapplied_credit += *credit;
            }
        }
        rows.into_values().collect()
    }

    /// Invoices of `customer` (or all) past due on the day with something owed, most
    /// overdue first.
    pub fn overdue(&self, customer: Option<&CustomerId>) -> Vec<&OpenDocument> {
        self.open.iter().filter(|d| d.due < self.day && customer.is_none_or(|c| &d.customer == c)).collect()
    }
}
