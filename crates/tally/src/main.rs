//! The `tally` command: a thin shell over the library crates.
//!
//! Each subcommand lives in `commands/`; this file only parses arguments and turns an
//! error into one clear line on stderr and a non-zero exit status.
//!
//! Its allocator is mimalloc: profiles of the books (100,000 invoices parsed and
//! written out) and of ingest spent a third of their time in glibc's malloc and
//! free; mimalloc is a well-kept allocator built for many small, short-lived
//! allocations across threads (docs/benchmarks.md has the before and after).
//! It is built without transparent huge pages (`no_thp`): where the kernel gives
//! them on request (`madvise`, Debian's default), mimalloc asked for them, and
//! zeroing a fresh 2 MiB page at each first touch took 44% of an invoice close's
//! samples (100,000 invoices: 8.7 s with them, 6.5 s without). On kernels set to
//! `always`, run with `MIMALLOC_ALLOW_THP=0` for the same effect.

mod commands;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tally: usage-based metering, rating and invoicing for AI/ML platforms.
#[derive(Debug, Parser)]
#[command(name = "tally", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the configured roles (ingest, invoicer, HTTP, metrics) until SIGTERM.
    Run(commands::run::RunArgs),
    /// Meter, rate and invoice a generated month of AI usage in one go (no servers needed).
    Demo(commands::demo::DemoArgs),
    /// Show or check the configuration of `tally run` and `tally demo`.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Price one subscription's aggregated usage for one period (dry run, no servers).
    Rate(commands::rate::RateArgs),
    /// Work with price catalogs.
    #[command(subcommand)]
    Catalog(commands::catalog::CatalogCommand),
    /// Create or upgrade the store's schema (also done at every start-up).
    Migrate(commands::migrate::MigrateArgs),
    /// Consume usage events from Kafka into the store, each billed exactly once.
    Ingest(commands::ingest::IngestArgs),
    /// Write generated AI usage to Kafka and print the totals the invoices must show.
    Produce(commands::produce::ProduceArgs),
    /// Load historical usage for a past range; issued periods it changes are corrected
    /// with credit notes and revisions, the others billed by the next close.
    Backfill(commands::backfill::BackfillArgs),
    /// Feed the dead letters through validation again (after a fix) and store the valid ones.
    ReplayDlq(commands::replay_dlq::ReplayArgs),
    /// Create, update, list and show customers (billing accounts).
    #[command(subcommand)]
    Customers(commands::customers::CustomersCommand),
    /// Subscribe customers to plans, change plans, end subscriptions.
    #[command(subcommand)]
    Subscriptions(commands::subscriptions::SubscriptionsCommand),
    /// Close billing periods into invoices; list, show and preview invoices.
    #[command(subcommand)]
    Invoice(commands::invoice::InvoiceCommand),
    /// Record payments against customers' invoices, reverse them, refund credit.
    #[command(subcommand)]
    Payments(commands::receivables::PaymentsCommand),
    /// Receivables: aging, overdue invoices, customer statements, write-offs.
    #[command(subcommand)]
    Receivables(commands::receivables::ReceivablesCommand),
    /// Accounting import files (QuickBooks, IIF, Xero, Zoho, FreshBooks) of a range of days.
    Export(commands::books::ExportArgs),
    /// Finance reports of a range of days: billed, collected, outstanding, credit notes,
    /// in original currencies and the reporting currency (JSON, CSV, Excel).
    Report(commands::books::ReportArgs),
    /// Exchange rates: load ECB or plain rates files, list what is loaded.
    #[command(subcommand)]
    Rates(commands::books::RatesCommand),
    /// Make API tokens for the HTTP API (their SHA-256 goes in the configuration).
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
}

fn main() -> ExitCode {
    // Test builds only: arms the fail points FAILPOINTS names (a process stopped
    // half-way through an act).
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    let cli = Cli::parse();
    // Long-running processes log what they do (`tally run` at its configured `log.level`);
    // one-shot commands only what went wrong.
    let default_level = match &cli.command {
        Command::Run(args) => args.log_level().unwrap_or_else(|| "info".to_owned()),
        Command::Ingest(_) => "info".to_owned(),
        _ => "warn".to_owned(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TALLY_LOG")
                .or_else(|_| tracing_subscriber::EnvFilter::try_new(&default_level))
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Run(args) => commands::run::run(&args),
        Command::Demo(args) => commands::demo::run(&args),
        Command::Config(cmd) => commands::config::run(&cmd),
        Command::Rate(args) => commands::rate::run(&args),
        Command::Catalog(cmd) => commands::catalog::run(&cmd),
        Command::Migrate(args) => commands::migrate::run(&args),
        Command::Ingest(args) => commands::ingest::run(&args),
        Command::Produce(args) => commands::produce::run(&args),
        Command::ReplayDlq(args) => commands::replay_dlq::run(&args),
        Command::Backfill(args) => commands::backfill::run(&args),
        Command::Customers(cmd) => commands::customers::run(&cmd),
        Command::Subscriptions(cmd) => commands::subscriptions::run(&cmd),
        Command::Invoice(cmd) => commands::invoice::run(&cmd),
        Command::Token(cmd) => commands::token::run(&cmd),
        Command::Export(args) => commands::books::export(&args),
        Command::Report(args) => commands::books::report(&args),
        Command::Rates(cmd) => commands::books::rates(&cmd),
        Command::Payments(cmd) => commands::receivables::payments(&cmd),
        Command::Receivables(cmd) => commands::receivables::receivables(&cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line: `outer: inner: root`.
fn one_line(err: &anyhow::Error) -> String {
    err.chain().map(|e| e.to_string().replace('\n', " ")).collect::<Vec<_>>().join(": ")
}
