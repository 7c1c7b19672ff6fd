//! Exchange rates in ClickHouse: a `ReplacingMergeTree` on (base, quote, day) versioned
//! by load time, read with `FINAL`, so the latest load of a rate is the one read even
//! before parts merge. Rates are kept as text: exact, at whatever scale was published.

use clickhouse::Row;
use serde::{Deserialize, Serialize};
use tally_domain::ExchangeRate;

use super::ClickHouseStore;
use crate::rates::{rate_from, RateStore};
use crate::StoreError;

#[derive(Row, Serialize, Deserialize)]
struct RateRow {
    /// YYYY-MM-DD.
    day: String,
    base: String,
    quote: String,
    rate: String,
}

#[derive(Row, Serialize)]
struct NewRateRow {
    day: String,
    base: String,
    quote: String,
    rate: String,
    loaded_at_ms: i64,
}

impl RateStore for ClickHouseStore {
    async fn put_rates(&self, rates: &[ExchangeRate]) -> Result<usize, StoreError> {
        if rates.is_empty() {
            return Ok(0);
        }
        let stored: std::collections::HashMap<(String, String, String), String> =
            self.read_rates().await?.into_iter().map(|r| ((r.day, r.base, r.quote), r.rate)).collect();
        let now = chrono::Utc::now().timestamp_millis();
        let mut latest = std::collections::BTreeMap::new();
        for r in rates {
            let key = (r.day.to_string(), r.base.code().to_owned(), r.quote.code().to_owned());
            latest.insert(key, r.rate.normalize().to_string());
        }
        latest.retain(|key, rate| stored.get(key) != Some(rate));
        if latest.is_empty() {
            return Ok(0);
        }
        let what = "storing exchange rates";
        let mut insert =
            self.client().insert::<NewRateRow>("exchange_rates").await.map_err(StoreError::clickhouse(what))?;
        for ((day, base, quote), rate) in &latest {
            let row = NewRateRow {
                day: day.clone(),
                base: base.clone(),
                quote: quote.clone(),
                rate: rate.clone(),
                loaded_at_ms: now,
            };
            insert.write(&row).await.map_err(StoreError::clickhouse(what))?;
        }
        insert.end().await.map_err(StoreError::clickhouse(what))?;
        Ok(latest.len())
    }

    async fn rates(&self) -> Result<Vec<ExchangeRate>, StoreError> {
        let rows = self.read_rates().await?;
        rows.iter().map(|r| rate_from(&r.day, &r.base, &r.quote, &r.rate)).collect()
    }
}

impl ClickHouseStore {
    async fn read_rates(&self) -> Result<Vec<RateRow>, StoreError> {
        self.client()
            .query("SELECT day, base, quote, rate FROM exchange_rates FINAL ORDER BY day, base, quote")
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("reading exchange rates"))
    }
}
