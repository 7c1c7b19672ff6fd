//! [`ClickHouseStore`]: batched RowBinary inserts and the exact billing query.

use clickhouse::Client;
use tally_domain::Period;

use super::billing_query::{self, ScanRow};
use super::config::ClickHouseConfig;
use super::connect::{connect, ServerVersion};
use super::encode::{self, Encoded};
use super::migrations::migrate;
use super::parts;
use super::rows::RejectedRow;
use crate::{RejectedEvent, StoreError, UsageAggregate, UsageQuery, UsageSink, UsageStore};

/// Bytes per chunk of an insert's body: compressed and sent while the next is cut.
const SEND_CHUNK: usize = 256 * 1024;

/// Usage in ClickHouse. Cheap to clone; clones share the HTTP connection pool.
#[derive(Clone)]
pub struct ClickHouseStore {
    client: Client,
    version: ServerVersion,
}

impl ClickHouseStore {
    /// Connects, creates the database if needed and applies the migrations.
    pub async fn open(config: &ClickHouseConfig) -> Result<Self, StoreError> {
        let (client, version) = connect(config).await?;
        let client = migrate(&client, &config.database).await?;
        tracing::info!(url = %tally_domain::redact::url(&config.url), database = %config.database, version = %version.0, "ClickHouse store ready");
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
    type Batch = Encoded;

    fn batch(&self) -> Encoded {
        Encoded::default()
    }

    async fn insert_batch(&self, batch: &Encoded) -> Result<Option<u64>, StoreError> {
        if batch.rows() == 0 {
            return Ok(None);
        }
        // The rows were checked as they were pushed: the batch is stored whole or not at
        // all, each event once (copies were dropped as they came, see encode.rs).
        let mut insert = self
            .client
            .insert_formatted_with(format!("INSERT INTO usage_events ({}) FORMAT RowBinary", encode::COLUMNS));
        let bytes = bytes::Bytes::copy_from_slice(batch.bytes());
        for start in (0..bytes.len()).step_by(SEND_CHUNK) {
            let chunk = bytes.slice(start..bytes.len().min(start + SEND_CHUNK));
            insert.send(chunk).await.map_err(StoreError::clickhouse("writing usage_events"))?;
        }
        // `end` returns once the server acknowledged the whole INSERT: the rows are written.
        insert.end().await.map_err(StoreError::clickhouse("finishing the insert into usage_events"))?;
        Ok(None)
    }

    async fn insert_rejected(&self, rejected: &[RejectedEvent]) -> Result<(), StoreError> {
        if rejected.is_empty() {
            return Ok(());
        }
        let mut insert = self
            .client
            .insert::<RejectedRow>("rejected_events")
            .await
            .map_err(StoreError::clickhouse("starting an insert into rejected_events"))?;
        for r in rejected {
            insert.write(&RejectedRow::from(r)).await.map_err(StoreError::clickhouse("writing rejected_events"))?;
        }
        insert.end().await.map_err(StoreError::clickhouse("finishing the insert into rejected_events"))
    }

    async fn rejected(&self, period: &Period) -> Result<Vec<RejectedEvent>, StoreError> {
        let rows: Vec<RejectedRow> = self
            .client
            .query(&format!(
                "SELECT ?fields FROM rejected_events WHERE received_at >= toDateTime({}) AND received_at < toDateTime({}) \
                 ORDER BY received_at",
                period.start().timestamp(),
                period.end().timestamp()
            ))
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("reading rejected_events"))?;
        Ok(rows.into_iter().map(RejectedEvent::from).collect())
    }

    async fn aggregate(&self, query: &UsageQuery) -> Result<Vec<UsageAggregate>, StoreError> {
        let queries = std::slice::from_ref(query);
        let mut rows = crate::query::Collect::new(queries);
        self.aggregate_into(queries, &mut rows).await?;
        Ok(rows.sorted().pop().unwrap_or_default())
    }

    async fn aggregate_many(&self, queries: &[UsageQuery]) -> Result<Vec<Vec<UsageAggregate>>, StoreError> {
        let mut rows = crate::query::Collect::new(queries);
        self.aggregate_into(queries, &mut rows).await?;
        Ok(rows.sorted())
    }

    async fn aggregate_into<K: UsageSink>(&self, queries: &[UsageQuery], sink: &mut K) -> Result<(), StoreError> {
        for (index, query) in queries.iter().enumerate() {
            // Without FINAL when every partition read is one part (nothing left to
            // merge), checked again after the read: parts that changed meanwhile
            // (a merge, an insert) make it read again with FINAL.
            let before = parts::active_parts(&self.client, &query.period).await?;
            if parts::single_part_partitions(&before) {
                self.read(query, false, index, sink).await?;
                if parts::active_parts(&self.client, &query.period).await? == before {
                    continue;
                }
                tracing::debug!("parts changed during a plain read; reading again with FINAL");
                sink.restart(index);
            }
            self.read(query, true, index, sink).await?;
        }
        Ok(())
    }

    async fn sample_events(
        &self,
        customer: &tally_domain::CustomerId,
        event_type: &str,
        period: &Period,
        limit: usize,
    ) -> Result<Vec<crate::EventSample>, StoreError> {
        // Whole seconds for the partition key, then the exact millisecond bounds; the
        // copies of an event (not merged yet) are one row after DISTINCT.
        let (start, end) = (period.start(), period.end());
        let sql = format!(
            "SELECT DISTINCT source, id, time_ms, str_keys, str_values FROM usage_events \
             WHERE customer = {} AND event_type = {} AND time >= toDateTime({}) AND time <= toDateTime({}) \
             AND time_ms >= {} AND time_ms < {} ORDER BY time_ms, source, id LIMIT {limit}",
            super::sql::string(customer.as_str()),
            super::sql::string(event_type),
            start.timestamp(),
            end.timestamp(),
            start.timestamp_millis(),
            end.timestamp_millis(),
        );
        #[derive(clickhouse::Row, serde::Deserialize)]
        struct SampleRow {
            source: String,
            id: String,
            time_ms: i64,
            str_keys: Vec<String>,
            str_values: Vec<String>,
        }
        let rows: Vec<SampleRow> =
            self.client.query(&sql).fetch_all().await.map_err(StoreError::clickhouse("reading sample events"))?;
        Ok(rows
            .into_iter()
            .map(|r| crate::EventSample {
                source: r.source,
                id: r.id,
                time: chrono::DateTime::from_timestamp_millis(r.time_ms).unwrap_or_default(),
                strings: r.str_keys.into_iter().zip(r.str_values).collect(),
            })
            .collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let one: u8 = self.client().query("SELECT 1").fetch_one().await.map_err(StoreError::clickhouse("ping"))?;
        debug_assert_eq!(one, 1);
        Ok(())
    }

    async fn count_events(&self, period: &Period) -> Result<u64, StoreError> {
        // Whole seconds for the partition key, then the exact millisecond bounds.
        let (start, end) = (period.start(), period.end());
        let sql = format!(
            "SELECT uniqExact(source, id) FROM usage_events \
             WHERE time >= toDateTime({}) AND time <= toDateTime({}) AND time_ms >= {} AND time_ms < {}",
            start.timestamp(),
            end.timestamp(),
            start.timestamp_millis(),
            end.timestamp_millis()
        );
        self.client.query(&sql).fetch_one::<u64>().await.map_err(StoreError::clickhouse("counting events"))
    }

    async fn compact(&self, period: &Period) -> Result<(), StoreError> {
        parts::compact(&self.client, period).await
    }
}

impl ClickHouseStore {
    /// Runs the query in one scan, with or without `FINAL`, handing its rows to `sink`
    /// as they arrive.
    async fn read<K: UsageSink>(
        &self,
        query: &UsageQuery,
        final_read: bool,
        index: usize,
        sink: &mut K,
    ) -> Result<(), StoreError> {
        if query.items.is_empty() || query.customers.as_ref().is_some_and(|set| set.is_empty()) {
            return Ok(());
        }
        let sql = billing_query::sql(query, final_read);
        tracing::trace!(%sql, "billing query");
        let failed = |e| StoreError::clickhouse("running the billing query")(e);
        // A long set of customers is filtered here (see `billing_query::sql`).
        let wanted = crate::query::Wanted::of(query);
        let mut cursor = self.client.query(&sql).fetch::<ScanRow<'_>>().map_err(failed)?;
        while let Some(row) = cursor.next().await.map_err(failed)? {
            if wanted.contains(row.customer) {
                if let Some(row) = billing_query::usage_row(&row, query)? {
                    sink.push(index, row);
                }
            }
        }
        Ok(())
    }
}
