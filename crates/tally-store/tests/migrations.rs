//! Migrations are idempotent and safe when two processes start at once, on both stores.

use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::embedded::EmbeddedStore;
use tally_store::{InvoiceStore, ReportedTotal};
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
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7, 8]);
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
    assert_eq!(rusqlite_version(&path), 8, "every migration applied once");
}

fn rusqlite_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}

/// Bodies as the release before migration 8 wrote them: the exchange recorded, no
/// reported total beside it. Worked by hand: 150,000 JPY at 0.0063457 is 951.8550 USD,
/// 951.86 half away from zero; 1,234.56 EUR at 1.0523 is 1,299.126288, 1,299.13; the
/// third recorded no exchange.
const BEFORE_8: [(&str, &str, &str, &str); 3] = [
    (
        "jp@10",
        "JPY",
        "150000",
        r#"{"id":"jp@10","exchange":{"currency":"USD","rate":"0.0063457","on":"2026-10-30","how":"direct"},"lines":[]}"#,
    ),
    (
        "eu@10",
        "EUR",
        "1234.56",
        r#"{"id":"eu@10","exchange":{"currency":"USD","rate":"1.0523","on":"2026-10-30","how":"inverse"},"lines":[]}"#,
    ),
    ("us@10", "USD", "12.00", r#"{"id":"us@10","lines":[]}"#),
];

fn expected_after_8() -> [Option<ReportedTotal>; 3] {
    let usd = |t: &str| Some(ReportedTotal { currency: "USD".into(), total: t.parse().unwrap() });
    [usd("951.86"), usd("1299.13"), None]
}

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_migration_8_converts_documents_issued_before_it() {
    let db = TestDb::new().await;
    let old = tally_store::clickhouse::migrate_to(db.client(), db.name(), 7).await.unwrap();
    for (id, currency, total, body) in BEFORE_8 {
        old.query(
            "INSERT INTO invoices (invoice, number, customer, subscription, period_start, period_end, currency, state, \
             total, issued_at_ms, body, written_at_ms, version) \
             VALUES (?, ?, 'acme', 'sub', toDateTime(1790812800), toDateTime(1793491200), ?, 'issued', ?, 1793491200000, ?, 1, 281474976710655)",
        )
        .bind(id)
        .bind(format!("INV-{id}"))
        .bind(currency)
        .bind(total)
        .bind(body)
        .execute()
        .await
        .unwrap();
    }
    let config = ClickHouseConfig { url: clickhouse_url(), database: db.name().to_owned(), ..Default::default() };
    let store = ClickHouseStore::open(&config).await.unwrap();
    for ((id, ..), expected) in BEFORE_8.iter().zip(expected_after_8()) {
        let read = store.invoice(id).await.unwrap().expect(id);
        assert_eq!(read.reporting, expected, "{id}");
        assert_eq!(read.body, BEFORE_8.iter().find(|b| b.0 == *id).unwrap().3, "{id}: the body is untouched");
    }
    let rows: u64 = store.client().query("SELECT count() FROM invoices FINAL").fetch_one().await.unwrap();
    assert_eq!(rows, 3, "converted in place, no document added");
    // Opening again converts nothing twice.
    ClickHouseStore::open(&config).await.unwrap();
    assert_eq!(store.invoice("eu@10").await.unwrap().unwrap().reporting, expected_after_8()[1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_migration_8_converts_documents_issued_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        tally_store::embedded::migrate_to(&mut conn, 7).unwrap();
        assert_eq!(conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 7);
        for (id, currency, total, body) in BEFORE_8 {
            conn.execute(
                "INSERT INTO invoices (invoice, number, customer, subscription, period_start_ms, period_end_ms, currency, \
                 state, subtotal, total, issued_at_ms, body, updated_at_ms) \
                 VALUES (?1, ?2, 'acme', 'sub', 1790812800000, 1793491200000, ?3, 'issued', ?4, ?4, 1793491200000, ?5, 1)",
                rusqlite::params![id, format!("INV-{id}"), currency, total, body],
            )
            .unwrap();
        }
    }
    let store = tally_store::embedded::EmbeddedStore::open(&path).unwrap();
    for ((id, ..), expected) in BEFORE_8.iter().zip(expected_after_8()) {
        assert_eq!(store.invoice(id).await.unwrap().expect(id).reporting, expected, "{id}");
    }
    assert_eq!(rusqlite_version(&path), 8);
}
