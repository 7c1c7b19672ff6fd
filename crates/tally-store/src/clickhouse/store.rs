//! [`ClickHouseStore`]: batched RowBinary inserts and the exact billing query.

use clickhouse::{Client, Row};
use serde::Deserialize;
use tally_domain::CustomerId;

use super::config::ClickHouseConfig;
use super::connect::{connect, ServerVersion};
use super::migrations::migrate;
use super::rows::{from_raw, EventRow};
use super::sql;
use crate::{IncomingEvent, StoreError, UsageAggregate, UsageQuery, UsageStore};

/// Usage in ClickHouse. Cheap to clone; clones share the HTTP connection pool.
#[derive(Clone)]
pub struct ClickHouseStore {
    client: Client,
    version: ServerVersion,
}

#[derive(Row, Deserialize)]
struct AggregateRow {
    customer: String,
    groups: Vec<String>,
    q: i128,
}

impl ClickHouseStore {
    /// Connects, creates the database if needed and applies the migrations.
    pub async fn open(config: &ClickHouseConfig) -> Result<Self, StoreError> {
        let (client, version) = connect(config).await?;
        let client = migrate(&client, &config.database).await?;
        tracing::info!(url = %config.url, database = %config.database, version = %version.0, "ClickHouse store ready");
        Ok(ClickHouseStore { client, version })
    }

    /// The server's version.
    pub fn server_version(&self) -> &ServerVersion {
        &self.version
    }

    /// The client, scoped to the store's database.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl UsageStore for ClickHouseStore {
    async fn insert_events(&self, events: &[IncomingEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let now = u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        let mut insert = self
            .client
            .insert::<EventRow<'static>>("usage_events")
            .await
            .map_err(StoreError::clickhouse(
                "starting an insert into usage_events",
            ))?;
        for incoming in events {
            crate::check_event(&incoming.event)?;
            let row = EventRow::new(incoming, now)?;
            insert
                .write(&row)
                .await
                .map_err(StoreError::clickhouse("writing usage_events"))?;
        }
        // `end` returns once the server acknowledged the whole INSERT: the rows are written.
        insert.end().await.map_err(StoreError::clickhouse(
            "finishing the insert into usage_events",
        ))
    }

    async fn aggregate(&self, query: &UsageQuery) -> Result<Vec<UsageAggregate>, StoreError> {
        let mut out = Vec::new();
        for (index, item) in query.items.iter().enumerate() {
            let context = || format!("aggregating meter {}", item.meter.key);
            let rows: Vec<AggregateRow> = self
                .client
                .query(&sql::aggregate(item, query))
                .fetch_all()
                .await
                .map_err(StoreError::clickhouse(context()))?;
            for row in rows {
                out.push(UsageAggregate {
                    customer: CustomerId::new(row.customer),
                    item: index,
                    dimensions: item.dimensions(row.groups),
                    quantity: from_raw(row.q, context)?,
                });
            }
        }
        out.sort();
        Ok(out)
    }
}
