//! Leases in ClickHouse: claims in `leases` (see `crate::lease` for the protocol).

use std::time::Duration;

use chrono::Utc;

use super::ClickHouseStore;
use crate::lease::{at, millis, Claim, Lease, LeaseStore, SETTLE};
use crate::StoreError;

#[derive(::clickhouse::Row, serde::Deserialize)]
struct ClaimRow {
    holder: String,
    since_ms: i64,
    expires_ms: i64,
}

impl ClickHouseStore {
    async fn write_claim(
        &self,
        name: &str,
        holder: &str,
        since: i64,
        expires: i64,
        released: u8,
    ) -> Result<(), StoreError> {
        // A release supersedes the claim it ends (ReplacingMergeTree keeps the
        // highest version of a (name, holder)).
        let version = u64::try_from(since).unwrap_or(0) * 2 + u64::from(released);
        let sql = format!(
            "INSERT INTO leases (name, holder, since_ms, expires_ms, released, version) VALUES ({}, {}, {since}, {expires}, {released}, {version})",
            super::sql::string(name),
            super::sql::string(holder),
        );
        self.client().query(&sql).execute().await.map_err(StoreError::clickhouse("writing a lease claim"))
    }

    /// The oldest live claim of `name` (by time, then holder): who holds it, if anyone.
    async fn oldest_claim(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        Ok(self.live_claims(name).await?.first().map(|c| lease(name, c)))
    }

    async fn live_claims(&self, name: &str) -> Result<Vec<ClaimRow>, StoreError> {
        let now = millis(Utc::now());
        let sql = format!(
            "SELECT holder, since_ms, expires_ms FROM leases FINAL \
             WHERE name = {} AND released = 0 AND expires_ms > {now} ORDER BY since_ms, holder",
            super::sql::string(name)
        );
        self.client().query(&sql).fetch_all().await.map_err(StoreError::clickhouse("reading lease claims"))
    }
}

fn lease(name: &str, c: &ClaimRow) -> Lease {
    Lease { name: name.to_owned(), holder: c.holder.clone(), since: at(c.since_ms), expires: at(c.expires_ms) }
}

impl LeaseStore for ClickHouseStore {
    async fn claim(&self, name: &str, holder: &str, ttl: Duration) -> Result<Result<Claim, Lease>, StoreError> {
        let since = millis(Utc::now());
        let expires = since + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4);
        let started = std::time::Instant::now();
        self.write_claim(name, holder, since, expires, 0).await?;
        let slow = started.elapsed() > SETTLE / 2;
        let mine = Lease { name: name.to_owned(), holder: holder.to_owned(), since: at(since), expires: at(expires) };
        // The oldest live claim now; `confirm` checks that it still is a settle later.
        let oldest = self.oldest_claim(name).await?;
        if !slow && oldest.as_ref().is_some_and(|o| o.holder == holder) {
            return Ok(Ok(Claim::settling(mine)));
        }
        self.write_claim(name, holder, since, expires, 1).await?;
        Ok(Err(oldest.filter(|o| o.holder != holder).unwrap_or(mine)))
    }

    async fn confirm(&self, claim: Claim) -> Result<Result<Lease, Lease>, StoreError> {
        tokio::time::sleep_until(claim.settles_at().into()).await;
        let mine = claim.lease;
        let oldest = self.oldest_claim(&mine.name).await?;
        if let Some(held) = oldest.clone().filter(|o| o.holder == mine.holder) {
            return Ok(Ok(held));
        }
        let (since, expires) = (millis(mine.since), millis(mine.expires));
        self.write_claim(&mine.name, &mine.holder, since, expires, 1).await?;
        Ok(Err(oldest.unwrap_or(mine)))
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        for claim in self.live_claims(name).await?.iter().filter(|c| c.holder == holder) {
            self.write_claim(name, holder, claim.since_ms, claim.expires_ms, 1).await?;
        }
        Ok(())
    }
}
