//! Customers and subscriptions in ClickHouse: `ReplacingMergeTree` tables versioned by
//! `updated_at_ms`, read with `FINAL` so the latest write wins at once.

use clickhouse::Row;
use serde::{Deserialize, Serialize};
use tally_domain::{Customer, CustomerId, Subscription, SubscriptionId};

use super::ClickHouseStore;
use crate::accounts::{AccountStore, CustomerRecord, SubscriptionRecord};
use crate::StoreError;

#[derive(Row, Serialize, Deserialize)]
struct CustomerRow {
    customer: String,
    name: String,
    currency: String,
    timezone: String,
    billing_details: String,
    updated_at_ms: i64,
}

#[derive(Row, Serialize, Deserialize)]
struct SubscriptionRow {
    subscription: String,
    customer: String,
    start_ms: i64,
    end_ms: Option<i64>,
    anchor: String,
    phases: String,
    updated_at_ms: i64,
}

impl From<CustomerRow> for CustomerRecord {
    fn from(r: CustomerRow) -> Self {
        CustomerRecord {
            customer: r.customer,
            name: r.name,
            currency: r.currency,
            timezone: r.timezone,
            billing_details: r.billing_details,
        }
    }
}

impl From<SubscriptionRow> for SubscriptionRecord {
    fn from(r: SubscriptionRow) -> Self {
        SubscriptionRecord {
            subscription: r.subscription,
            customer: r.customer,
            start_ms: r.start_ms,
            end_ms: r.end_ms,
            anchor: r.anchor,
            phases: r.phases,
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl AccountStore for ClickHouseStore {
    async fn put_customers(&self, customers: &[Customer]) -> Result<(), StoreError> {
        let mut insert = self
            .client()
            .insert::<CustomerRow>("customers")
            .await
            .map_err(StoreError::clickhouse("writing customers"))?;
        for customer in customers {
            let r = CustomerRecord::from(customer);
            let row = CustomerRow {
                customer: r.customer,
                name: r.name,
                currency: r.currency,
                timezone: r.timezone,
                billing_details: r.billing_details,
                updated_at_ms: now_ms(),
            };
            insert.write(&row).await.map_err(StoreError::clickhouse(format!("writing customer {}", customer.id)))?;
        }
        insert.end().await.map_err(StoreError::clickhouse("writing customers"))
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let row: Option<CustomerRow> = self
            .client()
            .query("SELECT ?fields FROM customers FINAL WHERE customer = ?")
            .bind(id.as_str())
            .fetch_optional()
            .await
            .map_err(StoreError::clickhouse(format!("reading customer {id}")))?;
        row.map(|r| CustomerRecord::from(r).into_customer()).transpose()
    }

    async fn customers(&self) -> Result<Vec<Customer>, StoreError> {
        let rows: Vec<CustomerRow> = self
            .client()
            .query("SELECT ?fields FROM customers FINAL ORDER BY customer")
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("listing customers"))?;
        rows.into_iter().map(|r| CustomerRecord::from(r).into_customer()).collect()
    }

    async fn put_subscriptions(&self, subscriptions: &[Subscription]) -> Result<(), StoreError> {
        let mut insert = self
            .client()
            .insert::<SubscriptionRow>("subscriptions")
            .await
            .map_err(StoreError::clickhouse("writing subscriptions"))?;
        for subscription in subscriptions {
            let r = SubscriptionRecord::from(subscription);
            let row = SubscriptionRow {
                subscription: r.subscription,
                customer: r.customer,
                start_ms: r.start_ms,
                end_ms: r.end_ms,
                anchor: r.anchor,
                phases: r.phases,
                updated_at_ms: now_ms(),
            };
            insert
                .write(&row)
                .await
                .map_err(StoreError::clickhouse(format!("writing subscription {}", subscription.id)))?;
        }
        insert.end().await.map_err(StoreError::clickhouse("writing subscriptions"))
    }

    async fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError> {
        let row: Option<SubscriptionRow> = self
            .client()
            .query("SELECT ?fields FROM subscriptions FINAL WHERE subscription = ?")
            .bind(id.as_str())
            .fetch_optional()
            .await
            .map_err(StoreError::clickhouse(format!("reading subscription {id}")))?;
        row.map(|r| SubscriptionRecord::from(r).into_subscription()).transpose()
    }

    async fn subscriptions(&self, customer: Option<&CustomerId>) -> Result<Vec<Subscription>, StoreError> {
        let query = match customer {
            Some(c) => self
                .client()
                .query("SELECT ?fields FROM subscriptions FINAL WHERE customer = ? ORDER BY subscription")
                .bind(c.as_str()),
            None => self.client().query("SELECT ?fields FROM subscriptions FINAL ORDER BY subscription"),
        };
        let rows: Vec<SubscriptionRow> =
            query.fetch_all().await.map_err(StoreError::clickhouse("listing subscriptions"))?;
        rows.into_iter().map(|r| SubscriptionRecord::from(r).into_subscription()).collect()
    }
}
