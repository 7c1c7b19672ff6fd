//! Keys as newtypes, so a meter key can never be passed where a plan key is meant.
//!
//! Keys are written by people in the catalog and appear on invoices; they are
//! compared and ordered as plain strings.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident) => {
        key_type!($(#[$doc])* $name(String));
    };
    ($(#[$doc:meta])* $name:ident(shared)) => {
        key_type!($(#[$doc])* $name(Arc<str>));

        impl $name {
            /// The key's text, shared: what a rated line keeps.
            pub fn shared(&self) -> Arc<str> {
                Arc::clone(&self.0)
            }
        }
    };
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name($inner);

        impl $name {
            /// Wraps a key that was already checked by the catalog loader or a caller.
            pub fn new(key: impl Into<$inner>) -> Self {
                Self(key.into())
            }

            /// The key as written in the catalog.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

key_type!(
    /// A meter's key (`[a-z0-9_]+`), e.g. `llm_tokens`.
    MeterKey
);
key_type!(
    /// A plan's key, e.g. `pro`.
    PlanKey
);
key_type!(
    /// A usage charge's key, unique within its plan; names the invoice line.
    ///
    /// Shared text (`Arc<str>`): every rated line carries its charge's key, and a
    /// reference count costs less than copying the key into a new `String` per line
    /// (an eighth of `rate()`'s time, see docs/benchmarks.md).
    ChargeKey(shared)
);
key_type!(
    /// A recurring fee's key, unique within its plan; names the invoice line.
    /// Shared text, as [`ChargeKey`].
    FeeKey(shared)
);
key_type!(
    /// A customer (billing account) id: the `subject` of its usage events.
    CustomerId
);
key_type!(
    /// A subscription's id, chosen by the operator (e.g. `sub-acme-2026`).
    SubscriptionId
);
