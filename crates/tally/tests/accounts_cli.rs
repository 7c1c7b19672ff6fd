//! `tally customers` and `tally subscriptions` as a user runs them, on the embedded
//! store and on the real ClickHouse.

mod common;

use common::{sample_catalog, tally};
use tally_tests::{clickhouse_url, TestDb};

/// Runs `tally ARGS STORE...`, returning (success, stdout, stderr).
fn run(args: &[&str], store: &[String]) -> (bool, String, String) {
    let out = tally().args(args).args(store).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn ok(args: &[&str], store: &[String]) -> String {
    let (success, stdout, stderr) = run(args, store);
    assert!(success, "tally {args:?} failed: {stderr}");
    stdout
}

fn err(args: &[&str], store: &[String]) -> String {
    let (success, stdout, stderr) = run(args, store);
    assert!(!success, "tally {args:?} should fail, printed {stdout}");
    stderr.trim_end().to_owned()
}

fn accounts_round_trip(store: &[String]) {
    let catalog = sample_catalog();
    let catalog = catalog.to_str().unwrap();
    ok(
        &[
            "customers",
            "create",
            "--id",
            "acme",
            "--name",
            "Acme AI",
            "--currency",
            "USD",
            "--timezone",
            "Europe/Berlin",
            "--detail",
            "email=ap@acme.example",
        ],
        store,
    );
    assert_eq!(
        err(&["customers", "create", "--id", "acme", "--name", "X", "--currency", "USD", "--timezone", "UTC"], store),
        "error: customer acme exists already; use `tally customers update`"
    );
    assert!(err(
        &["customers", "create", "--id", "b", "--name", "B", "--currency", "USD", "--timezone", "Mars/Olympus"],
        store
    )
    .contains("--timezone \"Mars/Olympus\": not an IANA time zone"));
    assert!(err(
        &["customers", "create", "--id", "b", "--name", "B", "--currency", "DOLLAR", "--timezone", "UTC"],
        store
    )
    .contains("--currency \"DOLLAR\""));

    let created = ok(
        &[
            "subscriptions",
            "create",
            "--id",
            "sub-1",
            "--customer",
            "acme",
            "--plan",
            "starter",
            "--start",
            "2026-11-01T00:00:00+01:00",
            "--catalog",
            catalog,
        ],
        store,
    );
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["anchor"], "2026-11-01", "the start's local date in the customer's zone");
    assert_eq!(
        err(
            &[
                "subscriptions",
                "create",
                "--id",
                "sub-2",
                "--customer",
                "acme",
                "--plan",
                "pro_eu",
                "--start",
                "2026-11-01T00:00:00Z",
                "--catalog",
                catalog
            ],
            store
        ),
        "error: --plan: pro_eu prices in EUR, the customer pays in USD"
    );
    assert!(err(
        &[
            "subscriptions",
            "create",
            "--id",
            "sub-2",
            "--customer",
            "nobody",
            "--plan",
            "pro",
            "--start",
            "2026-11-01T00:00:00Z",
            "--catalog",
            catalog
        ],
        store
    )
    .contains("--customer: no customer nobody"));
    ok(
        &[
            "subscriptions",
            "update",
            "--id",
            "sub-1",
            "--change-plan",
            "pro",
            "--at",
            "2026-11-16T00:00:00+01:00",
            "--catalog",
            catalog,
        ],
        store,
    );
    assert!(err(
        &[
            "subscriptions",
            "update",
            "--id",
            "sub-1",
            "--change-plan",
            "enterprise",
            "--at",
            "2026-11-10T00:00:00Z",
            "--catalog",
            catalog
        ],
        store
    )
    .contains("already changes plan at or after"));
    ok(
        &["subscriptions", "update", "--id", "sub-1", "--end", "2027-01-01T00:00:00+01:00", "--catalog", catalog],
        store,
    );

    let shown: serde_json::Value =
        serde_json::from_str(&ok(&["subscriptions", "show", "--id", "sub-1"], store)).unwrap();
    let plans: Vec<&str> = shown["phases"].as_array().unwrap().iter().map(|p| p["plan"].as_str().unwrap()).collect();
    assert_eq!(plans, ["starter", "pro"]);
    assert_eq!(shown["end"], "2026-12-31T23:00:00Z");
    assert!(ok(&["subscriptions", "list"], store).contains("starter -> pro"));

    // A currency change would strand the USD subscription: refused.
    assert!(err(&["customers", "update", "--id", "acme", "--currency", "EUR"], store)
        .contains("has subscriptions priced in USD"));
    ok(
        &[
            "customers",
            "update",
            "--id",
            "acme",
            "--name",
            "Acme AI GmbH",
            "--detail",
            "tax_id=DE1",
            "--remove-detail",
            "email",
        ],
        store,
    );
    let listed = ok(&["customers", "list", "--json"], store);
    let acme: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(acme["name"], "Acme AI GmbH");
    assert_eq!(acme["billing_details"], serde_json::json!({ "tax_id": "DE1" }));
}

#[test]
fn accounts_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = vec!["--embedded".to_owned(), dir.path().join("tally.db").to_str().unwrap().to_owned()];
    accounts_round_trip(&store);
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_on_clickhouse() {
    let db = TestDb::new().await;
    let store = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    tokio::task::spawn_blocking(move || accounts_round_trip(&store)).await.unwrap();
}
