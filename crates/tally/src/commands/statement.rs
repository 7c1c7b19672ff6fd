//! A customer statement as a terminal table, or as the JSON, CSV (for Excel) and HTML
//! (for the customer) that `tally_invoicing::render` writes for the API too.

use anyhow::bail;
use tally_domain::Customer;
use tally_invoicing::render;
use tally_ledger::Statement;

/// Prints `statement` of `customer` in `format` (`text`, `json`, `csv` or `html`).
pub fn print(statement: &Statement, customer: &Customer, issuer: &str, format: &str) -> anyhow::Result<()> {
    let s = statement;
    let money = |a: rust_decimal::Decimal| s.currency.show(a);
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&render::statement_json(s))?),
        "csv" => print!("{}", render::statement_csv(s)),
        "html" => print!("{}", render::statement_html(s, customer, issuer)),
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
        other => bail!("--format: {other:?}: expected text, json, csv or html"),
    }
    Ok(())
}
