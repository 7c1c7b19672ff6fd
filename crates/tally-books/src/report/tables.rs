//! The report as tables of typed cells, the one shape both the CSV and the workbook
//! are written from (so a sheet and its CSV always hold the same figures).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_domain::Currency;

use super::Report;
use crate::BooksError;

/// One cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A day.
    Date(NaiveDate),
    /// A count.
    Count(u64),
    /// An amount in a currency.
    Money(Decimal, Currency),
    /// A rate or other plain number.
    Number(Decimal),
    /// Nothing (no reporting currency).
    Empty,
}

/// One table: a sheet of the workbook, a CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its name (`billed_by_plan`).
    pub name: &'static str,
    /// Its title, the sheet's name (at most 31 characters).
    pub title: &'static str,
    /// The column headings.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// As CSV: amounts with their currency's decimals, dates ISO, no thousands separators.
    pub fn csv(&self) -> Result<String, BooksError> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.columns)?;
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(t) => t.clone(),
                    Cell::Date(d) => d.to_string(),
                    Cell::Count(n) => n.to_string(),
                    Cell::Money(a, c) => c.show(*a),
                    Cell::Number(n) => n.normalize().to_string(),
                    Cell::Empty => String::new(),
                })
                .collect();
            writer.write_record(&cells)?;
        }
        let bytes = writer.into_inner().map_err(|e| BooksError::Csv(e.into_error().into()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn text(t: impl Into<String>) -> Cell {
    Cell::Text(t.into())
}

fn columns(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The reporting amount cell (empty without a reporting currency).
fn rep(report: &Report, amount: Option<Decimal>) -> Cell {
    match (amount, report.reporting_currency) {
        (Some(a), Some(c)) => Cell::Money(a, c),
        _ => Cell::Empty,
    }
}

/// Every table of `report`, in [`super::TABLES`] order.
pub fn all(report: &Report) -> Vec<Table> {
    let r = report.reporting_currency.map_or("reporting currency".to_owned(), |c| format!("in {c}"));
    let mut tables = Vec::new();
    tables.push(Table {
        name: "billed_by_customer",
        title: "Billed by customer",
        columns: columns(&[
            "Customer",
            "Name",
            "Currency",
            "Invoices",
            "Credit notes",
            "Subtotal",
            "Tax",
            "Total",
            &format!("Total {r}"),
        ]),
        rows: report
            .billed_by_customer
            .iter()
            .map(|b| {
                let m = |a| Cell::Money(a, b.currency);
                vec![
                    text(&b.customer),
                    text(&b.name),
                    text(b.currency.code()),
                    Cell::Count(b.invoices),
                    Cell::Count(b.credit_notes),
                    m(b.subtotal),
                    m(b.tax),
                    m(b.total),
                    rep(report, b.reporting_total),
                ]
            })
            .collect(),
    });
    for (name, title, rows, what) in [
        ("billed_by_plan", "Billed by plan", &report.billed_by_plan, "Plan"),
        ("billed_by_meter", "Billed by meter", &report.billed_by_meter, "Meter"),
    ] {
        tables.push(Table {
            name,
            title,
            columns: columns(&[what, "Currency", "Lines", "Amount before tax", &format!("Amount {r}")]),
            rows: rows
                .iter()
                .map(|g| {
                    vec![
                        text(&g.key),
                        text(g.currency.code()),
                        Cell::Count(g.lines),
                        Cell::Money(g.amount, g.currency),
                        rep(report, g.reporting_amount),
                    ]
                })
                .collect(),
        });
    }
    tables.push(Table {
        name: "collected",
        title: "Collected",
        columns: columns(&[
            "Customer",
            "Name",
            "Currency",
            "Payments",
            "Received",
            "Reversed",
            "Refunded",
            "Net",
            &format!("Net {r}"),
        ]),
        rows: report
            .collected
            .iter()
            .map(|c| {
                let m = |a| Cell::Money(a, c.currency);
                vec![
                    text(&c.customer),
                    text(&c.name),
                    text(c.currency.code()),
                    Cell::Count(c.payments),
                    m(c.received),
                    m(c.reversed),
                    m(c.refunded),
                    m(c.net),
                    rep(report, c.reporting_net),
                ]
            })
            .collect(),
    });
    tables.push(Table {
        name: "outstanding",
        title: "Outstanding",
        columns: columns(&[
            "Invoice",
            "Customer",
            "Name",
            "Issued",
            "Due",
            "Days overdue",
            "Bucket",
            "Currency",
            "Amount",
            "Owed",
            &format!("Owed {r}"),
        ]),
        rows: report
            .outstanding
            .iter()
            .map(|o| {
                vec![
                    text(&o.number),
                    text(&o.customer),
                    text(&o.name),
                    Cell::Date(o.issued),
                    Cell::Date(o.due),
                    Cell::Count(o.days_overdue.unsigned_abs()),
                    text(o.bucket),
                    text(o.currency.code()),
                    Cell::Money(o.amount, o.currency),
                    Cell::Money(o.owed, o.currency),
                    rep(report, o.reporting_owed),
                ]
            })
            .collect(),
    });
    let mut aging_columns = vec!["Currency".to_owned(), "Converted".to_owned()];
    aging_columns.extend(tally_ledger::AGING_BUCKETS.iter().map(|b| (*b).to_owned()));
    aging_columns.push("Total".into());
    tables.push(Table {
        name: "aging",
        title: "Aging",
        columns: aging_columns,
        rows: report
            .aging
            .iter()
            .map(|a| {
                let mut row = vec![text(a.currency.code()), text(if a.converted { "yes" } else { "no" })];
                row.extend(a.buckets.iter().map(|b| Cell::Money(b.amount, a.currency)));
                row.push(Cell::Money(a.total, a.currency));
                row
            })
            .collect(),
    });
    tables.push(Table {
        name: "credit_notes",
        title: "Credit notes",
        columns: columns(&[
            "Credit note",
            "Issued",
            "Customer",
            "Name",
            "Credits invoice",
            "Reason",
            "Currency",
            "Total",
            &format!("Total {r}"),
        ]),
        rows: report
            .credit_notes
            .iter()
            .map(|c| {
                vec![
                    text(&c.number),
                    Cell::Date(c.issued),
                    text(&c.customer),
                    text(&c.name),
                    text(&c.credits),
                    text(&c.reason),
                    text(c.currency.code()),
                    Cell::Money(c.total, c.currency),
                    rep(report, c.reporting_total),
                ]
            })
            .collect(),
    });
    tables.push(Table {
        name: "rates",
        title: "Exchange rates",
        columns: columns(&["From", "To", "Rate day", "Rate", "How", "Source", "Uses"]),
        rows: report
            .rates
            .iter()
            .map(|x| {
                vec![
                    text(x.currency.code()),
                    text(x.reporting.code()),
                    Cell::Date(x.on),
                    Cell::Number(x.rate),
                    text(&x.how),
                    text(x.source),
                    Cell::Count(x.uses),
                ]
            })
            .collect(),
    });
    tables.push(summary(report));
    tables
}

/// The totals of each currency, and in the reporting currency.
fn summary(report: &Report) -> Table {
    let mut per: std::collections::BTreeMap<Currency, [Decimal; 4]> = Default::default();
    for b in &report.billed_by_customer {
        per.entry(b.currency).or_default()[0] += b.total;
    }
    for c in &report.collected {
        per.entry(c.currency).or_default()[1] += c.net;
    }
    for o in &report.outstanding {
        per.entry(o.currency).or_default()[2] += o.owed;
    }
    for c in &report.credit_notes {
        per.entry(c.currency).or_default()[3] += c.total;
    }
    let mut rows: Vec<Vec<Cell>> = per
        .into_iter()
        .map(|(c, [billed, collected, owed, credited])| {
            vec![
                text(c.code()),
                Cell::Money(billed, c),
                Cell::Money(collected, c),
                Cell::Money(owed, c),
                Cell::Money(credited, c),
            ]
        })
        .collect();
    if let Some(r) = report.reporting_currency {
        let sum = |v: Vec<Option<Decimal>>| Cell::Money(v.into_iter().flatten().sum(), r);
        rows.push(vec![
            text(format!("all, in {r}")),
            sum(report.billed_by_customer.iter().map(|b| b.reporting_total).collect()),
            sum(report.collected.iter().map(|c| c.reporting_net).collect()),
            sum(report.outstanding.iter().map(|o| o.reporting_owed).collect()),
            sum(report.credit_notes.iter().map(|c| c.reporting_total).collect()),
        ]);
    }
    Table {
        name: "summary",
        title: "Summary",
        columns: columns(&["Currency", "Billed", "Collected", "Outstanding", "Credit notes"]),
        rows,
    }
}
