//! `tally export`, `tally report` and `tally rates`: thin over `tally_invoicer::books`
//! (what is read) and `tally_books` (what is written).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use tally_books::exports::{self, ExportOptions, Format};
use tally_store::RateStore;

use super::settings::{open_store_on, ConfigArgs};

/// The days of an export or report: `--from`/`--to`, or `--month`.
#[derive(Debug, Clone, Args)]
pub struct Days {
    /// First day (UTC).
    #[arg(long, requires = "to", conflicts_with = "month")]
    from: Option<NaiveDate>,
    /// Last day, included.
    #[arg(long, requires = "from")]
    to: Option<NaiveDate>,
    /// A whole month, e.g. 2026-11 (instead of --from and --to).
    #[arg(long, value_name = "YYYY-MM")]
    month: Option<String>,
}

impl Days {
    /// The first and last day.
    pub fn range(&self) -> anyhow::Result<(NaiveDate, NaiveDate)> {
        match (&self.month, self.from, self.to) {
            (Some(month), _, _) => month_days(month),
            (None, Some(from), Some(to)) => Ok((from, to)),
            _ => bail!("give --from and --to, or --month"),
        }
    }
}

/// The first and last day of `month` (`2026-11`).
pub fn month_days(month: &str) -> anyhow::Result<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .with_context(|| format!("--month {month:?}: expected YYYY-MM"))?;
    let next = first.checked_add_months(chrono::Months::new(1)).context("--month: out of range")?;
    Ok((first, next.pred_opt().unwrap_or(first)))
}

/// `tally export FORMAT`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// quickbooks (Online), iif (QuickBooks Desktop), xero, zoho or freshbooks.
    #[arg(value_parser = ["quickbooks", "iif", "xero", "zoho", "freshbooks"])]
    format: String,
    #[command(flatten)]
    days: Days,
    /// Only documents and payments in this currency (an IIF file holds one).
    #[arg(long)]
    currency: Option<String>,
    /// The directory the files are written to (created if missing).
    #[arg(long, default_value = "tally-export")]
    output: PathBuf,
    #[command(flatten)]
    config: ConfigArgs,
}

/// `tally report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    days: Days,
    /// json, csv (one table: --table) or xlsx (every table, one sheet each).
    #[arg(long, default_value = "json", value_parser = ["json", "csv", "xlsx"])]
    format: String,
    /// The table of a CSV: billed_by_customer, billed_by_plan, billed_by_meter,
    /// collected, outstanding, aging, credit_notes, rates or summary.
    #[arg(long, default_value = "summary")]
    table: String,
    /// Write to this file (an xlsx needs one).
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

/// `tally rates ...`.
#[derive(Debug, Subcommand)]
pub enum RatesCommand {
    /// Load a rates file: the ECB's reference rates (eurofxref.csv, eurofxref-hist.csv)
    /// or `date,base,quote,rate` rows; `-` reads standard input.
    Load {
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List the rates loaded, as `date,base,quote,rate` CSV.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// The `[exports]` settings and a currency filter.
pub fn export_options(settings: &tally_config::Settings, currency: Option<&str>) -> anyhow::Result<ExportOptions> {
    let currency = currency.map(|c| c.parse().with_context(|| format!("--currency {c:?}"))).transpose()?;
    let e = &settings.exports;
    Ok(ExportOptions {
        date_order: e.date_order.clone(),
        receivable_account: e.receivable_account.clone(),
        deposit_account: e.deposit_account.clone(),
        tax_account: e.tax_account.clone(),
        currency,
    })
}

/// Runs `tally export`.
pub fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let format = Format::named(&args.format).context("unknown format")?;
    with_books(&args.config, &args.days, |settings, source| export_files(args, format, settings, source))
}

/// Reads the books of `days` under `config` and hands them to `then`.
fn with_books<T>(
    config: &ConfigArgs,
    days: &Days,
    then: impl FnOnce(&tally_config::Settings, &tally_books::Source<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let settings = config.load()?;
    let catalog = super::load_catalog(&settings.catalog)?;
    let runtime = super::settings::runtime()?;
    let store = open_store_on(&runtime, &settings)?;
    let (from, to) = days.range()?;
    let terms = super::receivables::terms(&settings)?;
    let source = runtime.block_on(tally_invoicer::books::source(&store, &catalog, from, to, terms))?;
    then(&settings, &source)
}

fn export_files(
    args: &ExportArgs,
    format: Format,
    settings: &tally_config::Settings,
    source: &tally_books::Source<'_>,
) -> anyhow::Result<ExitCode> {
    let (from, to) = (source.range.from, source.range.to);
    let export = exports::export(format, source, &export_options(settings, args.currency.as_deref())?)?;
    std::fs::create_dir_all(&args.output).with_context(|| format!("creating {}", args.output.display()))?;
    for file in &export.files {
        let path = args.output.join(&file.name);
        std::fs::write(&path, &file.content).with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    eprintln!(
        "{} invoices, {} credit notes, {} payments from {from} to {to}",
        export.invoices, export.credit_notes, export.payments
    );
    for note in &export.notes {
        eprintln!("note: {note}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `tally report`.
pub fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    if args.format == "xlsx" && args.output.is_none() {
        bail!("an Excel workbook needs --output FILE.xlsx");
    }
    let report = with_books(&args.config, &args.days, |_, source| Ok(tally_books::report::build(source)?))?;
    let bytes = match args.format.as_str() {
        "json" => serde_json::to_vec_pretty(&report)?,
        "csv" => tally_books::report::csv(&report, &args.table)?
            .with_context(|| {
                format!("--table {:?}: expected one of {}", args.table, tally_books::report::TABLES.join(", "))
            })?
            .into_bytes(),
        _ => tally_books::report::workbook(&report)?,
    };
    match &args.output {
        Some(path) => std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::Write::write_all(&mut std::io::stdout(), &bytes).context("writing the report")?,
    }
    if report.reporting_currency.is_none() && args.output.is_some() {
        eprintln!("note: no reporting.currency is set: figures are in their original currencies only");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `tally rates ...`.
pub fn rates(command: &RatesCommand) -> anyhow::Result<ExitCode> {
    let runtime = super::settings::runtime()?;
    match command {
        RatesCommand::Load { file, config } => {
            let settings = config.load()?;
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading standard input")?
            } else {
                std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
            };
            let loaded = tally_domain::fx::file::parse(&text).with_context(|| file.display().to_string())?;
            let store = open_store_on(&runtime, &settings)?;
            let changed = runtime.block_on(store.put_rates(&loaded.rates))?;
            let days: std::collections::BTreeSet<NaiveDate> = loaded.rates.iter().map(|r| r.day).collect();
            let span = match (days.first(), days.last()) {
                (Some(a), Some(b)) => format!(" from {a} to {b}"),
                _ => String::new(),
            };
            println!("{} rates ({} layout){span}: {changed} new or changed", loaded.rates.len(), loaded.layout);
            if !loaded.skipped.is_empty() {
                eprintln!("skipped columns (not current ISO 4217 currencies): {}", loaded.skipped.join(", "));
            }
        }
        RatesCommand::List { config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            println!("date,base,quote,rate");
            for r in runtime.block_on(store.rates())? {
                println!("{},{},{},{}", r.day, r.base, r.quote, r.rate);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
