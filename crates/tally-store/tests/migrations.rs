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
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
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
    assert_eq!(rusqlite_version(&path), LAST_EMBEDDED, "every migration applied once");
}

/// The embedded store's migrations in all.
const LAST_EMBEDDED: i64 = 11;

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
    assert_eq!(rusqlite_version(&path), LAST_EMBEDDED);
}

/// Usage as the release before migration 9 stored it (keyed by the `(source, id)` text,
/// numbers and strings as JSON objects of text) is readable after it, in the appended
/// table: the same aggregates, every event still deduplicated, new ones taken.
#[tokio::test(flavor = "multi_thread")]
async fn embedded_migration_9_keeps_usage_readable_and_deduplicated() {
    use tally_domain::{Aggregation, CustomerId, Meter, MeterKey, Period, UsageEvent};
    use tally_store::{UsageItem, UsageQuery, UsageStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    // (id, customer, time_ms, tokens, model); 2026-11-02, -03, -04 and one in December.
    let old = [
        ("e1", "acme", 1_793_577_600_000i64, "100", "small"),
        ("e2", "acme", 1_793_664_000_000, "0.000000000001", "large"),
        ("e3", "beta", 1_793_750_400_000, "7", "small"),
        ("e4", "acme", 1_796_169_600_000, "1000", "small"),
    ];
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        tally_store::embedded::migrate_to(&mut conn, 8).unwrap();
        for (id, customer, time_ms, tokens, model) in old {
            conn.execute(
                "INSERT INTO usage_events (source, id, customer, event_type, time_ms, numbers, strings, data, \
                 ingested_at_ms, kafka_topic, kafka_partition, kafka_offset) \
                 VALUES ('gw', ?1, ?2, 'llm.tokens', ?3, ?4, ?5, ?6, 1, 'usage', 2, 41)",
                rusqlite::params![
                    id,
                    customer,
                    time_ms,
                    format!(r#"{{"tokens":"{tokens}"}}"#),
                    format!(r#"{{"model":"{model}","tokens":"{tokens}"}}"#),
                    format!(r#"{{"model":"{model}","tokens":{tokens}}}"#),
                ],
            )
            .unwrap();
        }
    }
    let store = tally_store::embedded::EmbeddedStore::open(&path).unwrap();
    assert_eq!(rusqlite_version(&path), LAST_EMBEDDED);
    let november =
        Period::new("2026-11-01T00:00:00Z".parse().unwrap(), "2026-12-01T00:00:00Z".parse().unwrap()).unwrap();
    let meter = Meter {
        key: MeterKey::new("t"),
        event_type: "llm.tokens".into(),
        aggregation: Aggregation::Sum,
        value: Some("tokens".into()),
        value_required: true,
        dimensions: vec![],
    };
    let query = UsageQuery {
        period: november,
        customer: None,
        customers: None,
        items: vec![UsageItem { meter, filter: Default::default(), group_by: vec!["model".into()] }],
    };
    let sums = |rows: Vec<tally_store::UsageAggregate>| {
        let mut rows: Vec<String> =
            rows.iter().map(|r| format!("{} {:?} {}", r.customer, r.dimensions, r.quantity)).collect();
        rows.sort();
        rows
    };
    let expected =
        [r#"acme {"model": "large"} 0.000000000001"#, r#"acme {"model": "small"} 100"#, r#"beta {"model": "small"} 7"#];
    assert_eq!(sums(store.aggregate(&query).await.unwrap()), expected);
    assert_eq!(store.count_events(&november).await.unwrap(), 3);
    let samples = store.sample_events(&CustomerId::new("acme"), "llm.tokens", &november, 10).await.unwrap();
    assert_eq!(samples.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["e1", "e2"], "read in time order");
    // Every migrated event is still known: sent again, all four are duplicates.
    let again: Vec<tally_store::IncomingEvent> = old
        .iter()
        .map(|(id, customer, time_ms, tokens, model)| {
            let time = chrono::DateTime::from_timestamp_millis(*time_ms).unwrap();
            let data = format!(r#"{{"model":"{model}","tokens":{tokens}}}"#);
            UsageEvent::from_data(CustomerId::new(*customer), "gw", *id, "llm.tokens", time, &data).unwrap().into()
        })
        .collect();
    assert_eq!(store.insert_events_counted(&again).await.unwrap(), Some(4));
    let new = UsageEvent::from_data(
        CustomerId::new("beta"),
        "gw",
        "e5",
        "llm.tokens",
        "2026-11-05T00:00:00Z".parse().unwrap(),
        r#"{"model":"small","tokens":3}"#,
    )
    .unwrap();
    assert_eq!(store.insert_events_counted(&[new.into()]).await.unwrap(), Some(0));
    let mut after = expected.to_vec();
    after[2] = r#"beta {"model": "small"} 10"#;
    assert_eq!(sums(store.aggregate(&query).await.unwrap()), after);
    // The Kafka origin came across: the old columns are still there, under the new key.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let origins: i64 = conn
        .query_row(
            "SELECT count(*) FROM usage_events WHERE kafka_topic = 'usage' AND kafka_partition = 2 AND kafka_offset = 41",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(origins, 4);
    let tables: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'usage_events_v1'", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 0, "the old table is gone");
}

/// Usage as release 8 stored it on ClickHouse (the raw `data` beside its flattened copy)
/// stays readable without the column, and is counted and summed as before.
#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_migration_9_drops_the_raw_data_and_keeps_usage_readable() {
    use tally_domain::{Aggregation, Meter, MeterKey, Period};
    use tally_store::{UsageItem, UsageQuery, UsageStore};
    let db = TestDb::new().await;
    let old = tally_store::clickhouse::migrate_to(db.client(), db.name(), 8).await.unwrap();
    for (id, tokens, model) in [("e1", "100", "small"), ("e2", "0.5", "large"), ("e3", "7", "small")] {
        old.query(
            "INSERT INTO usage_events (customer, event_type, source, id, time, time_ms, num_keys, num_values, \
             str_keys, str_values, data, ingested_at, kafka_topic, kafka_partition, kafka_offset) \
             VALUES ('acme', 'llm.tokens', 'gw', ?, toDateTime(1793577600), 1793577600000, ['tokens'], \
             [toDecimal128(?, 12)], ['model', 'tokens'], [?, ?], ?, toDateTime(1793577600), 'usage', 2, 41)",
        )
        .bind(id)
        .bind(tokens)
        .bind(model)
        .bind(tokens)
        .bind(format!(r#"{{"model":"{model}","tokens":{tokens}}}"#))
        .execute()
        .await
        .unwrap();
    }
    let config = ClickHouseConfig { url: clickhouse_url(), database: db.name().to_owned(), ..Default::default() };
    let store = ClickHouseStore::open(&config).await.unwrap();
    let columns: Vec<String> = store
        .client()
        .query("SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'usage_events'")
        .fetch_all()
        .await
        .unwrap();
    assert!(!columns.contains(&"data".to_owned()), "{columns:?}");
    assert!(columns.contains(&"str_values".to_owned()), "{columns:?}");
    let november =
        Period::new("2026-11-01T00:00:00Z".parse().unwrap(), "2026-12-01T00:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(store.count_events(&november).await.unwrap(), 3);
    let meter = Meter {
        key: MeterKey::new("t"),
        event_type: "llm.tokens".into(),
        aggregation: Aggregation::Sum,
        value: Some("tokens".into()),
        value_required: true,
        dimensions: vec![],
    };
    let query = UsageQuery {
        period: november,
        customer: None,
        customers: None,
        items: vec![UsageItem { meter, filter: Default::default(), group_by: vec!["model".into()] }],
    };
    let mut sums: Vec<String> =
        store.aggregate(&query).await.unwrap().iter().map(|r| format!("{:?} {}", r.dimensions, r.quantity)).collect();
    sums.sort();
    assert_eq!(sums, [r#"{"model": "large"} 0.5"#, r#"{"model": "small"} 107"#]);
    // Opening again (the migration recorded) changes nothing.
    ClickHouseStore::open(&config).await.unwrap();
    assert_eq!(store.count_events(&november).await.unwrap(), 3);
}

/// A file made by the first form of migration 9 (which kept the raw `data`) loses the
/// column at migration 10, and its events stay readable and deduplicated.
#[tokio::test(flavor = "multi_thread")]
async fn embedded_migration_10_drops_the_raw_data_where_it_is() {
    use tally_domain::{CustomerId, Period, UsageEvent};
    use tally_store::UsageStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    let event = |id: &str| -> tally_store::IncomingEvent {
        UsageEvent::from_data(
            CustomerId::new("acme"),
            "gw",
            id,
            "llm.tokens",
            "2026-11-05T00:00:00Z".parse().unwrap(),
            r#"{"model":"small","tokens":3}"#,
        )
        .unwrap()
        .into()
    };
    // The first form of 9 differed only by the column: events stored now, then given it,
    // with their keys where 9 and 10 kept them (recent, in a table of their own), so
    // migration 11 is run on them too.
    let store = EmbeddedStore::open(&path).unwrap();
    assert_eq!(store.insert_events_counted(&[event("e1"), event("e2")]).await.unwrap(), Some(0));
    drop(store);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "ALTER TABLE usage_events ADD COLUMN data TEXT NOT NULL DEFAULT '{}';
             UPDATE usage_events SET data = '{\"model\":\"small\",\"tokens\":3}';
             CREATE TABLE usage_keys_recent (key INTEGER PRIMARY KEY, row INTEGER NOT NULL);
             INSERT INTO usage_keys_recent (key, row) SELECT key, row FROM usage_events;
             CREATE TABLE usage_keys_pending (rows INTEGER NOT NULL);
             INSERT INTO usage_keys_pending (rows) SELECT count(*) FROM usage_events;
             DROP TABLE usage_keys_merged;
             PRAGMA user_version = 9;",
        )
        .unwrap();
    }
    let store = EmbeddedStore::open(&path).unwrap();
    assert_eq!(rusqlite_version(&path), LAST_EMBEDDED);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let data: i64 = conn
        .query_row("SELECT count(*) FROM pragma_table_info('usage_events') WHERE name = 'data'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(data, 0, "the column is gone");
    assert_eq!(store.insert_events_counted(&[event("e1"), event("e3")]).await.unwrap(), Some(1), "still deduplicated");
    let november =
        Period::new("2026-11-01T00:00:00Z".parse().unwrap(), "2026-12-01T00:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(store.count_events(&november).await.unwrap(), 3);
    // A file that never had the column (made by this release) is left as it is.
    let fresh = dir.path().join("fresh.db");
    EmbeddedStore::open(&fresh).unwrap();
    assert_eq!(rusqlite_version(&fresh), LAST_EMBEDDED);
}
