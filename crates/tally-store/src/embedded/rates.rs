//! Exchange rates in the embedded store: one row per (day, base, quote), replaced on a
//! new load, in one transaction per load.

use rusqlite::params;
use tally_domain::ExchangeRate;

use super::EmbeddedStore;
use crate::rates::{rate_from, RateStore};
use crate::StoreError;

impl RateStore for EmbeddedStore {
    async fn put_rates(&self, rates: &[ExchangeRate]) -> Result<usize, StoreError> {
        let rates = rates.to_vec();
        self.with_conn(move |conn| {
            let err = |what: &str| StoreError::sqlite(format!("storing exchange rates ({what})"));
            let tx = conn.transaction().map_err(err("begin"))?;
            let mut changed = 0;
            {
                // Only a new or different rate counts (and is written).
                let mut put = tx
                    .prepare_cached(
                        "INSERT INTO exchange_rates (day, base, quote, rate) VALUES (?1, ?2, ?3, ?4) \
                         ON CONFLICT (day, base, quote) DO UPDATE SET rate = excluded.rate \
                         WHERE rate <> excluded.rate",
                    )
                    .map_err(err("prepare"))?;
                for r in &rates {
                    changed += put
                        .execute(params![
                            r.day.to_string(),
                            r.base.code(),
                            r.quote.code(),
                            r.rate.normalize().to_string()
                        ])
                        .map_err(err("insert"))?;
                }
            }
            tx.commit().map_err(err("commit"))?;
            Ok(changed)
        })
        .await
    }

    async fn rates(&self) -> Result<Vec<ExchangeRate>, StoreError> {
        self.with_reader(|conn| {
            let read = || -> rusqlite::Result<Vec<(String, String, String, String)>> {
                let mut statement =
                    conn.prepare_cached("SELECT day, base, quote, rate FROM exchange_rates ORDER BY day, base, quote")?;
                let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                rows.collect()
            };
            let rows = read().map_err(StoreError::sqlite("reading exchange rates"))?;
            rows.iter().map(|(day, base, quote, rate)| rate_from(day, base, quote, rate)).collect()
        })
        .await
    }
}
