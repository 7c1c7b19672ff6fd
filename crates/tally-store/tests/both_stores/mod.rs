//! Running one contract test against both stores: the ClickHouse store (the real
//! server from deploy/local/services, a fresh database per test) and the embedded
//! store (a fresh file per test).

use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::embedded::EmbeddedStore;
use tally_tests::{clickhouse_url, TestDb};

/// A ClickHouse store on its own database (dropped with the `TestDb`).
pub async fn clickhouse() -> (ClickHouseStore, TestDb) {
    let db = TestDb::new().await;
    let config = ClickHouseConfig { url: clickhouse_url(), database: db.name().to_owned(), ..Default::default() };
    (ClickHouseStore::open(&config).await.unwrap(), db)
}

/// An embedded store in its own temporary directory.
pub fn embedded() -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (EmbeddedStore::open(&dir.path().join("tally.db")).unwrap(), dir)
}

/// `contract!(a, b)`: tests `on_clickhouse::a`, `on_embedded::a`, ... each calling the
/// test file's `async fn a(store: &impl ...)` with that store.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_clickhouse {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                let (store, _db) = crate::both_stores::clickhouse().await;
                super::$name(&store).await;
            })*
        }
        mod on_embedded {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                let (store, _dir) = crate::both_stores::embedded();
                super::$name(&store).await;
            })*
        }
    };
}
