//! The paper trail between documents: a credit note names the invoice it cancels, a
//! revision the invoice it replaces, and a voided invoice its credit note and revision,
//! all by number, the way a customer and an accountant refer to them. Issued documents
//! never change, so the links are found from the documents of the same subscription
//! when one is shown, rather than written back into the voided invoice.

use crate::model::{Document, Invoice};

/// The numbers of the documents linked to one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trail {
    /// For a credit note: the number of the invoice it cancels.
    pub cancels: Option<String>,
    /// For a revision: the number of the invoice it replaces.
    pub replaces: Option<String>,
    /// For a voided invoice: its credit notes' numbers.
    pub credited_by: Vec<String>,
    /// For a voided invoice: its revisions' numbers.
    pub replaced_by: Vec<String>,
}

impl Trail {
    /// The links of `invoice` among `documents` (those of its subscription; drafts and
    /// documents without a number are left out).
    pub fn of(invoice: &Invoice, documents: &[Invoice]) -> Trail {
        let number_of = |id: &str| documents.iter().find(|d| d.id == id).and_then(|d| d.number.clone());
        let numbered = |pick: &dyn Fn(&Invoice) -> bool| -> Vec<String> {
            let mut out: Vec<String> = documents.iter().filter(|d| pick(d)).filter_map(|d| d.number.clone()).collect();
            out.sort();
            out
        };
        Trail {
            cancels: invoice.credits.as_deref().and_then(number_of),
            replaces: invoice.revises.as_deref().and_then(number_of),
            credited_by: numbered(&|d| d.document == Document::CreditNote && d.credits.as_deref() == Some(&invoice.id)),
            replaced_by: numbered(&|d| d.document == Document::Invoice && d.revises.as_deref() == Some(&invoice.id)),
        }
    }
}
