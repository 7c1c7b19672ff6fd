//! What the demo shows: progress bars on the long phases, the invoices as JSON and
//! HTML files, and a summary (customers, events by outcome, revenue by plan and by
//! meter, the top customers), printed and saved as `summary.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::iter::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};
use rust_decimal::Decimal;
use serde_json::json;
use tally_domain::{Catalog, Customer};
use tally_invoicing::LineKind;
use tally_store::InvoiceRecord;

use super::feed::Fed;
use super::Header;

/// A progress bar on stderr (drawn only on a terminal).
pub fn bar(total: u64, what: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg:>20} [{bar:40}] {human_pos}/{human_len} ({per_sec}, {eta} left)")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what);
    bar
}

/// A spinner on stderr for a phase without a count.
pub fn spinner(what: &'static str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(what);
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// Seconds spent per phase.
pub struct Timing {
    /// Generating and ingesting.
    pub feed: f64,
    /// Closing the month.
    pub close: f64,
    /// The whole demo.
    pub total: f64,
}

/// The demo's figures.
pub struct Summary {
    customers: usize,
    fed: Fed,
    /// Distinct events stored for the month.
    distinct: u64,
    issued: usize,
    numbers: (String, String),
    /// Per currency: the invoices' total.
    totals: BTreeMap<String, Decimal>,
    /// Per (plan, currency): invoices and revenue.
    by_plan: BTreeMap<(String, String), (usize, Decimal)>,
    /// Per (meter or kind of line, currency): revenue.
    by_meter: BTreeMap<(String, String), Decimal>,
    /// The ten largest invoices: customer, name, currency, total.
    top: Vec<(String, String, String, Decimal)>,
}

impl Summary {
    /// Adds up the invoices.
    pub fn new(
        catalog: &Catalog,
        customers: &[Customer],
        records: &[InvoiceRecord],
        fed: &Fed,
        distinct: u64,
        issued: usize,
    ) -> Summary {
        let names: BTreeMap<&str, &str> = customers.iter().map(|c| (c.id.as_str(), c.name.as_str())).collect();
        let mut summary = Summary {
            customers: customers.len(),
            fed: fed.clone(),
            distinct,
            issued,
            numbers: Default::default(),
            totals: BTreeMap::new(),
            by_plan: BTreeMap::new(),
            by_meter: BTreeMap::new(),
            top: Vec::new(),
        };
        let mut numbers: Vec<&str> = records.iter().filter_map(|r| r.number.as_deref()).collect();
        numbers.sort_unstable();
        summary.numbers = (
            numbers.first().map(|s| (*s).to_owned()).unwrap_or_default(),
            numbers.last().map(|s| (*s).to_owned()).unwrap_or_default(),
        );
        for record in records {
            let currency = record.currency.clone();
            *summary.totals.entry(currency.clone()).or_default() += record.total;
            let Ok(invoice) = tally_invoicer::read_invoice(record) else { continue };
            let mut plans = Vec::new();
            for line in &invoice.lines {
                let plan = line.plan.to_string();
                if !plans.contains(&plan) {
                    plans.push(plan.clone());
                    summary.by_plan.entry((plan.clone(), currency.clone())).or_default().0 += 1;
                }
                summary.by_plan.entry((plan, currency.clone())).or_default().1 += line.amount;
                *summary.by_meter.entry((meter_of(catalog, line), currency.clone())).or_default() += line.amount;
            }
            let name = names.get(record.customer.as_str()).copied().unwrap_or_default().to_owned();
            summary.top.push((record.customer.to_string(), name, currency, record.total));
        }
        summary.top.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| a.0.cmp(&b.0)));
        summary.top.truncate(10);
        summary
    }

    /// Saves the figures as JSON (decimals as strings).
    pub fn write_json(&self, path: &Path, timing: &Timing) -> anyhow::Result<()> {
        let f = &self.fed;
        let body = json!({
            "customers": self.customers,
            "messages": { "sent": f.sent, "valid": f.valid, "duplicates": f.duplicates, "malformed": f.malformed },
            "events": { "accepted": f.accepted, "distinct": self.distinct, "duplicates": f.accepted.saturating_sub(self.distinct), "rejected": f.rejected },
            "invoices": { "issued": self.issued, "first": self.numbers.0, "last": self.numbers.1 },
            "totals": self.totals.iter().map(|(c, t)| (c.clone(), json!(t.to_string()))).collect::<serde_json::Map<_, _>>(),
            "revenue_by_plan": self.by_plan.iter().map(|((p, c), (n, t))| json!({"plan": p, "currency": c, "invoices": n, "revenue": t.to_string()})).collect::<Vec<_>>(),
            "revenue_by_meter": self.by_meter.iter().map(|((m, c), t)| json!({"meter": m, "currency": c, "revenue": t.to_string()})).collect::<Vec<_>>(),
            "top_customers": self.top.iter().map(|(id, name, c, t)| json!({"customer": id, "name": name, "currency": c, "total": t.to_string()})).collect::<Vec<_>>(),
            "seconds": { "ingest": timing.feed, "close": timing.close, "total": timing.total },
        });
        std::fs::write(path, serde_json::to_string_pretty(&body)? + "\n")
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// The meter a line bills, or what else it is.
fn meter_of(catalog: &Catalog, line: &tally_invoicing::InvoiceLine) -> String {
    match line.kind {
        LineKind::Usage | LineKind::LateUsage => catalog
            .plan(line.plan.as_str())
            .and_then(|p| p.charges.iter().find(|c| c.key.as_str() == line.key))
            .map_or_else(|| line.key.clone(), |c| c.meter.to_string()),
        LineKind::Fee => "(subscription fees)".to_owned(),
        LineKind::MinimumCommitment => "(minimum commitment)".to_owned(),
        LineKind::FeeAdjustment => "(fee adjustments)".to_owned(),
        LineKind::Credit => "(credits)".to_owned(),
    }
}

/// Writes every invoice as `<number>.json`, `<number>.html` and `<number>.pdf`; the
/// PDFs no font could be found for are counted and named in a warning.
pub fn write_invoices(
    records: &[InvoiceRecord],
    customers: &[Customer],
    dir: &Path,
    (issuer, fonts): (&tally_invoicing::document::Issuer, &tally_pdf::Fonts),
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let by_id: BTreeMap<&str, &Customer> = customers.iter().map(|c| (c.id.as_str(), c)).collect();
    let bar = bar(records.len() as u64, "writing invoices");
    let documents = records.iter().map(tally_invoicer::read_invoice).collect::<Result<Vec<_>, _>>()?;
    // The paper trail links documents of one subscription: look only there.
    let mut by_subscription: BTreeMap<&str, Vec<tally_invoicing::Invoice>> = BTreeMap::new();
    for doc in &documents {
        by_subscription.entry(doc.subscription.as_str()).or_default().push(doc.clone());
    }
    // Each invoice's files are independent: written on every core with rayon, as the
    // invoicer's books parse bodies (order kept, the first error stops it); a PDF is
    // most of the time, 300 of them about half a second on one core.
    let write_one = |record: &InvoiceRecord,
                     invoice: &tally_invoicing::Invoice|
     -> anyhow::Result<Option<(String, String)>> {
        let name = record.number.clone().unwrap_or_else(|| record.id.replace(['@', ':'], "_"));
        let json = serde_json::to_string_pretty(invoice)? + "\n";
        std::fs::write(dir.join(format!("{name}.json")), json).with_context(|| format!("writing invoice {name}"))?;
        let mut no_pdf = None;
        if let Some(customer) = by_id.get(invoice.customer.as_str()) {
            let siblings = by_subscription.get(invoice.subscription.as_str()).map_or(&[][..], Vec::as_slice);
            let trail = tally_invoicing::Trail::of(invoice, siblings);
            let sheet = tally_invoicing::document::sheet(invoice, customer, issuer, &trail, None)?;
            std::fs::write(dir.join(format!("{name}.html")), tally_invoicing::render::html(&sheet))
                .with_context(|| format!("writing invoice {name}"))?;
            match tally_pdf::pdf(&sheet, fonts) {
                Ok(pdf) => std::fs::write(dir.join(format!("{name}.pdf")), pdf)
                    .with_context(|| format!("writing invoice {name}"))?,
                Err(e) => no_pdf = Some((name.clone(), e.to_string())),
            }
        }
        bar.inc(1);
        Ok(no_pdf)
    };
    let written = records
        .par_iter()
        .zip(documents.par_iter())
        .map(|(record, invoice)| write_one(record, invoice))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let no_pdf: Vec<(String, String)> = written.into_iter().flatten().collect();
    bar.finish_and_clear();
    // A machine without a CJK font cannot draw the Tokyo customers' names: the demo
    // says so and goes on (their HTML and JSON are written; `tally invoice show
    // --format pdf` refuses the same way until the font is there).
    if let Some((first, why)) = no_pdf.first() {
        tracing::warn!(count = no_pdf.len(), first = %first, "invoices without a PDF: {why}");
        eprintln!("warning: {} invoices have no PDF (their HTML is written), {first} the first: {why}", no_pdf.len());
    }
    Ok(())
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Prints the summary.
pub fn print(summary: &Summary, timing: &Timing, header: &Header, invoices: &Path) {
    let f = &summary.fed;
    println!("Tally demo: {} of AI usage, seed {}, {}", header.month_name(), header.seed, header.mode);
    println!("store: {}", header.store);
    println!();
    println!("customers   {}", summary.customers);
    println!(
        "messages    {} sent: {} events, {} re-deliveries, {} malformed",
        thousands(f.sent),
        thousands(f.valid),
        thousands(f.duplicates),
        thousands(f.malformed)
    );
    println!(
        "events      {} accepted ({} billed once each, {} duplicates dropped), {} rejected with a reason",
        thousands(f.accepted),
        thousands(summary.distinct),
        thousands(f.accepted.saturating_sub(summary.distinct)),
        thousands(f.rejected)
    );
    println!("invoices    {} issued, {} .. {}", summary.issued, summary.numbers.0, summary.numbers.1);
    let totals: Vec<String> = summary.totals.iter().map(|(c, t)| format!("{t} {c}")).collect();
    println!("billed      {}", totals.join(", "));
    println!();
    println!("Revenue by plan");
    let rows: Vec<[String; 4]> =
        summary.by_plan.iter().map(|((p, c), (n, t))| [p.clone(), c.clone(), n.to_string(), t.to_string()]).collect();
    crate::commands::table::print(&["plan", "currency", "invoices", "revenue"], &rows);
    println!();
    println!("Revenue by meter");
    let rows: Vec<[String; 3]> =
        summary.by_meter.iter().map(|((m, c), t)| [m.clone(), c.clone(), t.to_string()]).collect();
    crate::commands::table::print(&["meter", "currency", "revenue"], &rows);
    println!();
    println!("Top customers");
    let rows: Vec<[String; 4]> =
        summary.top.iter().map(|(id, name, c, t)| [id.clone(), name.clone(), c.clone(), t.to_string()]).collect();
    crate::commands::table::print(&["customer", "name", "currency", "invoice total"], &rows);
    println!();
    let rate = f.sent as f64 / timing.feed.max(1e-9);
    println!(
        "took {:.1} s: ingest {:.1} s ({} messages/s), close {:.1} s",
        timing.total,
        timing.feed,
        thousands(rate as u64),
        timing.close
    );
    println!("invoices (JSON, HTML and PDF): {}", invoices.display());
}
