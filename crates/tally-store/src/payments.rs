//! Payments received against issued invoices, for receivables: what is still owed,
//! what is overdue, and how old it is. A payment is recorded once per (invoice,
//! reference): recording the same reference again (a retried request, a re-imported
//! bank line) changes nothing.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::StoreError;

/// One payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The invoice it pays (id).
    pub invoice: String,
    /// The payer's or bank's reference; unique per invoice.
    pub reference: String,
    /// Amount received, in the invoice's currency.
    pub amount: Decimal,
    /// The invoice's currency.
    pub currency: String,
    /// When it was received.
    pub received_on: NaiveDate,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// What every store can do with payments.
pub trait PaymentStore: Send + Sync {
    /// Records a payment unless one with the same (invoice, reference) exists; returns
    /// whether it was new.
    fn put_payment(&self, payment: &Payment) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Payments of one invoice, or all, oldest first.
    fn payments(&self, invoice: Option<&str>) -> impl Future<Output = Result<Vec<Payment>, StoreError>> + Send;
}
