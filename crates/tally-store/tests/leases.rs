//! Leases, on both stores: a claim excludes other claimants at once, holds only once
//! confirmed, and (on ClickHouse, which has no transactions) yields when an older
//! claim shows up while it settles. The invoice close reads while its claim settles
//! and writes only after `confirm`; these tests hold the protocol it relies on.

#[macro_use]
mod both_stores;

use std::time::Duration;

use tally_store::LeaseStore;

const TTL: Duration = Duration::from_secs(600);

async fn a_claim_excludes_others_and_holds_once_confirmed(store: &impl LeaseStore) {
    let claim = store.claim("close", "a", TTL).await.unwrap().expect("nobody else claimed it");
    assert_eq!(claim.lease.holder, "a");
    // Claimed, not yet confirmed: another claimant already yields to it.
    let other = store.claim("close", "b", TTL).await.unwrap().expect_err("a claimed it first");
    assert_eq!(other.holder, "a");
    let held = store.confirm(claim).await.unwrap().expect("no older claim");
    assert_eq!((held.name.as_str(), held.holder.as_str()), ("close", "a"));
    let other = store.acquire("close", "b", TTL).await.unwrap().expect_err("a holds it");
    assert_eq!(other.holder, "a");
    // Another name is another lease.
    store.acquire("other", "b", TTL).await.unwrap().expect("a different lease");
    store.release("close", "a").await.unwrap();
    let held = store.acquire("close", "b", TTL).await.unwrap().expect("given back");
    assert_eq!(held.holder, "b");
}

async fn a_claim_released_before_confirming_frees_the_lease(store: &impl LeaseStore) {
    let claim = store.claim("close", "a", TTL).await.unwrap().expect("first");
    // The close failed while reading: it releases without confirming.
    store.release("close", "a").await.unwrap();
    store.acquire("close", "b", TTL).await.unwrap().expect("a gave its claim back");
    let yielded = store.confirm(claim).await.unwrap().expect_err("b holds it now");
    assert_eq!(yielded.holder, "b");
}

contract!(a_claim_excludes_others_and_holds_once_confirmed, a_claim_released_before_confirming_frees_the_lease);

/// ClickHouse: a claim written earlier but made visible late (a slow insert) is seen
/// when the younger claim is confirmed, and the younger one yields and is withdrawn.
#[tokio::test(flavor = "multi_thread")]
async fn on_clickhouse_a_claim_yields_to_an_older_claim_seen_when_confirmed() {
    let (store, db) = both_stores::clickhouse().await;
    let claim = store.claim("close", "young", TTL).await.unwrap().expect("the only claim so far");
    let since = claim.lease.since.timestamp_millis() - 500;
    let expires = since + 600_000;
    db.client()
        .query(&format!(
            "INSERT INTO leases (name, holder, since_ms, expires_ms, released, version) \
             VALUES ('close', 'old', {since}, {expires}, 0, {})",
            since * 2
        ))
        .execute()
        .await
        .unwrap();
    let yielded = store.confirm(claim).await.unwrap().expect_err("the older claim wins");
    assert_eq!(yielded.holder, "old");
    // The young claim was withdrawn: the old one is the only live claim.
    let other = store.claim("close", "third", TTL).await.unwrap().expect_err("old holds it");
    assert_eq!(other.holder, "old");
    store.release("close", "old").await.unwrap();
    let held = store.acquire("close", "third", TTL).await.unwrap().expect("no live claim left");
    assert_eq!(held.holder, "third");
}
