//! The states an invoice goes through, named in one place: the store keeps them typed
//! and reads an unknown name back as an error naming the row, never as a default.

use serde::{Deserialize, Serialize};

/// Where an invoice is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceState {
    /// Within the grace period: refreshed on demand, no number yet.
    Draft,
    /// Numbered and final: never changed again.
    Issued,
    /// Cancelled after issue (a credit note offsets it).
    Void,
}

impl InvoiceState {
    /// Every state, in life order.
    pub const ALL: [InvoiceState; 3] = [InvoiceState::Draft, InvoiceState::Issued, InvoiceState::Void];

    /// Its name as stored, exported and filtered on (`draft`, `issued`, `void`).
    pub fn name(self) -> &'static str {
        match self {
            InvoiceState::Draft => "draft",
            InvoiceState::Issued => "issued",
            InvoiceState::Void => "void",
        }
    }

    /// The state of a stored name; `None` for a name no state has.
    pub fn from_name(name: &str) -> Option<InvoiceState> {
        InvoiceState::ALL.into_iter().find(|s| s.name() == name)
    }
}
