//! Leases in the embedded store: one row per name, taken in an immediate transaction.

use std::time::Duration;

use chrono::Utc;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::EmbeddedStore;
use crate::lease::{at, millis, Claim, Lease, LeaseStore};
use crate::StoreError;

/// The lease `name` as its row stands, if it is live at `now` (milliseconds).
fn live_lease(conn: &rusqlite::Connection, name: &str, now: i64, context: &str) -> Result<Option<Lease>, StoreError> {
    let row: Option<(String, i64, i64)> = conn
        .query_row("SELECT holder, since_ms, expires_ms FROM leases WHERE name = ?1", [name], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .map_err(StoreError::sqlite(context))?;
    Ok(row.filter(|(_, _, until)| *until > now).map(|(holder, since, until)| Lease {
        name: name.to_owned(),
        holder,
        since: at(since),
        expires: at(until),
    }))
}

impl LeaseStore for EmbeddedStore {
    /// Taken in one transaction, so the claim holds at once.
    async fn claim(&self, name: &str, holder: &str, ttl: Duration) -> Result<Result<Claim, Lease>, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.with_conn(move |conn| {
            let now = millis(Utc::now());
            let expires = now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4);
            let context = "taking a lease";
            let tx =
                conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::sqlite(context))?;
            if let Some(other) = live_lease(&tx, &name, now, context)?.filter(|l| l.holder != holder) {
                return Ok(Err(other));
            }
            tx.execute(
                "INSERT OR REPLACE INTO leases (name, holder, since_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)",
                params![name, holder, now, expires],
            )
            .map_err(StoreError::sqlite(context))?;
            tx.commit().map_err(StoreError::sqlite(context))?;
            Ok(Ok(Claim::settled(Lease { name, holder, since: at(now), expires: at(expires) })))
        })
        .await
    }

    /// Holds while its row is still this holder's and live (it was given back, or it
    /// expired and another holder took it, if not).
    async fn confirm(&self, claim: Claim) -> Result<Result<Lease, Lease>, StoreError> {
        let mine = claim.lease;
        self.with_conn(move |conn| {
            Ok(match live_lease(conn, &mine.name, millis(Utc::now()), "checking a lease")? {
                Some(held) if held.holder == mine.holder => Ok(mine),
                Some(other) => Err(other),
                None => Err(mine),
            })
        })
        .await
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM leases WHERE name = ?1 AND holder = ?2", params![name, holder])
                .map(|_| ())
                .map_err(StoreError::sqlite("giving a lease back"))
        })
        .await
    }
}
