//! One ledger entry: what happened, to whom, in which currency, for how much, and from
//! which day it counts.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_domain::{Currency, CustomerId};

/// Where credit comes from: money received, or a credit note.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Source {
    /// A payment, by its reference (unique per customer).
    Payment(String),
    /// A credit note, by its document id.
    CreditNote(String),
}

impl Source {
    /// One string naming the source, as stores keep it: `payment:<reference>` or
    /// `credit_note:<id>`.
    pub fn key(&self) -> String {
        match self {
            Source::Payment(id) => format!("payment:{id}"),
            Source::CreditNote(id) => format!("credit_note:{id}"),
        }
    }

    /// The payment reference or credit note id.
    pub fn id(&self) -> &str {
        match self {
            Source::Payment(id) | Source::CreditNote(id) => id,
        }
    }
}

/// What an entry records. Amounts are always positive; the kind says which way they go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    /// An invoice was issued: the customer owes its amount, due on `due`.
    Invoice {
        /// The invoice's id.
        document: String,
        /// Its number (`INV-000042`).
        number: String,
        /// When it is due.
        due: NaiveDate,
    },
    /// A credit note was issued: credit of its amount, to allocate (usually to the
    /// invoice it credits) or to keep as a credit balance.
    CreditNote {
        /// The credit note's id.
        document: String,
        /// Its number (`CN-000007`).
        number: String,
        /// The invoice it credits.
        credits: String,
        /// Why (a dispute, a void).
        reason: String,
    },
    /// Money was received.
    Payment {
        /// The bank's or payer's reference.
        reference: String,
    },
    /// Part of a source's credit applied to an invoice.
    Allocation {
        /// The payment or credit note.
        source: Source,
        /// The invoice.
        document: String,
    },
    /// An allocation taken back (a void moves it to the revision; a reversal takes it away).
    Deallocation {
        /// The payment or credit note.
        source: Source,
        /// The invoice.
        document: String,
    },
    /// A payment bounced or was charged back: its money never arrived after all.
    PaymentReversal {
        /// The payment.
        reference: String,
        /// Why (bounced, charged back, ...).
        reason: String,
    },
    /// Credit paid back to the customer.
    Refund {
        /// The payment or credit note the money comes from.
        source: Source,
        /// The refund's own reference.
        reference: String,
    },
    /// What an invoice still owed, given up.
    WriteOff {
        /// The invoice.
        document: String,
        /// Why.
        reason: String,
    },
}

/// One entry, never edited once appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unique and derived from what the entry records, so appending it twice (a retried
    /// request, a replayed act) stores it once.
    pub id: String,
    /// Whose account.
    pub customer: CustomerId,
    /// In which currency.
    pub currency: Currency,
    /// The day it takes effect (an invoice's issue date, a payment's received date).
    pub effective: NaiveDate,
    /// When it was appended.
    pub recorded_at: DateTime<Utc>,
    /// Positive, held to the currency's minor unit.
    pub amount: Decimal,
    /// What it records.
    pub kind: EntryKind,
    /// Free text for people (the act's note).
    pub memo: String,
}

impl Entry {
    /// Its signed effect on the customer's balance: positive when it adds to what the
    /// customer owes (an invoice, a reversal, a refund), negative when it takes from it
    /// (a payment, a credit note, a write-off), zero for allocations.
    pub fn balance_effect(&self) -> Decimal {
        match self.kind {
            EntryKind::Invoice { .. } | EntryKind::PaymentReversal { .. } | EntryKind::Refund { .. } => self.amount,
            EntryKind::CreditNote { .. } | EntryKind::Payment { .. } | EntryKind::WriteOff { .. } => -self.amount,
            EntryKind::Allocation { .. } | EntryKind::Deallocation { .. } => Decimal::ZERO,
        }
    }

    /// Its effect on what one invoice still owes: (the invoice, signed change). An
    /// invoice adds its amount; an allocation takes from it, an allocation undone gives
    /// it back; a write-off takes from it. Stores that add up owed amounts themselves
    /// keep this beside the entry, so both ways of counting share one rule.
    pub fn owes(&self) -> Option<(&str, Decimal)> {
        match &self.kind {
            EntryKind::Invoice { document, .. } => Some((document, self.amount)),
            EntryKind::Allocation { document, .. } | EntryKind::WriteOff { document, .. } => {
                Some((document, -self.amount))
            }
            EntryKind::Deallocation { document, .. } => Some((document, self.amount)),
            _ => None,
        }
    }

    /// Its effect on what one source of credit has left: (the source, signed change). A
    /// payment or credit note brings its amount; an allocation, a reversal or a refund
    /// takes from it; an allocation undone gives it back.
    pub fn gives(&self) -> Option<(Source, Decimal)> {
        match &self.kind {
            EntryKind::Payment { reference } => Some((Source::Payment(reference.clone()), self.amount)),
            EntryKind::CreditNote { document, .. } => Some((Source::CreditNote(document.clone()), self.amount)),
            EntryKind::Allocation { source, .. } => Some((source.clone(), -self.amount)),
            EntryKind::Deallocation { source, .. } => Some((source.clone(), self.amount)),
            EntryKind::PaymentReversal { reference, .. } => Some((Source::Payment(reference.clone()), -self.amount)),
            EntryKind::Refund { source, .. } => Some((source.clone(), -self.amount)),
            EntryKind::Invoice { .. } | EntryKind::WriteOff { .. } => None,
        }
    }

    /// A short name of the kind, as stored and exported.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            EntryKind::Invoice { .. } => "invoice",
            EntryKind::CreditNote { .. } => "credit_note",
            EntryKind::Payment { .. } => "payment",
            EntryKind::Allocation { .. } => "allocation",
            EntryKind::Deallocation { .. } => "deallocation",
            EntryKind::PaymentReversal { .. } => "payment_reversal",
            EntryKind::Refund { .. } => "refund",
            EntryKind::WriteOff { .. } => "write_off",
        }
    }
}
