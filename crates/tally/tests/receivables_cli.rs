//! `tally payments` and `tally receivables` as billing staff use them, on both stores:
//! two months of a Pro subscription issued, a payment that settles the first invoice
//! and leaves credit, the same bank reference again (once), one below the cent and
//! one dated ahead (refused), a refund of the credit, a reversal that reopens the
//! invoice, aging as of two days, and a statement whose CSV adds up.

use chrono::{Datelike, Months, Utc};
use rust_decimal::Decimal;
use tally_tests::{clickhouse_url, TestDb};

mod common;

use common::{ok, refused};

fn ok_owned(store: &[String], args: &[String]) -> String {
    ok(store, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn refused_owned(store: &[String], args: &[String]) -> String {
    refused(store, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn receivables_round_trip(store: &[String]) {
    let catalog = common::sample_catalog();
    let catalog = catalog.to_str().unwrap();
    let today = Utc::now().date_naive();
    let start = today.with_day(1).unwrap().checked_sub_months(Months::new(2)).unwrap();
    ok(store, &["customers", "create", "--id", "acme", "--name", "Acme AI", "--currency", "USD", "--timezone", "UTC"]);
    let start = format!("{start}T00:00:00Z");
    ok(
        store,
        &[
            "subscriptions",
            "create",
            "--id",
            "sub-acme",
            "--customer",
            "acme",
            "--plan",
            "pro",
            "--start",
            &start,
            "--catalog",
            catalog,
        ],
    );
    let closed = ok(store, &["invoice", "close", "--catalog", catalog]);
    assert!(closed.contains("issued 2 invoices"), "{closed}");
    let listed = ok(store, &["invoice", "list", "--json"]);
    let invoices: Vec<serde_json::Value> = listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let first_total: Decimal = invoices[0]["total"].as_str().unwrap().parse().unwrap();
    let all: Decimal = invoices.iter().map(|i| i["total"].as_str().unwrap().parse::<Decimal>().unwrap()).sum();
    let first = invoices[0]["number"].as_str().unwrap().to_owned();
    let acme = ["--customer", "acme"];

    // 100.00 more than the first invoice: it is paid, the rest is credit.
    let amount = (first_total + d("100.00")).to_string();
    let day = today.to_string();
    let paid = ok(
        store,
        &[
            &["payments", "record"][..],
            &acme,
            &["--reference", "ACH-1", "--amount", &amount, "--date", &day, "--invoice", &first],
        ]
        .concat(),
    );
    assert!(paid.contains(&format!("to {first} (still owed: 0")), "{paid}");
    let again = ok(
        store,
        &[&["payments", "record"][..], &acme, &["--reference", "ACH-1", "--amount", &amount, "--date", &day]].concat(),
    );
    assert!(again.contains("recorded already"), "{again}");
    let err = refused(
        store,
        &[&["payments", "record"][..], &acme, &["--reference", "ACH-1", "--amount", "1.00", "--date", &day]].concat(),
    );
    assert!(err.contains("recorded already for customer acme"), "{err}");
    let err =
        refused(store, &[&["payments", "record"][..], &acme, &["--reference", "ACH-2", "--amount", "10.005"]].concat());
    assert!(err.contains("amount") && err.contains("decimals"), "{err}");
    let ahead = (today + chrono::Days::new(3)).to_string();
    let err = refused(
        store,
        &[&["payments", "record"][..], &acme, &["--reference", "ACH-3", "--amount", "1.00", "--date", &ahead]].concat(),
    );
    assert!(err.contains("received_on") && err.contains("future"), "{err}");

    // Aging: what is owed is the other invoices less the 100.00 credit not yet used.
    let aging = ok(store, &["receivables", "aging", "--json", "--customer", "acme"]);
    let row: serde_json::Value = serde_json::from_str(aging.lines().next().unwrap()).unwrap();
    assert_eq!(d(row["outstanding"].as_str().unwrap()), all - first_total, "{row}");
    assert_eq!(row["unapplied_credit"], "100.00", "{row}");
    let before =
        ok(store, &["receivables", "aging", "--json", "--as-of", &(today - chrono::Days::new(40)).to_string()]);
    assert!(!before.contains("ACH"), "{before}");

    // Refund 60.00 of the credit; then the payment bounces: the first invoice owes again.
    let err = refused(
        store,
        &[&["payments", "refund"][..], &acme, &["--payment", "ACH-1", "--reference", "RF-1", "--amount", "100.01"]]
            .concat(),
    );
    assert!(err.contains("more than"), "{err}");
    ok(
        store,
        &[&["payments", "refund"][..], &acme, &["--payment", "ACH-1", "--reference", "RF-1", "--amount", "60.00"]]
            .concat(),
    );
    ok(store, &[&["payments", "reverse"][..], &acme, &["--reference", "ACH-1", "--reason", "bounced"]].concat());
    let overdue = ok(store, &["receivables", "overdue", "--as-of", &(today + chrono::Days::new(90)).to_string()]);
    assert!(overdue.contains(&first), "the first invoice is owed again: {overdue}");

    // The statement: opening 0, every line, closing = invoices + 60.00 refunded of money never received.
    let from = invoices[0]["period"]["start"].as_str().unwrap()[..10].to_owned();
    let csv = ok(
        store,
        &[&["receivables", "statement"][..], &acme, &["--from", &from, "--to", &today.to_string(), "--format", "csv"]]
            .concat(),
    );
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(&rows[0][1], "opening_balance");
    assert_eq!(d(&rows[0][5]), Decimal::ZERO);
    let moved: Decimal = rows[1..rows.len() - 1].iter().map(|r| d(&r[4])).sum();
    let closing = d(&rows[rows.len() - 1][5]);
    assert_eq!(closing, moved, "the lines add up to the closing balance:\n{csv}");
    assert_eq!(closing, all + d("60.00"), "{csv}");
    let kinds: Vec<&str> = rows.iter().map(|r| r.get(1).unwrap()).collect();
    assert!(["invoice", "payment", "refund", "payment_reversal"].iter().all(|k| kinds.contains(k)), "{kinds:?}");

    // The paper trail by number: the credit note names the invoice it cancels, the
    // revision the one it replaces, the voided invoice both (issue 18, finding 8).
    let second = invoices[1]["number"].as_str().unwrap().to_owned();
    let voided = ok(store, &["invoice", "void", "--id", &second, "--revise", "--catalog", catalog]);
    let words: Vec<&str> = voided.split_whitespace().collect();
    let (note, revision) = (words[5].trim_end_matches(';'), *words.last().unwrap());
    let show = |number: &str| ok(store, &["invoice", "show", "--id", number, "--format", "html"]);
    assert!(show(note).contains(&format!("<td>Cancels invoice</td><td>{second}")), "{voided}");
    assert!(show(revision).contains(&format!("<td>Replaces invoice</td><td>{second}")));
    let page = show(&second);
    assert!(
        page.contains(&format!("<td>Credit notes</td><td>{note}"))
            && page.contains(&format!("<td>Replaced by invoice</td><td>{revision}")),
        "{page}"
    );
    assert!(!page.contains("sub-acme@"), "no internal ids: {page}");

    // A void without a revision, then the period billed again (finding 10): once only.
    ok(store, &["invoice", "void", "--id", &first, "--catalog", catalog]);
    let again = ok(store, &["invoice", "rebill", "--id", &first, "--catalog", catalog]);
    assert!(again.contains(&format!("billed the period of {first} again as INV-")), "{again}");
    let err = refused(store, &["invoice", "rebill", "--id", &first, "--catalog", catalog]);
    assert!(err.contains("billed already"), "{err}");
    let err = refused(store, &["invoice", "rebill", "--id", revision, "--catalog", catalog]);
    assert!(err.contains("only a voided invoice"), "{err}");
    let closed = ok(store, &["invoice", "close", "--catalog", catalog]);
    assert!(closed.contains("issued 0 invoices"), "a rebilled period is not billed a third time: {closed}");
}

/// The store behind the CLI's store arguments, opened in a thread of its own (the
/// ClickHouse test runs on a runtime already).
fn mark_void_only(store: &[String], number: &str) {
    let (store, number) = (store.to_vec(), number.to_owned());
    std::thread::spawn(move || {
        use tally_store::InvoiceStore;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let opened = match store[0].as_str() {
            "--embedded" => tally_store::AnyStore::Embedded(
                tally_store::embedded::EmbeddedStore::open(std::path::Path::new(&store[1])).unwrap(),
            ),
            _ => {
                let config = tally_store::clickhouse::ClickHouseConfig {
                    url: store[1].clone(),
                    database: store[3].clone(),
                    user: None,
                    password: None,
                    compression: tally_store::clickhouse::Compression::None,
                };
                tally_store::AnyStore::ClickHouse(
                    runtime.block_on(tally_store::clickhouse::ClickHouseStore::open(&config)).unwrap(),
                )
            }
        };
        let mut record = runtime.block_on(opened.invoice_by_number(&number)).unwrap().unwrap();
        let mut body: serde_json::Value = serde_json::from_str(&record.body).unwrap();
        body["state"] = "void".into();
        record.state = tally_domain::InvoiceState::Void;
        record.body = body.to_string();
        runtime.block_on(opened.put_invoices(&[record], "INV-")).unwrap();
    })
    .join()
    .unwrap();
}

/// Ten voids of one invoice at once (separate processes) give one credit note and one
/// revision, and the payment moves to the revision once; a void that stopped after
/// marking the invoice void is completed by voiding again (issue 18, finding 13).
fn voids_are_one_act(store: &[String]) {
    let catalog = common::sample_catalog();
    let catalog = catalog.to_str().unwrap();
    let today = Utc::now().date_naive();
    let start = today.with_day(1).unwrap().checked_sub_months(Months::new(2)).unwrap();
    ok(store, &["customers", "create", "--id", "beta", "--name", "Beta", "--currency", "USD", "--timezone", "UTC"]);
    let start = format!("{start}T00:00:00Z");
    let sub = ["subscriptions", "create", "--id", "sub-beta", "--customer", "beta", "--plan", "pro", "--start", &start];
    ok(store, &[&sub[..], &["--catalog", catalog]].concat());
    ok(store, &["invoice", "close", "--catalog", catalog]);
    let list = |store: &[String]| -> Vec<serde_json::Value> {
        let listed = ok(store, &["invoice", "list", "--json", "--customer", "beta"]);
        listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let invoices = list(store);
    let first = invoices[0]["number"].as_str().unwrap().to_owned();
    let second = invoices[1]["number"].as_str().unwrap().to_owned();
    let day = today.to_string();
    ok(
        store,
        &[
            "payments",
            "record",
            "--customer",
            "beta",
            "--reference",
            "W-1",
            "--amount",
            "30.00",
            "--date",
            &day,
            "--invoice",
            &first,
        ],
    );
    let voids: Vec<std::process::Child> = (0..10)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
                .args(["invoice", "void", "--id", &first, "--revise", "--catalog", catalog])
                .args(store)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let succeeded = voids.into_iter().map(|mut c| c.wait().unwrap().success()).filter(|ok| *ok).count();
    assert!(succeeded >= 1, "one void succeeds");
    let docs = list(store);
    let count = |pick: &dyn Fn(&serde_json::Value) -> bool| docs.iter().filter(|x| pick(x)).count();
    assert_eq!(count(&|x| x["document"] == "credit_note"), 1, "one credit note: {docs:#?}");
    assert_eq!(count(&|x| x["revises"].is_string()), 1, "one revision: {docs:#?}");

    // Half a void: the second invoice marked void, no credit note, no revision.
    mark_void_only(store, &second);
    ok(store, &["invoice", "void", "--id", &second, "--revise", "--catalog", catalog]);
    let docs = list(store);
    let count = |pick: &dyn Fn(&serde_json::Value) -> bool| docs.iter().filter(|x| pick(x)).count();
    assert_eq!(count(&|x| x["document"] == "credit_note"), 2, "completed with its credit note: {docs:#?}");
    assert_eq!(count(&|x| x["revises"].is_string()), 2, "and its revision");
    let err = refused(store, &["invoice", "void", "--id", &second, "--revise", "--catalog", catalog]);
    assert!(err.contains("voided already"), "{err}");

    // What is owed: the two revisions, less the 30.00 paid once.
    let late = (today + chrono::Days::new(400)).to_string();
    let aging = ok(store, &["receivables", "aging", "--json", "--customer", "beta", "--as-of", &late]);
    let row: serde_json::Value = serde_json::from_str(aging.lines().next().unwrap()).unwrap();
    let owed: Decimal = docs
        .iter()
        .filter(|x| x["state"] == "issued" && x["document"] == "invoice")
        .map(|x| d(x["total"].as_str().unwrap()))
        .sum();
    let from = (today - chrono::Days::new(100)).to_string();
    let statement = ok(store, &["receivables", "statement", "--customer", "beta", "--from", &from, "--to", &late]);
    assert_eq!(d(row["outstanding"].as_str().unwrap()), owed - d("30.00"), "{row}\n{statement}");
    assert_eq!(row["unapplied_credit"], "0.00", "{row}");
}

#[test]
fn voids_are_one_act_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = vec!["--embedded".to_owned(), dir.path().join("tally.db").to_str().unwrap().to_owned()];
    voids_are_one_act(&store);
}

#[tokio::test(flavor = "multi_thread")]
async fn voids_are_one_act_on_clickhouse() {
    let db = TestDb::new().await;
    let store = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    tokio::task::spawn_blocking(move || voids_are_one_act(&store)).await.unwrap();
}

#[test]
fn receivables_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = vec!["--embedded".to_owned(), dir.path().join("tally.db").to_str().unwrap().to_owned()];
    receivables_round_trip(&store);
}

#[tokio::test(flavor = "multi_thread")]
async fn receivables_on_clickhouse() {
    let db = TestDb::new().await;
    let store = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    tokio::task::spawn_blocking(move || receivables_round_trip(&store)).await.unwrap();
}

/// A store written before the ledger existed: invoices issued, a payment in the old
/// payments table, no ledger entries. Receivables read the ledger alone, so nothing is
/// owed until `tally migrate` brings the documents and the payment in (once: a second
/// run adds nothing).
#[tokio::test(flavor = "multi_thread")]
async fn documents_from_before_the_ledger_enter_it_with_tally_migrate() {
    let db = TestDb::new().await;
    let store = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    let name = db.name().to_owned();
    let (store, first, total) = tokio::task::spawn_blocking(move || {
        let catalog = common::sample_catalog();
        let catalog = catalog.to_str().unwrap();
        let start = Utc::now().date_naive().with_day(1).unwrap().checked_sub_months(Months::new(1)).unwrap();
        ok(
            &store,
            &["customers", "create", "--id", "old", "--name", "Old Co", "--currency", "USD", "--timezone", "UTC"],
        );
        let start = format!("{start}T00:00:00Z");
        let sub = ["subscriptions", "create", "--id", "sub-old", "--customer", "old", "--plan", "pro", "--start"];
        ok(&store, &[&sub[..], &[&start, "--catalog", catalog]].concat());
        ok(&store, &["invoice", "close", "--catalog", catalog]);
        let listed = ok(&store, &["invoice", "list", "--json"]);
        let invoice: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
        let total = d(invoice["total"].as_str().unwrap());
        (store, invoice["id"].as_str().unwrap().to_owned(), total)
    })
    .await
    .unwrap();
    assert!(total > d("10.00"), "{total}");
    // Back to before the ledger: no entries, and 10.00 paid in the old table.
    db.client().query(&format!("TRUNCATE TABLE {name}.ledger_entries")).execute().await.unwrap();
    let paid = format!(
        "INSERT INTO {name}.payments (invoice, reference, amount, currency, received_on, recorded_at_ms) \
         VALUES ('{first}', 'OLD-1', 10.00, 'USD', today(), 0)"
    );
    db.client().query(&paid).execute().await.unwrap();
    tokio::task::spawn_blocking(move || {
        let aging = ok(&store, &["receivables", "aging", "--json", "--customer", "old"]);
        assert_eq!(aging.trim(), "", "no entries, nothing owed yet: {aging}");
        let migrated = ok(&store, &["migrate"]);
        assert!(migrated.contains("3 entries added"), "invoice, payment, allocation: {migrated}");
        let again = ok(&store, &["migrate"]);
        assert!(!again.contains("entries added"), "{again}");
        let aging = ok(&store, &["receivables", "aging", "--json", "--customer", "old"]);
        let row: serde_json::Value = serde_json::from_str(aging.lines().next().unwrap()).unwrap();
        assert_eq!(d(row["outstanding"].as_str().unwrap()), total - d("10.00"), "{row}");
    })
    .await
    .unwrap();
}

/// Partial credit notes, as a billing specialist settles a dispute: an amount, then a
/// whole line, each once; what cannot be given back is refused with the reason; aging
/// owes the rest; a void afterwards moves the credit to the revision.
fn credit_notes(store: &[String]) {
    let catalog = common::sample_catalog();
    let catalog = catalog.to_str().unwrap();
    let start = Utc::now().date_naive().with_day(1).unwrap().checked_sub_months(Months::new(1)).unwrap();
    ok(store, &["customers", "create", "--id", "gamma", "--name", "Gamma", "--currency", "USD", "--timezone", "UTC"]);
    let start = format!("{start}T00:00:00Z");
    let sub = ["subscriptions", "create", "--id", "sub-gamma", "--customer", "gamma", "--plan", "pro", "--start"];
    ok(store, &[&sub[..], &[&start, "--catalog", catalog]].concat());
    ok(store, &["invoice", "close", "--catalog", catalog]);
    let listed = ok(store, &["invoice", "list", "--json"]);
    let invoice: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    let number = invoice["number"].as_str().unwrap().to_owned();
    let total = d(invoice["total"].as_str().unwrap());
    let first_line = d(invoice["lines"][0]["amount"].as_str().unwrap());
    assert!(total > first_line + d("20.00") && first_line > Decimal::ZERO, "{invoice}");
    let credit = |extra: &[&str]| -> Vec<String> {
        let head = ["invoice", "credit", "--id", number.as_str(), "--catalog", catalog];
        head.iter().chain(extra).map(|s| (*s).to_owned()).collect()
    };

    let done =
        ok_owned(store, &credit(&["--amount", "20.00", "--reason", "GPU outage on the 3rd", "--memo", "ticket 81"]));
    assert!(done.contains(&format!("20.00 USD back on {number}")), "{done}");
    assert!(done.contains(&format!("still owed: {} USD", total - d("20.00"))), "{done}");
    let again = ok_owned(store, &credit(&["--amount", "20.00", "--reason", "GPU outage on the 3rd"]));
    let pay = ["payments", "record", "--customer", "gamma", "--reference", "OLD", "--amount", "1.00", "--date"];
    let err = refused(store, &[&pay[..], &["2000-01-01"]].concat());
    assert!(err.contains("--date") && err.contains("2000-01-01"), "a payment dated 26 years back: {err}");
    assert!(again.contains("issued already"), "{again}");
    let err = refused_owned(store, &credit(&["--amount", "0.005", "--reason", "x"]));
    assert!(err.contains("more decimals than the currency"), "{err}");
    let err = refused_owned(store, &credit(&["--amount", &total.to_string(), "--reason", "all of it"]));
    assert!(err.contains("more than is left to credit"), "{err}");
    let err = refused_owned(store, &credit(&["--line", "0", "--reason", " "]));
    assert!(err.contains("reason is required"), "{err}");
    let by_line = ok_owned(store, &credit(&["--line", "0", "--reason", "fee charged twice"]));
    assert!(by_line.contains(&format!("{first_line} USD back")), "{by_line}");
    let err = refused_owned(store, &credit(&["--line", "0", "--reason", "once more"]));
    assert!(err.contains("line 0 is credited already"), "{err}");

    let credited = d("20.00") + first_line;
    // Each document names the other by number; the credit note says why.
    let note = done.split_whitespace().nth(2).unwrap().trim_end_matches(':').to_owned();
    let page = ok(store, &["invoice", "show", "--id", &note, "--format", "html"]);
    assert!(page.contains(&format!("<td>Credits part of invoice</td><td>{number}")), "{page}");
    assert!(
        page.contains("<td>Reason</td><td>GPU outage on the 3rd") && page.contains("<td>Note</td><td>ticket 81"),
        "{page}"
    );
    let page = ok(store, &["invoice", "show", "--id", &number, "--format", "html"]);
    assert!(page.contains(&format!("<td>Credit notes</td><td>{note}, CN-")), "{page}");
    let docs = ok(store, &["invoice", "list", "--json"]);
    let notes: Vec<serde_json::Value> = docs
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|x| x["document"] == "credit_note")
        .collect();
    assert_eq!(notes.len(), 2, "{docs}");
    assert!(notes.iter().all(|n| n["state"] == "issued" && n["credits"] == invoice["id"]), "{docs}");
    assert!(notes.iter().any(|n| n["reason"] == "GPU outage on the 3rd" && n["memo"] == "ticket 81"), "{docs}");
    let aging = ok(store, &["receivables", "aging", "--json", "--customer", "gamma"]);
    let row: serde_json::Value = serde_json::from_str(aging.lines().next().unwrap()).unwrap();
    assert_eq!(d(row["outstanding"].as_str().unwrap()), total - credited, "{row}");

    // Voided with a revision: the credits given move to the revision, never lost.
    ok(store, &["invoice", "void", "--id", &number, "--revise", "--catalog", catalog]);
    let docs = ok(store, &["invoice", "list", "--json"]);
    let revision: serde_json::Value = docs
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|x| x["revises"] == invoice["id"])
        .unwrap();
    let aging = ok(store, &["receivables", "aging", "--json", "--customer", "gamma"]);
    let row: serde_json::Value = serde_json::from_str(aging.lines().next().unwrap()).unwrap();
    let revised = d(revision["total"].as_str().unwrap());
    assert_eq!(d(row["outstanding"].as_str().unwrap()), revised - credited, "{row}\n{docs}");
}

#[test]
fn credit_notes_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = vec!["--embedded".to_owned(), dir.path().join("tally.db").to_str().unwrap().to_owned()];
    credit_notes(&store);
}

#[tokio::test(flavor = "multi_thread")]
async fn credit_notes_on_clickhouse() {
    let db = TestDb::new().await;
    let store = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    tokio::task::spawn_blocking(move || credit_notes(&store)).await.unwrap();
}

/// A void stopped at each of its steps (the process dies at a fail point: after the
/// invoice is marked void, after the credit note is written, after the revision is
/// written, before the ledger moves), then run again: one credit note, one revision,
/// the payment moved to the revision, counted once (issue 18, finding 13). Needs the
/// fail points (`--features tally/failpoints`, as ./scripts/test builds).
#[cfg(feature = "failpoints")]
fn voids_stopped_at_each_step(store: &[String]) {
    let catalog = common::sample_catalog();
    let catalog = catalog.to_str().unwrap();
    let today = Utc::now().date_naive();
    let start = today.with_day(1).unwrap().checked_sub_months(Months::new(3)).unwrap();
    ok(store, &["customers", "create", "--id", "delta", "--name", "Delta", "--currency", "USD", "--timezone", "UTC"]);
    let start = format!("{start}T00:00:00Z");
    let sub =
        ["subscriptions", "create", "--id", "sub-delta", "--customer", "delta", "--plan", "pro", "--start", &start];
    ok(store, &[&sub[..], &["--catalog", catalog]].concat());
    ok(store, &["invoice", "close", "--catalog", catalog]);
    let list = || -> Vec<serde_json::Value> {
        let listed = ok(store, &["invoice", "list", "--json", "--customer", "delta"]);
        listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let invoices = list();
    assert_eq!(invoices.len(), 3, "{invoices:#?}");
    let day = today.to_string();
    let steps = ["void-after-mark", "void-after-note", "void-after-revision"];
    for (invoice, step) in invoices.iter().zip(steps) {
        let number = invoice["number"].as_str().unwrap().to_owned();
        let reference = format!("W-{step}");
        let pay = ["payments", "record", "--customer", "delta", "--reference", &reference, "--amount", "10.00"];
        ok(store, &[&pay[..], &["--date", &day, "--invoice", &number]].concat());
        let stopped = common::tally()
            .args(["invoice", "void", "--id", &number, "--revise", "--catalog", catalog])
            .args(store)
            .env("FAILPOINTS", format!("{step}=panic"))
            .output()
            .unwrap();
        assert!(!stopped.status.success(), "{step}: the process stops there");
        ok(store, &["invoice", "void", "--id", &number, "--revise", "--catalog", catalog]);
        let docs = list();
        let id = invoice["id"].as_str().unwrap();
        let notes = docs.iter().filter(|x| x["document"] == "credit_note" && x["credits"] == id).count();
        let revisions: Vec<&serde_json::Value> = docs.iter().filter(|x| x["revises"] == id).collect();
        assert_eq!((notes, revisions.len()), (1, 1), "{step}: {docs:#?}");
        // The payment went to the revision, once.
        let revision = revisions[0]["number"].as_str().unwrap().to_owned();
        let paid = ok(
            store,
            &["receivables", "statement", "--customer", "delta", "--from", &day, "--to", &day, "--format", "json"],
        );
        let paid: serde_json::Value = serde_json::from_str(&paid).unwrap();
        let payments =
            paid["lines"].as_array().unwrap().iter().filter(|l| l["reference"] == reference.as_str()).count();
        assert_eq!(payments, 1, "{step}: {paid}");
        let _ = revision;
    }
    // What is owed: the three revisions, less the 30.00 paid.
    let late = (today + chrono::Days::new(400)).to_string();
    let aging = ok(store, &["receivables", "aging", "--json", "--customer", "delta", "--as-of", &late]);
    let row: serde_json::Value = serde_json::from_str(aging.lines().next().unwrap()).unwrap();
    let docs = list();
    let owed: Decimal = docs
        .iter()
        .filter(|x| x["state"] == "issued" && x["document"] == "invoice")
        .map(|x| d(x["total"].as_str().unwrap()))
        .sum();
    let outstanding = d(row["outstanding"].as_str().unwrap()) - d(row["unapplied_credit"].as_str().unwrap());
    assert_eq!(outstanding, owed - d("30.00"), "{row}\n{docs:#?}");
}

#[cfg(feature = "failpoints")]
#[test]
fn voids_stopped_at_each_step_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = vec!["--embedded".to_owned(), dir.path().join("tally.db").to_str().unwrap().to_owned()];
    voids_stopped_at_each_step(&store);
}

#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread")]
async fn voids_stopped_at_each_step_on_clickhouse() {
    let db = TestDb::new().await;
    let store = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    tokio::task::spawn_blocking(move || voids_stopped_at_each_step(&store)).await.unwrap();
}

/// A stored invoice whose state no state has (a hand edit, a newer writer): reading it
/// is an error naming the row, not a draft that a close would rewrite (issue 19,
/// finding 5). The store's API cannot write one (states are typed), so the test copies
/// an invoice row in SQL with the state "paid"; `write_copy` does that for a store.
async fn an_unknown_state_is_an_error_naming_the_row(args: Vec<String>, write_copy: impl FnOnce(&str)) {
    let catalog = common::sample_catalog().to_str().unwrap().to_owned();
    let start = Utc::now().date_naive().with_day(1).unwrap().checked_sub_months(Months::new(1)).unwrap();
    let setup = args.clone();
    let listed = tokio::task::spawn_blocking(move || {
        let store = &setup;
        ok(store, &["customers", "create", "--id", "eps", "--name", "Eps", "--currency", "USD", "--timezone", "UTC"]);
        let start = format!("{start}T00:00:00Z");
        let sub =
            ["subscriptions", "create", "--id", "sub-eps", "--customer", "eps", "--plan", "pro", "--start", &start];
        ok(store, &[&sub[..], &["--catalog", &catalog]].concat());
        ok(store, &["invoice", "close", "--catalog", &catalog]);
        ok(store, &["invoice", "list", "--json"])
    })
    .await
    .unwrap();
    let first: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    write_copy(first["id"].as_str().unwrap());
    let catalog = common::sample_catalog().to_str().unwrap().to_owned();
    let void = move || refused(&args, &["invoice", "void", "--id", "eps-copy", "--revise", "--catalog", &catalog]);
    let err = tokio::task::spawn_blocking(void).await.unwrap();
    assert!(err.contains("eps-copy") && err.contains("unknown state \"paid\""), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_state_is_an_error_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    let args = vec!["--embedded".to_owned(), path.to_str().unwrap().to_owned()];
    let write_copy = |id: &str| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO invoices (invoice, number, customer, subscription, period_start_ms, period_end_ms, currency, \
             state, subtotal, total, issued_at_ms, body, updated_at_ms) SELECT 'eps-copy', NULL, customer, subscription, \
             period_start_ms, period_end_ms, currency, 'paid', subtotal, total, issued_at_ms, body, updated_at_ms \
             FROM invoices WHERE invoice = ?1",
            [id],
        )
        .unwrap();
    };
    an_unknown_state_is_an_error_naming_the_row(args, write_copy).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_state_is_an_error_on_clickhouse() {
    let db = TestDb::new().await;
    let args = vec!["--clickhouse".to_owned(), clickhouse_url(), "--database".to_owned(), db.name().to_owned()];
    let client = db.client().clone();
    let write_copy = |id: &str| {
        let sql = format!(
            "INSERT INTO invoices (invoice, number, customer, subscription, period_start, period_end, currency, state, \
             total, issued_at_ms, body, written_at_ms, version) SELECT 'eps-copy', '', customer, subscription, \
             period_start, period_end, currency, 'paid', total, issued_at_ms, body, written_at_ms, version \
             FROM invoices WHERE invoice = '{id}'"
        );
        let handle = tokio::runtime::Handle::current();
        std::thread::scope(|s| s.spawn(|| handle.block_on(client.query(&sql).execute())).join().unwrap()).unwrap();
    };
    an_unknown_state_is_an_error_naming_the_row(args, write_copy).await;
}
