//! Leases: a named right to act that one process holds at a time, for acts that must
//! not run twice at once (an invoice close: two at once gave the same numbers to
//! different invoices and both reported what they issued). A lease expires by itself,
//! so a process that died holding one blocks the act for its time to live only.
//!
//! The embedded store takes a lease inside one SQLite immediate transaction. ClickHouse
//! has no transactions: a claimant writes its claim, reads every live claim, and holds
//! the lease when its claim is the oldest (by its time, then its holder id), and still
//! is after [`SETTLE`]: a claim written at an earlier time but made visible later (a
//! slow insert, a clock behind) is then seen by the one that read too early, which
//! yields. This holds while a claim becomes visible within `SETTLE` of its time; a
//! claim whose own insert took longer yields at once.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::StoreError;

/// How long a ClickHouse claimant waits before it checks its claim again.
pub const SETTLE: Duration = Duration::from_millis(1_000);

/// One holder's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// What it is for, e.g. `invoice-close`.
    pub name: String,
    /// Who holds it (a random id per claim, with the host and process for people).
    pub holder: String,
    /// Since when.
    pub since: DateTime<Utc>,
    /// Until when, unless released before.
    pub expires: DateTime<Utc>,
}

/// A claim on a lease, written and found the oldest, that holds once
/// [`LeaseStore::confirm`] says so: the first half of [`LeaseStore::acquire`].
///
/// Between the two halves the claimant may read, never write: a close reads its
/// accounts, invoices and usage while its claim settles, instead of waiting
/// [`SETTLE`] first (a second of every close on ClickHouse). Reads made then are
/// those of the holder: whoever else could write holds an older live claim, and this
/// claim yields to it when confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The lease it holds once confirmed.
    pub lease: Lease,
    /// Not before this may the claim be checked again.
    settles_at: std::time::Instant,
}

impl Claim {
    /// A claim that holds as soon as it is confirmed (a store with transactions).
    pub(crate) fn settled(lease: Lease) -> Claim {
        Claim { lease, settles_at: std::time::Instant::now() }
    }

    /// A claim to check again [`SETTLE`] from now.
    pub(crate) fn settling(lease: Lease) -> Claim {
        Claim { lease, settles_at: std::time::Instant::now() + SETTLE }
    }

    /// When it may be checked again.
    pub(crate) fn settles_at(&self) -> std::time::Instant {
        self.settles_at
    }
}

/// Leases, held by one holder at a time.
pub trait LeaseStore: Send + Sync {
    /// Writes a claim on lease `name` for `holder` for `ttl`: `Ok(claim)` when no other
    /// holder's claim is older, else `Err(the live lease of another holder)`. The
    /// claim holds only once [`LeaseStore::confirm`] returns it; until then, read only.
    /// [`LeaseStore::release`] ends it either way.
    fn claim(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<Result<Claim, Lease>, StoreError>> + Send;

    /// Checks `claim` again once it has settled (waiting for that if need be):
    /// `Ok(lease)` when it holds, else `Err(the lease of the holder it yields to)`,
    /// and the claim is withdrawn.
    fn confirm(&self, claim: Claim) -> impl Future<Output = Result<Result<Lease, Lease>, StoreError>> + Send;

    /// Takes lease `name` for `holder` for `ttl`: `Ok(lease)`, or `Err(the live lease
    /// of another holder)`. A [`LeaseStore::claim`] confirmed at once.
    fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<Result<Lease, Lease>, StoreError>> + Send {
        async move {
            match self.claim(name, holder, ttl).await? {
                Ok(claim) => self.confirm(claim).await,
                Err(other) => Ok(Err(other)),
            }
        }
    }

    /// Gives lease `name` of `holder` back (nothing if it holds none).
    fn release(&self, name: &str, holder: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A holder id: random, with the host and process id for whoever reads it.
pub fn holder_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let (nanos, pid) = (Utc::now().timestamp_nanos_opt().unwrap_or_default(), std::process::id());
    // RandomState is seeded at random per process: two claims never share an id.
    let random = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), (nanos, pid));
    format!("{}:{pid}:{random:016x}", host.trim())
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
