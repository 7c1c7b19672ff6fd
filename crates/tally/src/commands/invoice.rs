//! `tally invoice`: close due billing periods, list and show invoices, preview the
//! current period.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use tally_domain::{CustomerId, SubscriptionId};
use tally_store::{InvoiceFilter, InvoiceRecord, InvoiceStore};

use super::settings::{open_store_on, span_flag, text_flag, ConfigArgs};

/// `tally invoice ...`
#[derive(Debug, Subcommand)]
pub enum InvoiceCommand {
    /// Close every due period: issue invoices for periods ended more than the grace
    /// period ago, refresh drafts for the ones within it. Safe to run again.
    Close {
        /// Close as of this instant (RFC 3339; default: now).
        #[arg(long)]
        now: Option<DateTime<Utc>>,
        /// Minutes after a period's end before its invoice is issued, late events still
        /// counting (sets `invoicer.grace`).
        #[arg(long)]
        grace_minutes: Option<i64>,
        /// Invoice numbers: this prefix and a sequence (sets `invoicer.number_prefix`).
        #[arg(long)]
        number_prefix: Option<String>,
        /// Days back that late events are billed from issued periods (sets
        /// `invoicer.late_window`; at most `ingest.late_window`).
        #[arg(long)]
        late_window_days: Option<i64>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List invoices (a table, or JSON lines with --json).
    List {
        /// Only this customer's.
        #[arg(long)]
        customer: Option<String>,
        /// Only this subscription's.
        #[arg(long)]
        subscription: Option<String>,
        /// Only in this state: draft, issued or void.
        #[arg(long, value_parser = parse_state)]
        state: Option<tally_domain::InvoiceState>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Show one invoice: JSON, or the HTML page or PDF a customer receives (a PDF goes
    /// to --output, or to standard output when it is not a terminal).
    Show {
        /// The invoice's id or number.
        #[arg(long)]
        id: String,
        /// json, html or pdf.
        #[arg(long, default_value = "json", value_parser = ["json", "html", "pdf"])]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// The issuer's name on documents (sets `issuer.name`).
        #[arg(long)]
        issuer: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Export invoices (or, with --lines, their lines) as CSV for Excel and accounting software.
    Export {
        /// One row per line instead of one per invoice.
        #[arg(long)]
        lines: bool,
        /// Only this customer's.
        #[arg(long)]
        customer: Option<String>,
        /// Only in this state: draft, issued or void.
        #[arg(long, value_parser = parse_state)]
        state: Option<tally_domain::InvoiceState>,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Void an issued invoice with a credit note (every line negated, its own number);
    /// with --revise, also issue a revised invoice from the usage as it is now.
    Void {
        /// The invoice's id or number.
        #[arg(long)]
        id: String,
        /// Also issue a revised invoice for the same period.
        #[arg(long)]
        revise: bool,
        /// Invoice numbers: this prefix and a sequence (sets `invoicer.number_prefix`).
        #[arg(long)]
        number_prefix: Option<String>,
        /// Credit note numbers: this prefix and a sequence (sets `invoicer.credit_note_prefix`).
        #[arg(long)]
        credit_prefix: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Give back part of an issued invoice with a credit note: an amount, or whole
    /// lines; with a reason (and a memo) the customer and the books read. The invoice
    /// stays issued; its credit goes to what it still owes.
    Credit {
        /// The invoice's id or number.
        #[arg(long)]
        id: String,
        /// The amount to give back, in the invoice's currency (e.g. 250.00).
        #[arg(long, conflicts_with = "lines", required_unless_present = "lines")]
        amount: Option<rust_decimal::Decimal>,
        /// A line to give back whole, by its position (from 0, as `invoice show` lists
        /// them); repeat for more.
        #[arg(long = "line", value_name = "N")]
        lines: Vec<usize>,
        /// Why (a dispute, an outage, a goodwill gesture).
        #[arg(long)]
        reason: String,
        /// A note kept with the credit note.
        #[arg(long, default_value = "")]
        memo: String,
        /// Credit note numbers: this prefix and a sequence (sets `invoicer.credit_note_prefix`).
        #[arg(long)]
        credit_prefix: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Bill again the period of an invoice voided without a revision: a revised invoice
    /// from the usage as it is now; the customer's credit goes to it first.
    Rebill {
        /// The voided invoice's id or number.
        #[arg(long)]
        id: String,
        /// Invoice numbers: this prefix and a sequence (sets `invoicer.number_prefix`).
        #[arg(long)]
        number_prefix: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// The current period's invoice-to-date of a customer (nothing is stored).
    Preview {
        /// The customer's id.
        #[arg(long)]
        customer: String,
        /// As of this instant (default: now).
        #[arg(long)]
        now: Option<DateTime<Utc>>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// The evidence behind a usage line, for a dispute: the events' total over its
    /// service period, by day in the customer's zone, by dimension, and sample events.
    Explain {
        /// The invoice's id or number.
        #[arg(long)]
        id: String,
        /// The line, counting from 1 as the invoice prints them.
        #[arg(long)]
        line: usize,
        /// The whole evidence as JSON (as `GET /v1/invoices/{id}/lines/{line}/explain`).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Usage stored that no invoice will bill, by customer, meter and reason: an
    /// unknown customer id, outside every subscription, or no charge picks it up.
    Unbilled {
        /// From this instant (RFC 3339).
        #[arg(long)]
        from: DateTime<Utc>,
        /// Until this instant (default: now).
        #[arg(long)]
        to: Option<DateTime<Utc>>,
        /// One JSON object per row.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// Runs `tally invoice ...`.
pub fn run(command: &InvoiceCommand) -> anyhow::Result<ExitCode> {
    let runtime = super::settings::runtime()?;
    match command {
        InvoiceCommand::Close { now, grace_minutes, number_prefix, late_window_days, config } => {
            let settings = config.load_with(flags([
                span_flag("invoicer.grace", *grace_minutes, "m", "--grace-minutes"),
                text_flag("invoicer.number_prefix", number_prefix, "--number-prefix"),
                span_flag("invoicer.late_window", *late_window_days, "days", "--late-window-days"),
            ]))?;
            let catalog = super::load_catalog(&settings.catalog)?;
            let store = open_store_on(&runtime, &settings)?;
            let options = super::settings::close_options(
                &settings.invoicer,
                super::settings::reporting(&settings)?,
                now.unwrap_or_else(Utc::now),
            );
            // While another process closes, wait for it (its invoices are its to
            // report), then close what is left: usually nothing.
            let waited = std::time::Instant::now();
            let summary = loop {
                match runtime.block_on(tally_invoicer::close(&store, &catalog, &options)) {
                    Err(err @ tally_invoicer::InvoicerError::CloseRunning { .. }) if waited.elapsed() < CLOSE_WAIT => {
                        if waited.elapsed() < std::time::Duration::from_secs(1) {
                            eprintln!("{err}: waiting for it");
                        }
                        std::thread::sleep(std::time::Duration::from_secs(1));
                    }
                    done => break done.context("closing")?,
                }
            };
            let totals: Vec<String> = summary.issued_total.iter().map(|(c, t)| format!("{t} {c}")).collect();
            println!(
                "issued {} invoices ({}), {} drafts, {} periods closed already",
                summary.issued.len(),
                if totals.is_empty() { "nothing".to_owned() } else { totals.join(", ") },
                summary.drafts,
                summary.already_closed
            );
            if !summary.failed.is_empty() {
                for (subscription, why) in &summary.failed {
                    eprintln!("not closed: subscription {subscription}: {why}");
                }
                eprintln!(
                    "{} subscriptions could not be closed (the others were); fix them and run again",
                    summary.failed.len()
                );
                return Ok(ExitCode::FAILURE);
            }
        }
        InvoiceCommand::List { customer, subscription, state, json, config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            let filter = InvoiceFilter {
                customer: customer.clone().map(CustomerId::new),
                subscription: subscription.clone().map(SubscriptionId::new),
                state: *state,
                ..Default::default()
            };
            let invoices = runtime.block_on(store.invoices(&filter))?;
            if *json {
                for record in &invoices {
                    println!("{}", serde_json::to_string(&body(record)?)?);
                }
            } else {
                let rows: Vec<[String; 7]> = invoices
                    .iter()
                    .map(|r| {
                        [
                            r.number.clone().unwrap_or_else(|| "-".into()),
                            r.id.clone(),
                            r.customer.to_string(),
                            r.period.start().to_rfc3339(),
                            r.state.name().to_owned(),
                            r.currency.clone(),
                            r.total.to_string(),
                        ]
                    })
                    .collect();
                super::table::print(&["number", "id", "customer", "period start", "state", "currency", "total"], &rows);
            }
        }
        InvoiceCommand::Show { id, format, output, issuer, config } => {
            let settings = config.load_with(flags([text_flag("issuer.name", issuer, "--issuer")]))?;
            let store = open_store_on(&runtime, &settings)?;
            let record = runtime
                .block_on(tally_invoicer::find_invoice(&store, id))?
                .with_context(|| format!("no invoice with id or number {id}"))?;
            let bytes = if format == "json" {
                (serde_json::to_string_pretty(&body(&record)?)? + "\n").into_bytes()
            } else {
                let invoice = tally_invoicer::read_invoice(&record)?;
                let issuer = super::documents::issuer(&settings)?;
                let sheet = runtime.block_on(tally_invoicer::document::sheet_of(&store, &invoice, &issuer))?;
                if format == "pdf" {
                    let fonts = super::documents::fonts(&settings)?;
                    tally_pdf::pdf(&sheet, &fonts).with_context(|| format!("the PDF of {id}"))?
                } else {
                    tally_invoicing::render::html(&sheet).into_bytes()
                }
            };
            match output {
                Some(path) => std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?,
                None if format == "pdf" && std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
                    anyhow::bail!("a PDF is not for a terminal: give --output FILE or redirect standard output")
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
            }
        }
        InvoiceCommand::Export { lines, customer, state, output, config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            let filter =
                InvoiceFilter { customer: customer.clone().map(CustomerId::new), state: *state, ..Default::default() };
            let invoices = runtime
                .block_on(store.invoices(&filter))?
                .iter()
                .map(tally_invoicer::read_invoice)
                .collect::<Result<Vec<_>, _>>()?;
            let csv = if *lines {
                tally_invoicing::render::lines_csv(&invoices)
            } else {
                tally_invoicing::render::invoices_csv(&invoices)
            };
            match output {
                Some(path) => std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?,
                None => print!("{csv}"),
            }
        }
        InvoiceCommand::Rebill { id, number_prefix, config } => {
            let settings =
                config.load_with(flags([text_flag("invoicer.number_prefix", number_prefix, "--number-prefix")]))?;
            let catalog = super::load_catalog(&settings.catalog)?;
            let store = open_store_on(&runtime, &settings)?;
            let terms = super::receivables::terms(&settings)?;
            let prefix = &settings.invoicer.number_prefix;
            let (_, number) =
                runtime.block_on(tally_invoicer::rebill(&store, &catalog, id, Utc::now(), prefix, terms))?;
            println!("billed the period of {id} again as {number}");
        }
        InvoiceCommand::Credit { id, amount, lines, reason, memo, credit_prefix, config } => {
            let settings = config.load_with(flags([text_flag(
                "invoicer.credit_note_prefix",
                credit_prefix,
                "--credit-prefix",
            )]))?;
            let catalog = super::load_catalog(&settings.catalog)?;
            let store = open_store_on(&runtime, &settings)?;
            let terms = super::receivables::terms(&settings)?;
            let credit_prefix = &settings.invoicer.credit_note_prefix;
            let what = match amount {
                Some(amount) => tally_invoicer::Credit::Amount(*amount),
                None => tally_invoicer::Credit::Lines(lines.clone()),
            };
            let now = Utc::now();
            let done = runtime.block_on(tally_invoicer::credit(
                &store,
                &catalog,
                id,
                &what,
                reason,
                memo,
                now,
                credit_prefix,
                terms,
            ))?;
            let (note, invoice) = (&done.credit_note.1, &done.invoice);
            if !done.issued {
                println!("credit note {note} was issued already for this; nothing changed");
            }
            let money = |a| done.currency.show(a);
            let (amount, owed, currency) = (money(done.amount), money(done.owed), done.currency);
            println!("credit note {note}: {amount} {currency} back on {invoice} (still owed: {owed} {currency})");
        }
        InvoiceCommand::Void { id, revise, number_prefix, credit_prefix, config } => {
            let settings = config.load_with(flags([
                text_flag("invoicer.number_prefix", number_prefix, "--number-prefix"),
                text_flag("invoicer.credit_note_prefix", credit_prefix, "--credit-prefix"),
            ]))?;
            let catalog = super::load_catalog(&settings.catalog)?;
            let store = open_store_on(&runtime, &settings)?;
            let invoicer = &settings.invoicer;
            let prefixes = (invoicer.number_prefix.as_str(), invoicer.credit_note_prefix.as_str());
            let terms = super::receivables::terms(&settings)?;
            let done =
                runtime.block_on(tally_invoicer::void(&store, &catalog, id, *revise, Utc::now(), prefixes, terms))?;
            let mut line = format!("voided {} with credit note {}", done.voided, done.credit_note.1);
            if let Some((_, number)) = &done.revision {
                line.push_str(&format!("; revised as {number}"));
            }
            println!("{line}");
        }
        InvoiceCommand::Explain { id, line, json, config } => {
            let settings = config.load()?;
            let catalog = super::load_catalog(&settings.catalog)?;
            let store = open_store_on(&runtime, &settings)?;
            let e = runtime.block_on(tally_invoicer::explain::explain(&store, &catalog, id, *line))?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                let s = |k: &str| e[k].as_str().unwrap_or("-").to_owned();
                println!(
                    "{} line {}: charge {} of plan {} ({})",
                    s("number"),
                    e["line"],
                    s("charge"),
                    s("plan"),
                    s("kind")
                );
                println!(
                    "meter {} ({} of {} events), filter {}",
                    s("meter"),
                    s("aggregation"),
                    s("event_type"),
                    e["filter"]
                );
                let period = &e["service_period"];
                println!("service period {} to {} ({})", period["start"], period["end"], s("timezone"));
                println!(
                    "billed quantity {}; the stored events add up to {}",
                    s("billed_quantity"),
                    s("events_quantity")
                );
                println!("{}", s("note"));
                let rows = |key: &str, label: &dyn Fn(&serde_json::Value) -> String| -> Vec<[String; 2]> {
                    e[key]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| [label(r), r["quantity"].as_str().unwrap_or("").to_owned()])
                        .collect()
                };
                println!();
                super::table::print(
                    &["day", "quantity"],
                    &rows("by_day", &|r| r["date"].as_str().unwrap_or("").to_owned()),
                );
                println!();
                super::table::print(
                    &["dimensions", "quantity"],
                    &rows("by_dimension", &|r| r["dimensions"].to_string()),
                );
                println!();
                let samples: Vec<[String; 4]> = e["sample_events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| {
                        let f = |k: &str| x[k].as_str().unwrap_or("").to_owned();
                        [f("time"), f("source"), f("id"), x["properties"].to_string()]
                    })
                    .collect();
                super::table::print(&["time", "source", "id", "properties"], &samples);
            }
        }
        InvoiceCommand::Unbilled { from, to, json, config } => {
            let settings = config.load()?;
            let catalog = super::load_catalog(&settings.catalog)?;
            let store = open_store_on(&runtime, &settings)?;
            let to = to.unwrap_or_else(Utc::now);
            let range = tally_domain::Period::new(*from, to).map_err(|e| anyhow::anyhow!("--from/--to: {e}"))?;
            let rows = runtime.block_on(tally_invoicer::unbilled::unbilled(&store, &catalog, &range))?;
            let dims =
                |d: &tally_domain::Dimensions| d.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
            if *json {
                for r in &rows {
                    let line = serde_json::json!({
                        "customer": r.customer.as_str(), "reason": r.reason.name(), "meter": r.meter,
                        "plan": r.plan.as_ref().map(|p| p.as_str()), "dimensions": r.dimensions,
                        "quantity": r.quantity.normalize().to_string(),
                    });
                    println!("{line}");
                }
            } else {
                let table: Vec<[String; 6]> = rows
                    .iter()
                    .map(|r| {
                        [
                            r.customer.to_string(),
                            r.reason.name().to_owned(),
                            r.meter.clone(),
                            r.plan.as_ref().map_or_else(|| "-".to_owned(), |p| p.to_string()),
                            dims(&r.dimensions),
                            r.quantity.normalize().to_string(),
                        ]
                    })
                    .collect();
                super::table::print(&["customer", "reason", "meter", "plan", "dimensions", "quantity"], &table);
            }
        }
        InvoiceCommand::Preview { customer, now, config } => {
            let settings = config.load()?;
            let catalog = super::load_catalog(&settings.catalog)?;
            let store = open_store_on(&runtime, &settings)?;
            let customer = CustomerId::new(customer.clone());
            let now = now.unwrap_or_else(Utc::now);
            let invoices = runtime.block_on(tally_invoicer::preview(&store, &catalog, &customer, now))?;
            anyhow::ensure!(!invoices.is_empty(), "customer {customer} has no active subscription (or does not exist)");
            println!("{}", serde_json::to_string_pretty(&invoices)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The stored invoice JSON with the store's number and state (the columns are the truth).
fn body(record: &InvoiceRecord) -> anyhow::Result<serde_json::Value> {
    let mut body: serde_json::Value =
        serde_json::from_str(&record.body).with_context(|| format!("invoice {}: unreadable body", record.id))?;
    body["number"] = record.number.clone().map_or(serde_json::Value::Null, serde_json::Value::String);
    body["state"] = serde_json::Value::String(record.state.name().to_owned());
    Ok(body)
}

/// How long `tally invoice close` waits for a close another process is running.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// `--state`: one of the states' names.
fn parse_state(text: &str) -> Result<tally_domain::InvoiceState, String> {
    tally_domain::InvoiceState::from_name(text).ok_or_else(|| format!("{text:?}: expected draft, issued or void"))
}

/// The flags given, as overrides.
fn flags<const N: usize>(given: [Option<tally_config::Override>; N]) -> Vec<tally_config::Override> {
    given.into_iter().flatten().collect()
}
