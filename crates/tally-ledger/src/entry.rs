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
