//! Tally's domain: the vocabulary every other crate speaks.
//!
//! Money and currencies, keys, the price catalog (meters and plans) and the usage a
//! subscription accrued in a period. Everything here is plain data plus the parsing
//! that turns user input (TOML catalogs, JSON usage) into validated types, so the
//! crates above (rating, store, ingest, invoicer) never meet an invalid catalog or
//! a float amount. No I/O beyond reading a file the caller names, no async.

pub mod account;
pub mod catalog;
pub mod cycle;
pub mod decimal;
pub mod event;
pub mod fx;
pub mod ids;
pub mod invoice_state;
pub mod iso3166;
pub mod json;
pub mod locale;
pub mod money;
pub mod numbering;
pub mod period;
pub mod redact;
pub mod usage;

pub use account::{AccountError, BillingProfile, Customer, DateHorizon, Phase, Subscription, TaxStatus};
pub use catalog::{
    Accounting, Aggregation, Catalog, CatalogError, Charge, ChargeSelector, Display, Fee, Interval, Meter,
    MeterSelector, Plan, PlanSelectors, Price, TaxRate, TaxRounding, TaxTable, Tier,
};
pub use cycle::BillingCycle;
pub use event::UsageEvent;
pub use fx::{Exchange, ExchangeRate, FxError, RateBook};
pub use ids::{ChargeKey, CustomerId, FeeKey, MeterKey, PlanKey, SubscriptionId};
pub use invoice_state::InvoiceState;
pub use locale::Locale;
pub use money::{Currency, CurrencyError};
pub use numbering::NumberPattern;
pub use period::{Period, PeriodError};
pub use usage::{Dimensions, RateRequest, UsageError, UsageRow};

/// A short, stable name for `text` (FNV-1a, 64 bits, in hex): for ids and fingerprints
/// stored today that later builds must compute alike (std's hasher does not promise it).
pub fn fingerprint(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
