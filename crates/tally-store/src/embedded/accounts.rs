//! Customers and subscriptions in the embedded store: one row each, replaced on write.

use rusqlite::{params, OptionalExtension, Row};
use tally_domain::{Customer, CustomerId, Subscription, SubscriptionId};

use super::EmbeddedStore;
use crate::accounts::{AccountStore, CustomerRecord, SubscriptionRecord};
use crate::StoreError;

const CUSTOMER_COLUMNS: &str = "customer, name, currency, timezone, billing_details";
const SUBSCRIPTION_COLUMNS: &str = "subscription, customer, start_ms, end_ms, anchor, phases";

fn customer_row(row: &Row<'_>) -> rusqlite::Result<CustomerRecord> {
    Ok(CustomerRecord {
        customer: row.get(0)?,
        name: row.get(1)?,
        currency: row.get(2)?,
        timezone: row.get(3)?,
        billing_details: row.get(4)?,
    })
}

fn subscription_row(row: &Row<'_>) -> rusqlite::Result<SubscriptionRecord> {
    Ok(SubscriptionRecord {
        subscription: row.get(0)?,
        customer: row.get(1)?,
        start_ms: row.get(2)?,
        end_ms: row.get(3)?,
        anchor: row.get(4)?,
        phases: row.get(5)?,
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl AccountStore for EmbeddedStore {
    async fn put_customers(&self, customers: &[Customer]) -> Result<(), StoreError> {
        let records: Vec<CustomerRecord> = customers.iter().map(CustomerRecord::from).collect();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(StoreError::sqlite("writing customers"))?;
            for r in &records {
                tx.execute(
                    &format!("INSERT OR REPLACE INTO customers ({CUSTOMER_COLUMNS}, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                    params![r.customer, r.name, r.currency, r.timezone, r.billing_details, now_ms()],
                )
                .map_err(StoreError::sqlite(format!("writing customer {}", r.customer)))?;
            }
            tx.commit().map_err(StoreError::sqlite("writing customers"))
        })
        .await
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let id = id.to_string();
        let record = self
            .with_reader(move |conn| {
                conn.query_row(
                    &format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE customer = ?1"),
                    [&id],
                    customer_row,
                )
                .optional()
                .map_err(StoreError::sqlite(format!("reading customer {id}")))
            })
            .await?;
        record.map(CustomerRecord::into_customer).transpose()
    }

    async fn customers(&self) -> Result<Vec<Customer>, StoreError> {
        let records = self
            .with_reader(|conn| {
                let mut stmt = conn
                    .prepare(&format!("SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY customer"))
                    .map_err(StoreError::sqlite("listing customers"))?;
                let rows = stmt.query_map([], customer_row).map_err(StoreError::sqlite("listing customers"))?;
                rows.collect::<Result<Vec<_>, _>>().map_err(StoreError::sqlite("listing customers"))
            })
            .await?;
        records.into_iter().map(CustomerRecord::into_customer).collect()
    }

    async fn put_subscriptions(&self, subscriptions: &[Subscription]) -> Result<(), StoreError> {
        let records: Vec<SubscriptionRecord> = subscriptions.iter().map(SubscriptionRecord::from).collect();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(StoreError::sqlite("writing subscriptions"))?;
            for r in &records {
                tx.execute(
                    &format!(
                        "INSERT OR REPLACE INTO subscriptions ({SUBSCRIPTION_COLUMNS}, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    ),
                    params![r.subscription, r.customer, r.start_ms, r.end_ms, r.anchor, r.phases, now_ms()],
                )
                .map_err(StoreError::sqlite(format!("writing subscription {}", r.subscription)))?;
            }
            tx.commit().map_err(StoreError::sqlite("writing subscriptions"))
        })
        .await
    }

    async fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError> {
        let id = id.to_string();
        let record = self
            .with_reader(move |conn| {
                conn.query_row(
                    &format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE subscription = ?1"),
                    [&id],
                    subscription_row,
                )
                .optional()
                .map_err(StoreError::sqlite(format!("reading subscription {id}")))
            })
            .await?;
        record.map(SubscriptionRecord::into_subscription).transpose()
    }

    async fn subscriptions(&self, customer: Option<&CustomerId>) -> Result<Vec<Subscription>, StoreError> {
        let customer = customer.map(|c| c.to_string());
        let records = self
            .with_reader(move |conn| {
                let sql = format!(
                    "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE ?1 IS NULL OR customer = ?1 ORDER BY subscription"
                );
                let mut stmt = conn.prepare(&sql).map_err(StoreError::sqlite("listing subscriptions"))?;
                let rows =
                    stmt.query_map([&customer], subscription_row).map_err(StoreError::sqlite("listing subscriptions"))?;
                rows.collect::<Result<Vec<_>, _>>().map_err(StoreError::sqlite("listing subscriptions"))
            })
            .await?;
        records.into_iter().map(SubscriptionRecord::into_subscription).collect()
    }
}
