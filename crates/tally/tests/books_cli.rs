//! Into the books, read back with tools that are not ours: three customers (Berlin in
//! EUR, San Francisco in USD, Tokyo in JPY, tax-inclusive) are billed October 2026
//! with EUR as the reporting currency and ECB-layout rates of three days loaded. The
//! invoices (issued 2 November) record their rates; San Francisco pays part on
//! 9 November; Berlin's invoice is voided today (a credit note and a revision).
//! Then: the report's figures in EUR are worked by hand below; the workbook is opened
//! by openpyxl and must equal the JSON; every accounting import file is read by
//! Python's csv module and checked against the vendor's rules and Tally's totals
//! (scripts/python-env makes the Python; TALLY_TEST_PYTHON names it).

mod common;

use std::path::Path;
use std::process::Command;

use common::{ok, refused};
use rust_decimal::Decimal;

fn python() -> String {
    std::env::var("TALLY_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("TALLY_TEST_PYTHON is not set: run `eval \"$(scripts/python-env)\"` (scripts/test does)")
    })
}

fn check(script: &str, args: &[&Path]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/books").join(script);
    let out = Command::new(python()).arg(&script).args(args).output().expect("running python");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}:\n{text}{}", script.display(), String::from_utf8_lossy(&out.stderr));
    text
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn field(v: &serde_json::Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("{v} is not a decimal string")).parse().unwrap()
}

#[test]
fn reports_in_eur_worked_by_hand_and_import_files_checked_by_python() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tally.toml");
    std::fs::write(&config, "[reporting]\ncurrency = \"EUR\"\n[invoicer]\nnumber_prefix = \"INV-\"\n").unwrap();
    let catalog_text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/taxed-catalog.toml"))
            .unwrap()
            .replace("[[meters]]", "[accounting]\nincome_account = \"4000\"\ntax_code = \"Standard\"\n\n[[meters]]");
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(&catalog, catalog_text).unwrap();
    let mut store = vec!["--embedded".to_owned(), dir.path().join("tally.db").to_str().unwrap().to_owned()];
    store.extend(["--config".to_owned(), config.to_str().unwrap().to_owned()]);
    store.extend(["--catalog".to_owned(), catalog.to_str().unwrap().to_owned()]);

    // Sample rates in the ECB's layout (per 1 EUR): 2 November, 9 November and today.
    let today = chrono::Utc::now().date_naive();
    let rates = dir.path().join("eurofxref-hist.csv");
    std::fs::write(&rates, format!("Date,USD,JPY,CYP,\n{today},1.0700,160.00,N/A,\n2026-11-09,1.0800,161.00,N/A,\n2026-11-02,1.0850,162.50,N/A,\n")).unwrap();
    let loaded = ok(&store, &["rates", "load", rates.to_str().unwrap()]);
    assert!(loaded.contains("6 rates (ecb layout)"), "{loaded}");

    for (id, name, currency, zone, details) in [
        ("berlin", "Berlin Labs", "EUR", "Europe/Berlin", vec!["country=DE", "payment_terms_days=14"]),
        (
            "sf",
            "Bay Models",
            "USD",
            "America/Los_Angeles",
            vec!["country=US", "region=CA", "email=ap@baymodels.example"],
        ),
        ("tokyo", "Tokyo AI", "JPY", "Asia/Tokyo", vec!["country=JP", "legal_name=株式会社東京エーアイ"]),
    ] {
        let mut args =
            vec!["customers", "create", "--id", id, "--name", name, "--currency", currency, "--timezone", zone];
        for detail in &details {
            args.extend(["--detail", detail]);
        }
        ok(&store, &args);
    }
    let closed = common::bill_taxed_october(&store, dir.path());
    assert!(closed.contains("issued 3 invoices"), "{closed}");
    let listed: Vec<serde_json::Value> =
        ok(&store, &["invoice", "list", "--json"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let of = |customer: &str| listed.iter().find(|i| i["customer"] == customer).unwrap().clone();
    let (berlin, sf, tokyo) = (of("berlin"), of("sf"), of("tokyo"));
    // Each invoice recorded its rate to EUR on 2 November.
    let shown = |number: &serde_json::Value| -> serde_json::Value {
        serde_json::from_str(&ok(&store, &["invoice", "show", "--id", number.as_str().unwrap()])).unwrap()
    };
    let x = shown(&sf["number"])["exchange"].clone();
    assert_eq!(
        (x["currency"].as_str(), x["rate"].as_str(), x["on"].as_str()),
        (Some("EUR"), Some("0.9216589862"), Some("2026-11-02")),
        "{x}"
    );
    assert_eq!(shown(&tokyo["number"])["exchange"]["rate"], "0.0061538462", "1 / 162.50");
    assert_eq!(shown(&berlin["number"])["exchange"]["how"], "same");

    assert_eq!(
        (berlin["total"].as_str(), sf["total"].as_str(), tokyo["total"].as_str()),
        (Some("210.72"), Some("137.86"), Some("24348"))
    );

    // A reporting currency without rates refuses the void before anything changes.
    let gbp = refused_env(
        &store,
        &[("TALLY__REPORTING__CURRENCY", "GBP")],
        &["invoice", "void", "--id", berlin["number"].as_str().unwrap()],
    );
    assert!(gbp.contains("no exchange rate from EUR to GBP on"), "{gbp}");
    assert_eq!(shown(&berlin["number"])["state"], "issued", "nothing changed");
    // San Francisco pays 100.00 of 137.86 on 9 November; Berlin's invoice is voided today.
    ok(
        &store,
        &[
            "payments",
            "record",
            "--customer",
            "sf",
            "--reference",
            "WIRE-9",
            "--amount",
            "100.00",
            "--date",
            "2026-11-09",
        ],
    );
    ok(&store, &["invoice", "void", "--id", berlin["number"].as_str().unwrap(), "--revise"]);

    let to = today.to_string();
    let report: serde_json::Value =
        serde_json::from_str(&ok(&store, &["report", "--from", "2026-11-01", "--to", &to])).unwrap();
    let row = |table: &str, key: &str, value: &str| -> serde_json::Value {
        report[table]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[key] == value)
            .unwrap_or_else(|| panic!("{table} {value}: {report}"))
            .clone()
    };
    // Billed, in EUR at each document's recorded rate, rounded per document:
    // Berlin 210.72 (invoice) - 210.72 (credit note) + 210.72 (revision) = 210.72 EUR;
    // San Francisco 137.86 USD x 0.9216589862 (1 / 1.0850) = 127.0599 -> 127.06 EUR;
    // Tokyo 24,348 JPY x 0.0061538462 (1 / 162.50) = 149.8338 -> 149.83 EUR.
    let billed = |c: &str| row("billed_by_customer", "customer", c);
    assert_eq!(
        (field(&billed("berlin")["total"]), field(&billed("berlin")["reporting_total"])),
        (d("210.72"), d("210.72"))
    );
    assert_eq!((billed("berlin")["invoices"].as_u64(), billed("berlin")["credit_notes"].as_u64()), (Some(2), Some(1)));
    assert_eq!(field(&billed("sf")["reporting_total"]), d("127.06"));
    assert_eq!(field(&billed("tokyo")["reporting_total"]), d("149.83"));
    // Collected: 100.00 USD on 9 November x 0.9259259259 (1 / 1.0800) = 92.59 EUR.
    let paid = row("collected", "customer", "sf");
    assert_eq!((field(&paid["net"]), field(&paid["reporting_net"])), (d("100.00"), d("92.59")));
    // Outstanding today, at today's rates: 37.86 USD x 0.9345794393 (1 / 1.07) = 35.38;
    // 24,348 JPY x 0.00625 (1 / 160) = 152.175 -> 152.18; Berlin's revision 210.72 EUR.
    let owed = |c: &str| row("outstanding", "customer", c);
    assert_eq!((field(&owed("sf")["owed"]), field(&owed("sf")["reporting_owed"])), (d("37.86"), d("35.38")));
    assert_eq!(field(&owed("tokyo")["reporting_owed"]), d("152.18"));
    assert_eq!(field(&owed("berlin")["reporting_owed"]), d("210.72"));
    let converted = report["aging"].as_array().unwrap().iter().find(|a| a["converted"] == true).unwrap();
    assert_eq!(field(&converted["total"]), d("398.28"), "35.38 + 152.18 + 210.72");
    // The credit note, and the rates used: recorded on 2 November and today, looked up
    // for the payment (9 November) and for what is owed (today).
    let note = &report["credit_notes"][0];
    assert_eq!((field(&note["total"]), note["credits"].as_str()), (d("-210.72"), berlin["number"].as_str()));
    let rates: Vec<(String, String, String, String)> = report["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["currency"].as_str().unwrap().into(),
                r["on"].as_str().unwrap().into(),
                r["rate"].as_str().unwrap().into(),
                r["source"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [
        ("USD", "2026-11-02", "0.9216589862", "recorded"),
        ("JPY", "2026-11-02", "0.0061538462", "recorded"),
        ("USD", "2026-11-09", "0.9259259259", "looked up"),
        ("USD", to.as_str(), "0.9345794393", "looked up"),
        ("JPY", to.as_str(), "0.00625", "looked up"),
    ] {
        let want = (want.0.to_owned(), want.1.to_owned(), want.2.to_owned(), want.3.to_owned());
        assert!(rates.contains(&want), "{want:?} not in {rates:?}");
    }
    // A day with no rate near enough is an error naming the pair and the day, never 1.
    let missing = refused(&store, &["report", "--from", "2026-11-01", "--to", "2030-01-31"]);
    assert!(missing.contains("no exchange rate from") && missing.contains("on 2030-01-31"), "{missing}");

    // The workbook, read by openpyxl, equals the JSON; one CSV table.
    let json = dir.path().join("report.json");
    std::fs::write(&json, serde_json::to_string(&report).unwrap()).unwrap();
    let xlsx = dir.path().join("report.xlsx");
    ok(
        &store,
        &["report", "--from", "2026-11-01", "--to", &to, "--format", "xlsx", "--output", xlsx.to_str().unwrap()],
    );
    let read = check("check_workbook.py", &[&xlsx, &json]);
    assert!(read.contains("ok Billed by customer: 3 rows"), "{read}");
    let summary = ok(&store, &["report", "--from", "2026-11-01", "--to", &to, "--format", "csv", "--table", "summary"]);
    assert!(summary.lines().any(|l| l == "\"all, in EUR\",487.61,92.59,398.28,-210.72"), "{summary}");

    // Every import file, read by Python's csv module against Tally's totals.
    let mut totals = serde_json::Map::new();
    for doc in ok(&store, &["invoice", "list", "--json"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
    {
        let number = doc["number"].as_str().unwrap().to_owned();
        let full = shown(&doc["number"]);
        let tax = full["tax"]["tax"].as_str().map_or(Decimal::ZERO, |t| t.parse().unwrap());
        let total: Decimal = field(&full["total"]);
        totals.insert(
            number,
            serde_json::json!({"total": total.to_string(), "subtotal": (total - tax).to_string(),
            "currency": full["currency"], "credit_note": full["document"] == "credit_note"}),
        );
    }
    let totals_file = dir.path().join("totals.json");
    std::fs::write(&totals_file, serde_json::Value::Object(totals).to_string()).unwrap();
    let out = dir.path().join("exports");
    let out_arg = out.to_str().unwrap();
    for format in ["quickbooks", "xero", "zoho", "freshbooks"] {
        ok(&store, &["export", format, "--from", "2026-11-01", "--to", &to, "--output", out_arg]);
    }
    let iif = refused(&store, &["export", "iif", "--from", "2026-11-01", "--to", &to, "--output", out_arg]);
    assert!(iif.contains("export one currency at a time"), "{iif}");
    for currency in ["EUR", "USD"] {
        let dir = out.join(currency);
        ok(
            &store,
            &[
                "export",
                "iif",
                "--from",
                "2026-11-01",
                "--to",
                &to,
                "--currency",
                currency,
                "--output",
                dir.to_str().unwrap(),
            ],
        );
        std::fs::rename(dir.join("quickbooks-desktop.iif"), out.join(format!("quickbooks-desktop-{currency}.iif")))
            .unwrap();
    }
    let read = check("check_exports.py", &[&out, &totals_file]);
    for want in [
        "ok xero-invoices.csv: 4 documents",
        "ok xero-credit-notes.csv: 1 documents",
        "ok quickbooks-invoices.csv: 4 invoices",
        "ok quickbooks-desktop-EUR.iif: 3 blocks",
        "ok quickbooks-desktop-USD.iif: 2 blocks",
    ] {
        assert!(read.contains(want), "{want:?} not in:\n{read}");
    }
    // The payment is in the USD IIF file; QuickBooks Online's notes name the credit note.
    let usd = std::fs::read_to_string(out.join("quickbooks-desktop-USD.iif")).unwrap();
    assert!(usd.contains("TRNS\t\tPAYMENT\t11/09/2026\tUndeposited Funds\tBay Models\t100.00\tWIRE-9"), "{usd}");

    // Billing details changed behind Tally's back (checked when stored): the books name
    // the customer instead of writing files with an empty name or email.
    let db = rusqlite::Connection::open(dir.path().join("tally.db")).unwrap();
    db.execute("UPDATE customers SET billing_details = '{\"country\":\"Atlantis\"}' WHERE customer = 'tokyo'", [])
        .unwrap();
    for args in [
        &["export", "xero", "--from", "2026-11-01", "--to", &to, "--output", out_arg][..],
        &["report", "--from", "2026-11-01", "--to", &to],
    ] {
        let refused = refused(&store, args);
        assert!(refused.contains("customer tokyo: its billing details cannot be read"), "{args:?}: {refused}");
        assert!(refused.contains("Atlantis"), "names the value: {refused}");
    }
}

/// [`refused`] with environment variables set.
fn refused_env(store: &[String], env: &[(&str, &str)], args: &[&str]) -> String {
    let out = common::tally().args(args).args(store).envs(env.iter().copied()).output().unwrap();
    assert!(!out.status.success(), "{args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}
