//! A customer's statement for a date range: the balance it opened with, every entry
//! that changed it, and the balance it closed with, in one currency.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_domain::{Currency, CustomerId};

use crate::book::Book;
use crate::entry::{Entry, EntryKind};

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// The day it took effect.
    pub day: NaiveDate,
    /// `invoice`, `credit_note`, `payment`, `payment_reversal`, `refund`, `write_off`.
    pub kind: &'static str,
    /// The document number or payment reference.
    pub reference: String,
    /// What it says (the memo, or what it is for).
    pub description: String,
    /// What it added to the balance (positive) or took from it (negative).
    pub amount: Decimal,
    /// The balance after it.
    pub balance: Decimal,
}

/// A statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Whose.
    pub customer: CustomerId,
    /// In which currency.
    pub currency: Currency,
    /// First day.
    pub from: NaiveDate,
    /// Last day (included).
    pub to: NaiveDate,
    /// The balance at the start of `from`.
    pub opening: Decimal,
    /// Every entry that changed the balance, in date order.
    pub lines: Vec<StatementLine>,
    /// The balance at the end of `to`.
    pub closing: Decimal,
    /// Credit not allocated at the end of `to`.
    pub unapplied_credit: Decimal,
}

impl Statement {
    /// The statement of `customer` in `currency` from `from` to `to` (both included).
    pub fn of(
        entries: &[Entry],
        customer: &CustomerId,
        currency: Currency,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Statement {
        let mine = || entries.iter().filter(|e| &e.customer == customer && e.currency == currency);
        let opening = from.pred_opt().map_or(Decimal::ZERO, |day| Book::as_of(mine(), day).balance(customer, currency));
        let mut in_range: Vec<&Entry> =
            mine().filter(|e| e.effective >= from && e.effective <= to && !e.balance_effect().is_zero()).collect();
        in_range.sort_by(|a, b| (a.effective, a.recorded_at, &a.id).cmp(&(b.effective, b.recorded_at, &b.id)));
        // Invoices by number (a write-off records the invoice's id).
        let numbers: std::collections::HashMap<&str, &str> = mine()
            .filter_map(|e| match &e.kind {
                EntryKind::Invoice { document, number, .. } => Some((document.as_str(), number.as_str())),
                _ => None,
            })
            .collect();
        let mut balance = opening;
        let lines = in_range
            .into_iter()
            .map(|e| {
                balance += e.balance_effect();
                let (reference, what) = match &e.kind {
                    EntryKind::Invoice { number, due, .. } => (number.clone(), format!("Invoice, due {due}")),
                    EntryKind::CreditNote { number, reason, .. } => (number.clone(), format!("Credit note ({reason})")),
                    EntryKind::Payment { reference } => (reference.clone(), "Payment received".into()),
                    EntryKind::PaymentReversal { reference, reason } => {
                        (reference.clone(), format!("Payment reversed ({reason})"))
                    }
                    EntryKind::Refund { reference, .. } => (reference.clone(), "Refund".into()),
                    EntryKind::WriteOff { document, reason } => {
                        let number = numbers.get(document.as_str()).map_or(document.as_str(), |n| n);
                        (number.to_owned(), format!("Written off ({reason})"))
                    }
                    EntryKind::Allocation { .. } | EntryKind::Deallocation { .. } => (String::new(), String::new()),
                };
                let description = if e.memo.is_empty() { what } else { format!("{what}: {}", e.memo) };
                StatementLine {
                    day: e.effective,
                    kind: e.kind_name(),
                    reference,
                    description,
                    amount: e.balance_effect(),
                    balance,
                }
            })
            .collect();
        let end = Book::as_of(mine(), to);
        Statement {
            customer: customer.clone(),
            currency,
            from,
            to,
            opening,
            lines,
            closing: end.balance(customer, currency),
            unapplied_credit: end.unapplied(customer, currency),
        }
    }
}
