//! `tally migrate` against the real ClickHouse and an embedded file: creates the
//! schema, is idempotent, and names what it could not reach.

mod common;

use common::tally;
use tally_tests::{clickhouse_url, TestDb};

#[tokio::test(flavor = "multi_thread")]
async fn migrates_clickhouse_twice_without_harm() {
    let db = TestDb::new().await;
    for _ in 0..2 {
        let out =
            tally().args(["migrate", "--clickhouse", &clickhouse_url(), "--database", db.name()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(&format!("database {}: schema up to date", db.name())), "{text}");
    }
    let tables: Vec<String> = db
        .client()
        .query("SELECT name FROM system.tables WHERE database = currentDatabase()")
        .fetch_all()
        .await
        .unwrap();
    assert!(tables.contains(&"usage_events".to_string()), "{tables:?}");
}

#[test]
fn migrates_an_embedded_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    let out = tally().arg("migrate").arg("--embedded").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(path.exists());
}

#[test]
fn an_unreachable_server_is_one_clear_error() {
    let out = tally().args(["migrate", "--clickhouse", "http://127.0.0.1:9", "--database", "x"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "error: opening ClickHouse at http://127.0.0.1:9, database x: ClickHouse: connecting to http://127.0.0.1:9"
        ),
        "{err}"
    );
}

/// With no flag, the store of the settings: the default embedded file, created in
/// the directory `tally` runs in (one default, in config/default.toml).
#[test]
fn with_no_flag_the_configured_store_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let out = tally().current_dir(dir.path()).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("the embedded store tally-data/tally.db: schema up to date"), "{text}");
    assert!(dir.path().join("tally-data/tally.db").is_file());
}
