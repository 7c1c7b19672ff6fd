//! A customer statement as a terminal table, JSON or CSV (Excel opens the CSV cleanly:
//! one header row, ISO dates, plain decimal amounts).

use anyhow::bail;
use tally_ledger::Statement;

/// Prints `statement` in `format` (`text`, `json` or `csv`).
pub fn print(statement: &Statement, format: &str) -> anyhow::Result<()> {
    let s = statement;
    let money = |a: rust_decimal::Decimal| s.currency.show(a);
    match format {
        "json" => {
            let lines: Vec<serde_json::Value> = s
                .lines
                .iter()
                .map(|l| {
                    serde_json::json!({ "date": l.day.to_string(), "kind": l.kind, "reference": l.reference,
                    "description": l.description, "amount": money(l.amount), "balance": money(l.balance) })
                })
                .collect();
            let out = serde_json::json!({ "customer": s.customer, "currency": s.currency.to_string(),
                "from": s.from.to_string(), "to": s.to.to_string(), "opening_balance": money(s.opening),
                "lines": lines, "closing_balance": money(s.closing), "unapplied_credit": money(s.unapplied_credit) });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        "csv" => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record(["date", "kind", "reference", "description", "amount", "balance", "currency"])?;
            let opening = s.from.to_string();
            w.write_record([
                opening.as_str(),
                "opening_balance",
                "",
                "Opening balance",
                "",
                &money(s.opening),
                s.currency.code(),
            ])?;
            for l in &s.lines {
                let day = l.day.to_string();
                w.write_record([
                    &day,
                    l.kind,
                    &l.reference,
                    &l.description,
                    &money(l.amount),
                    &money(l.balance),
                    s.currency.code(),
                ])?;
            }
            let closing = s.to.to_string();
            w.write_record([
                closing.as_str(),
                "closing_balance",
                "",
                "Closing balance",
                "",
                &money(s.closing),
                s.currency.code(),
            ])?;
            w.flush()?;
        }
        "text" => {
            println!("Statement of {} in {}, {} to {}", s.customer, s.currency, s.from, s.to);
            println!("Opening balance: {}", money(s.opening));
            let rows: Vec<[String; 5]> = s
                .lines
                .iter()
                .map(|l| {
                    [l.day.to_string(), l.reference.clone(), l.description.clone(), money(l.amount), money(l.balance)]
                })
                .collect();
            super::table::print(&["date", "reference", "description", "amount", "balance"], &rows);
            println!("Closing balance: {} (credit not yet used: {})", money(s.closing), money(s.unapplied_credit));
        }
        other => bail!("--format: {other:?}: expected text, json or csv"),
    }
    Ok(())
}
