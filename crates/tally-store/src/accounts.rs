//! Customers and subscriptions in the store, beside the usage they are billed for.
//!
//! Both stores keep one current row per customer and per subscription; a write
//! replaces the previous version. A subscription's phases (its plan changes) travel as
//! one JSON column, read and written whole: they are few, and the invoicer always
//! needs all of them.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use tally_domain::{Customer, CustomerId, Phase, Subscription, SubscriptionId};

use crate::StoreError;

/// What every store can do with billing accounts.
pub trait AccountStore: Send + Sync {
    /// Creates or replaces customers, in one write.
    fn put_customers(&self, customers: &[Customer]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Creates or replaces a customer.
    fn put_customer(&self, customer: &Customer) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.put_customers(std::slice::from_ref(customer))
    }
    /// One customer, if it exists.
    fn customer(&self, id: &CustomerId) -> impl Future<Output = Result<Option<Customer>, StoreError>> + Send;
    /// Every customer, by id.
    fn customers(&self) -> impl Future<Output = Result<Vec<Customer>, StoreError>> + Send;
    /// Creates or replaces subscriptions, in one write.
    fn put_subscriptions(&self, subscriptions: &[Subscription]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Creates or replaces a subscription.
    fn put_subscription(&self, subscription: &Subscription) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.put_subscriptions(std::slice::from_ref(subscription))
    }
    /// One subscription, if it exists.
    fn subscription(
        &self,
        id: &SubscriptionId,
    ) -> impl Future<Output = Result<Option<Subscription>, StoreError>> + Send;
    /// Every subscription, or a customer's, by id.
    fn subscriptions(
        &self,
        customer: Option<&CustomerId>,
    ) -> impl Future<Output = Result<Vec<Subscription>, StoreError>> + Send;
}

/// A customer as both stores keep it: text columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CustomerRecord {
    pub customer: String,
    pub name: String,
    pub currency: String,
    pub timezone: String,
    pub billing_details: String,
}

/// A subscription as both stores keep it: times in milliseconds, phases as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubscriptionRecord {
    pub subscription: String,
    pub customer: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub anchor: String,
    pub phases: String,
}

impl From<&Customer> for CustomerRecord {
    fn from(c: &Customer) -> Self {
        CustomerRecord {
            customer: c.id.to_string(),
            name: c.name.clone(),
            currency: c.currency.code().to_owned(),
            timezone: c.timezone.name().to_owned(),
            billing_details: serde_json::to_string(&c.billing_details).unwrap_or_else(|_| "{}".into()),
        }
    }
}

impl CustomerRecord {
    pub(crate) fn into_customer(self) -> Result<Customer, StoreError> {
        let corrupt = |field: &str, message: String| StoreError::Corrupt {
            context: format!("customer {} {field}", self.customer),
            message,
        };
        Ok(Customer {
            currency: self.currency.parse().map_err(|e| corrupt("currency", format!("{e}")))?,
            timezone: self.timezone.parse().map_err(|e| corrupt("timezone", format!("{e}")))?,
            billing_details: serde_json::from_str(&self.billing_details)
                .map_err(|e| corrupt("billing_details", e.to_string()))?,
            id: CustomerId::new(self.customer.clone()),
            name: self.name.clone(),
        })
    }
}

impl From<&Subscription> for SubscriptionRecord {
    fn from(s: &Subscription) -> Self {
        SubscriptionRecord {
            subscription: s.id.to_string(),
            customer: s.customer.to_string(),
            start_ms: s.start.timestamp_millis(),
            end_ms: s.end.map(|e| e.timestamp_millis()),
            anchor: s.anchor.to_string(),
            phases: serde_json::to_string(&s.phases).unwrap_or_else(|_| "[]".into()),
        }
    }
}

impl SubscriptionRecord {
    pub(crate) fn into_subscription(self) -> Result<Subscription, StoreError> {
        let corrupt = |field: &str, message: String| StoreError::Corrupt {
            context: format!("subscription {} {field}", self.subscription),
            message,
        };
        let time = |ms: i64, field: &str| {
            DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| corrupt(field, format!("{ms} ms is out of range")))
        };
        Ok(Subscription {
            start: time(self.start_ms, "start")?,
            end: self.end_ms.map(|ms| time(ms, "end")).transpose()?,
            anchor: NaiveDate::parse_from_str(&self.anchor, "%Y-%m-%d")
                .map_err(|e| corrupt("anchor", e.to_string()))?,
            phases: serde_json::from_str::<Vec<Phase>>(&self.phases).map_err(|e| corrupt("phases", e.to_string()))?,
            id: SubscriptionId::new(self.subscription.clone()),
            customer: CustomerId::new(self.customer.clone()),
        })
    }
}
