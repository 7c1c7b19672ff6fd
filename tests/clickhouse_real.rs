//! ClickHouse is real: rows inserted with the `clickhouse` crate (exact decimals,
//! UTC times) are read back by a separate `clickhouse-client` process.

use std::process::Command;
use std::str::FromStr;

use clickhouse::Row;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_tests::{clickhouse_tcp_port, TestDb};

/// One usage row as the store will hold it: Decimal(38, 12) travels as an i128 at scale 12.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
struct UsageProbe {
    customer: String,
    time: u32,
    quantity: i128,
    events: u64,
}

const SCALE: u32 = 12;

fn raw(text: &str) -> i128 {
    let mut d = Decimal::from_str(text).unwrap();
    d.rescale(SCALE);
    d.mantissa()
}

fn rows() -> Vec<UsageProbe> {
    vec![
        UsageProbe { customer: "customer-1".into(), time: 1_793_577_600, quantity: raw("1500000"), events: 3 },
        UsageProbe { customer: "customer-2".into(), time: 1_793_581_200, quantity: raw("0.000000000001"), events: 1 },
        // Close to the largest value rust_decimal holds at scale 12 (about 7.9e16).
        UsageProbe {
            customer: "customer-3".into(),
            time: 1_794_182_399,
            quantity: raw("79000000000000000.123456789012"),
            events: 42,
        },
    ]
}

async fn create_table(db: &TestDb) {
    db.client()
        .query(
            "CREATE TABLE usage_probe (customer String, time DateTime('UTC'), quantity Decimal(38, 12), events UInt64) \
             ENGINE = MergeTree PARTITION BY toYYYYMM(time) ORDER BY (customer, time)",
        )
        .execute()
        .await
        .unwrap();
}

async fn insert_rows(db: &TestDb) {
    let mut insert = db.client().insert::<UsageProbe>("usage_probe").await.unwrap();
    for row in rows() {
        insert.write(&row).await.unwrap();
    }
    insert.end().await.unwrap();
}

#[tokio::test]
async fn rows_inserted_by_the_crate_are_read_back_by_clickhouse_client() {
    let db = TestDb::new().await;
    create_table(&db).await;
    insert_rows(&db).await;

    let out = Command::new("clickhouse-client")
        .args(["--host", "127.0.0.1", "--port", &clickhouse_tcp_port().to_string(), "--database", db.name()])
        .args([
            "--query",
            "SELECT customer, toString(time), toString(quantity), events FROM usage_probe ORDER BY customer FORMAT TSV",
        ])
        .output()
        .expect("running clickhouse-client");
    assert!(out.status.success(), "clickhouse-client failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0][0], "customer-1");
    assert_eq!(lines[0][1], "2026-11-02 00:00:00");
    assert_eq!(Decimal::from_str(lines[0][2]).unwrap(), Decimal::from(1_500_000));
    assert_eq!(lines[0][3], "3");
    assert_eq!(Decimal::from_str(lines[1][2]).unwrap(), Decimal::from_str("0.000000000001").unwrap());
    assert_eq!(lines[2][1], "2026-11-08 23:59:59");
    assert_eq!(Decimal::from_str(lines[2][2]).unwrap(), Decimal::from_str("79000000000000000.123456789012").unwrap());
}

#[tokio::test]
async fn the_crate_reads_its_rows_back_exactly_and_sums_decimals_exactly() {
    let db = TestDb::new().await;
    create_table(&db).await;
    insert_rows(&db).await;
    let back: Vec<UsageProbe> =
        db.client().query("SELECT ?fields FROM usage_probe ORDER BY customer").fetch_all().await.unwrap();
    assert_eq!(back, rows());
    let total: i128 = db.client().query("SELECT sum(quantity) FROM usage_probe").fetch_one().await.unwrap();
    let expected = Decimal::from_str("79000000001500000.123456789013").unwrap();
    assert_eq!(Decimal::from_i128_with_scale(total, SCALE), expected);
}

#[tokio::test]
async fn each_test_gets_its_own_database() {
    let a = TestDb::new().await;
    let b = TestDb::new().await;
    assert_ne!(a.name(), b.name());
    create_table(&a).await;
    let tables: Vec<String> = b
        .client()
        .query("SELECT name FROM system.tables WHERE database = currentDatabase()")
        .fetch_all()
        .await
        .unwrap();
    assert!(tables.is_empty(), "b sees none of a's tables: {tables:?}");
    assert!(!a.server_version().is_empty());
}
