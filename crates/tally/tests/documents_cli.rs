//! Invoices a customer receives, read back with tools that are not ours: three
//! customers (Berlin in EUR, San Francisco in USD, Tokyo in JPY with a Japanese legal
//! name) are billed October 2026 from a catalog with taxes; each invoice's PDF, from
//! `tally invoice show --format pdf`, is read by poppler's `pdftotext` and `pdffonts`,
//! which must find the number, the dates in the customer's locale, each line's
//! description, quantity, unit price and amount, the tax per rate and the totals
//! (computed by hand below), and every font embedded. The Berlin invoice is then
//! voided: its credit note's PDF gives the tax back to the cent.

mod common;

use std::path::Path;
use std::process::Command;

use common::ok;

/// `tool` (poppler-utils) on `pdf`; its standard output.
fn poppler(tool: &str, args: &[&str], pdf: &Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .arg(pdf)
        .args(if tool == "pdftotext" { &["-"][..] } else { &[][..] })
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils) is not installed: {e}; scripts/test installs it"));
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Lines of `text` squeezed of runs of spaces, for phrases that `pdftotext -layout` keeps on one line.
fn squeezed(text: &str) -> String {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n")
}

fn assert_has(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "{w:?} not in:\n{text}");
    }
}

#[test]
fn taxed_invoices_and_a_credit_note_read_back_from_their_pdfs() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tally.toml");
    // A PNG of the docs stands in for the issuer's logo.
    let logo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/invoices/usd-pdf.png").display().to_string();
    std::fs::write(
        &config,
        r#"
[invoicer]
number_prefix = "INV-{year}-{seq:6}"
credit_note_prefix = "CN-{year}-{seq:4}"
[issuer]
name = "Tally Cloud GmbH"
address = "Friedrichstraße 1\n10117 Berlin, Germany"
tax_id = "DE123456789"
registration = "HRB 12345, Amtsgericht Berlin"
footer = "Thank you for computing with us."
logo = "LOGO"
[issuer.payment.EUR]
instructions = "IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX"
link = "https://pay.example.com/{number}?amount={amount}&currency={currency}"
"#
        .replace("LOGO", &logo),
    )
    .unwrap();
    let catalog = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/taxed-catalog.toml");
    let mut store = vec!["--embedded".to_owned(), dir.path().join("tally.db").to_str().unwrap().to_owned()];
    store.extend(["--config".to_owned(), config.to_str().unwrap().to_owned()]);
    store.extend(["--catalog".to_owned(), catalog.to_str().unwrap().to_owned()]);
    let customers: [(&str, &str, &str, &str, &[&str]); 3] = [
        (
            "berlin",
            "Berlin Labs",
            "EUR",
            "Europe/Berlin",
            &[
                "country=DE",
                "locale=de-DE",
                "payment_terms_days=14",
                "tax_id=DE999999999",
                "address=Unter den Linden 5\n10117 Berlin",
            ],
        ),
        ("sf", "Bay Models", "USD", "America/Los_Angeles", &["country=US", "region=CA", "locale=en-US"]),
        ("tokyo", "Tokyo AI", "JPY", "Asia/Tokyo", &["country=JP", "locale=ja-JP", "legal_name=株式会社東京エーアイ"]),
    ];
    for (id, name, currency, zone, details) in customers {
        let mut args =
            vec!["customers", "create", "--id", id, "--name", name, "--currency", currency, "--timezone", zone];
        for d in details {
            args.extend(["--detail", d]);
        }
        ok(&store, &args);
    }
    let closed = common::bill_taxed_october(&store, dir.path());
    assert!(closed.contains("issued 3 invoices"), "{closed}");
    let listed = ok(&store, &["invoice", "list", "--json"]);
    let number_of = |customer: &str| -> String {
        listed
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|i| i["customer"] == customer)
            .map(|i| i["number"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let pdf_of = |number: &str| -> (String, String) {
        let path = dir.path().join(format!("{number}.pdf"));
        ok(&store, &["invoice", "show", "--id", number, "--format", "pdf", "--output", path.to_str().unwrap()]);
        (squeezed(&poppler("pdftotext", &["-layout"], &path)), poppler("pdffonts", &[], &path))
    };
    let assert_embedded = |fonts: &str| {
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert!(!rows.is_empty(), "{fonts}");
        for row in rows {
            let cols: Vec<&str> = row.split_whitespace().collect();
            let n = cols.len();
            assert_eq!(&cols[n - 5..n - 2], ["yes", "yes", "yes"], "emb sub uni: {row}");
        }
    };

    // Berlin, EUR, VAT rounded per line. October's fees (49.00 at 19%, 10.00 at 7%),
    // 13 H100 and 13 A100 hours at 2.35 (30.55 each), November's fees in advance.
    // 19%: 49.00 -> 9.31 twice, 30.55 -> 5.8045 -> 5.80 twice: 30.22 on 159.10.
    // 7%: 10.00 -> 0.70 twice: 1.40 on 20.00. Subtotal 179.10, tax 31.62, total 210.72.
    let berlin = number_of("berlin");
    assert!(berlin.starts_with("INV-2026-"), "{berlin}");
    let (text, fonts) = pdf_of(&berlin);
    assert_has(
        &text,
        &[
            &format!("Invoice {berlin}"),
            "Tally Cloud GmbH",
            "Tax ID: DE123456789",
            "Berlin Labs",
            "Unter den Linden 5",
            "Tax ID: DE999999999",
            "Issue date 02.11.2026",
            "Due date 16.11.2026",
            "GPU time",
            "Gpu type: h100",
            "13 × GPU-hour",
            "2,35 € / GPU-hour",
            "30,55 €",
            "Platform fee",
            "49,00 €",
            "Printed handbook",
            "Subtotal 179,10 €",
            "VAT 19 % (DE) on 159,10 € 30,22 €",
            "VAT 7 % (DE) on 20,00 € 1,40 €",
            "Total 210,72 €",
            "Tax is rounded on each line",
            "IBAN DE89 3704 0044 0532 0130 00",
            &format!("https://pay.example.com/{berlin}?amount=210.72&currency=EUR"),
            "Thank you for computing with us.",
        ],
    );
    assert_embedded(&fonts);
    // The logo is in the PDF as an image (poppler's pdfimages lists it) and in the page.
    let images = poppler("pdfimages", &["-list"], &dir.path().join(format!("{berlin}.pdf")));
    assert_eq!(images.lines().skip(2).filter(|l| l.contains("image")).count(), 1, "{images}");
    let page = ok(&store, &["invoice", "show", "--id", &berlin, "--format", "html"]);
    assert!(
        page.contains("<img class=\"logo\" alt=\"\" src=\"data:image/png;base64,iVBORw0KGgo"),
        "the logo in the page"
    );

    // San Francisco, USD, California sales tax 7.25%: 49.00 -> 3.5525 -> 3.55 twice,
    // 30.55 -> 2.214875 -> 2.21; subtotal 128.55, tax 9.31, total 137.86.
    let (text, fonts) = pdf_of(&number_of("sf"));
    assert_has(
        &text,
        &[
            "Issue date 11/02/2026",
            "$2.35 / GPU-hour",
            "$30.55",
            "Sales tax 7.25% (US-CA) on $128.55 $9.31",
            "Total $137.86",
        ],
    );
    assert_embedded(&fonts);

    // Tokyo, JPY, prices include 10%: 11000 -> 1000 twice, 2 hours at 1174 = 2348 ->
    // 213.45... -> 213; total 24348 of which 2213 tax, 22135 net.
    let (text, fonts) = pdf_of(&number_of("tokyo"));
    assert_has(
        &text,
        &[
            "株式会社東京エーアイ",
            "2026年11月02日",
            "基本料金",
            "GPU利用料",
            "2 × GPU時間",
            "￥2,348",
            "消費税 10% (JP) on ￥22,135 ￥2,213",
            "Total ￥24,348",
            "Prices include tax",
        ],
    );
    assert_embedded(&fonts);
    assert!(fonts.contains("NotoSansCJK"), "the Japanese name needs the CJK font:\n{fonts}");

    // The Berlin invoice voided: its credit note gives back every line and its tax.
    let voided = ok(&store, &["invoice", "void", "--id", &berlin]);
    let credit =
        voided.split("credit note ").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().trim_end_matches(';');
    assert!(credit.starts_with("CN-2026-"), "{voided}");
    let (text, _) = pdf_of(credit);
    assert_has(
        &text,
        &[
            &format!("Credit note {credit}"),
            &format!("Cancels invoice {berlin}"),
            "Subtotal -179,10 €",
            "VAT 19 % (DE) on -159,10 € -30,22 €",
            "VAT 7 % (DE) on -20,00 € -1,40 €",
            "Total credited -210,72 €",
        ],
    );
    assert!(!text.contains("How to pay"), "a credit note asks for no payment:\n{text}");
}
