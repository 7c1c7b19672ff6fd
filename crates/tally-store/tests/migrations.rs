//! Migrations are idempotent and safe when two processes start at once, on both stores.

use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::embedded::EmbeddedStore;
use tally_tests::{clickhouse_url, TestDb};

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_migrations_run_once_even_when_two_processes_start_together() {
    let db = TestDb::new().await;
    // The database does not exist yet for the store: the migrations create it.
    let database = format!("{}_store", db.name());
    let config = ClickHouseConfig { url: clickhouse_url(), database: database.clone(), ..Default::default() };
    let (a, b) = tokio::join!(ClickHouseStore::open(&config), ClickHouseStore::open(&config));
    let (a, _b) = (a.unwrap(), b.unwrap());
    let again = ClickHouseStore::open(&config).await.unwrap();
    let versions: Vec<u32> =
        again.client().query("SELECT version FROM schema_migrations FINAL ORDER BY version").fetch_all().await.unwrap();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7]);
    // Migration 5 added columns: both processes ran it, each column is there once.
    let columns: Vec<String> = again
        .client()
        .query("SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'ledger_entries' ORDER BY name")
        .fetch_all()
        .await
        .unwrap();
    for column in ["balance", "document", "gives", "owes", "source"] {
        assert_eq!(columns.iter().filter(|c| *c == column).count(), 1, "{column} in {columns:?}");
    }
    let mut tables: Vec<String> = a
        .client()
        .query("SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name")
        .fetch_all()
        .await
        .unwrap();
    tables.sort();
    assert_eq!(
        tables,
        [
            "customers",
            "exchange_rates",
            "invoice_lines",
            "invoices",
            "leases",
            "ledger_entries",
            "payments",
            "rejected_events",
            "schema_migrations",
            "subscriptions",
            "usage_events"
        ]
    );
    a.client().query(&format!("DROP DATABASE {database}")).execute().await.unwrap();
}

#[test]
fn embedded_migrations_run_once_even_when_two_processes_open_together() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || EmbeddedStore::open(&path).map(|_| ()))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    EmbeddedStore::open(&path).unwrap();
    assert_eq!(rusqlite_version(&path), 7, "every migration applied once");
}

fn rusqlite_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}
