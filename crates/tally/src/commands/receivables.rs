//! `tally payments` and `tally receivables`: what billing staff do after an invoice is
//! issued (record a payment, reverse it, refund credit, write off an invoice) and what
//! they read (aging, overdue invoices, a customer's statement), over the same library
//! calls as the HTTP API (`tally_invoicer::receivables`).

use std::process::ExitCode;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use rust_decimal::Decimal;
use tally_domain::{Currency, CustomerId};
use tally_invoicer::receivables::{self, On, Terms};
use tally_ledger::AGING_BUCKETS;
use tally_store::{AccountStore, AnyStore};

use super::settings::{open_store_on, ConfigArgs};

/// The customer and where its ledger is.
#[derive(Debug, Args)]
pub struct Account {
    /// The customer's id.
    #[arg(long)]
    customer: String,
    #[command(flatten)]
    config: ConfigArgs,
}

/// The account opened: its store, the customer and its currency, and the horizon money
/// acts are dated within (one read of the settings for all of them).
struct Opened {
    store: AnyStore,
    customer: CustomerId,
    currency: Currency,
    horizon: tally_domain::DateHorizon,
    /// Who documents name as the issuer (`issuer.name`).
    issuer: String,
}

/// `day` (the act's `--date`) lies within the accounts' horizon: a payment "received"
/// centuries ago is a typo, not a receipt.
fn within(horizon: &tally_domain::DateHorizon, day: NaiveDate) -> anyhow::Result<()> {
    let at = day.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc();
    horizon.check("date", at, Utc::now()).map_err(|e| anyhow::anyhow!("--{e}"))
}

/// `tally payments ...`
#[derive(Debug, Subcommand)]
pub enum PaymentsCommand {
    /// Record money received (once per customer and reference); it pays the named
    /// invoices in order, or else the oldest open ones, and any more is credit.
    Record {
        #[command(flatten)]
        account: Account,
        /// The bank's or payer's reference.
        #[arg(long)]
        reference: String,
        /// The amount, in the customer's currency, to its minor unit (e.g. 120.50).
        #[arg(long)]
        amount: Decimal,
        /// When it was received (YYYY-MM-DD; default today), not after today.
        #[arg(long)]
        date: Option<NaiveDate>,
        /// An invoice (id or number) to pay first; repeat for more.
        #[arg(long = "invoice", value_name = "ID")]
        invoices: Vec<String>,
        /// A note kept with the payment.
        #[arg(long, default_value = "")]
        memo: String,
    },
    /// A payment that bounced or was charged back: the invoices it paid owe again.
    Reverse {
        #[command(flatten)]
        account: Account,
        /// The payment's reference.
        #[arg(long)]
        reference: String,
        /// Why (bounced, charged back, ...).
        #[arg(long)]
        reason: String,
        /// When (default today).
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Pay credit back to the customer, out of a payment's part not allocated to invoices.
    Refund {
        #[command(flatten)]
        account: Account,
        /// The payment the credit comes from.
        #[arg(long)]
        payment: String,
        /// The refund's own reference.
        #[arg(long)]
        reference: String,
        /// The amount.
        #[arg(long)]
        amount: Decimal,
        /// When (default today).
        #[arg(long)]
        date: Option<NaiveDate>,
    },
}

/// `tally receivables ...`
#[derive(Debug, Subcommand)]
pub enum ReceivablesCommand {
    /// What is owed per currency by days past due (and credit not yet used).
    Aging {
        /// Only this customer's.
        #[arg(long)]
        customer: Option<String>,
        /// The day to age at (default today): only what was dated by then counts.
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// One JSON object per currency.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Invoices past due with something owed, most overdue first.
    Overdue {
        /// Only this customer's.
        #[arg(long)]
        customer: Option<String>,
        /// The day (default today).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// A customer's statement: opening balance, documents and payments, closing balance.
    Statement {
        #[command(flatten)]
        account: Account,
        /// First day.
        #[arg(long)]
        from: NaiveDate,
        /// Last day (included).
        #[arg(long)]
        to: NaiveDate,
        /// `text`, `json`, `csv` (for Excel) or `html` (for the customer).
        #[arg(long, default_value = "text", value_parser = ["text", "json", "csv", "html"])]
        format: String,
        /// The issuer named on the HTML statement (sets `issuer.name`).
        #[arg(long)]
        issuer: Option<String>,
    },
    /// Give up what an invoice still owes.
    WriteOff {
        #[command(flatten)]
        account: Account,
        /// The invoice's id or number.
        #[arg(long)]
        invoice: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// The receivables' terms of the configuration (`invoicer.payment_terms`, `[reporting]`).
pub fn terms(settings: &tally_config::Settings) -> anyhow::Result<Terms> {
    Ok(Terms {
        payment_terms: settings.invoicer.payment_terms.delta(),
        reporting: super::settings::reporting(settings)?,
    })
}

impl Account {
    fn open(&self, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Opened> {
        self.open_with(runtime, Vec::new())
    }

    /// [`Account::open`] with a command's own flags over the settings.
    fn open_with(
        &self,
        runtime: &tokio::runtime::Runtime,
        flags: Vec<tally_config::Override>,
    ) -> anyhow::Result<Opened> {
        let settings = self.config.load_with(flags)?;
        let store = open_store_on(runtime, &settings)?;
        let id = CustomerId::new(self.customer.clone());
        let customer =
            runtime.block_on(store.customer(&id))?.with_context(|| format!("--customer: no customer {id}"))?;
        let (horizon, issuer) = (settings.accounts.horizon(), settings.issuer.name);
        Ok(Opened { store, customer: id, currency: customer.currency, horizon, issuer })
    }
}

/// An invoice id from an id or a number.
fn invoice_id(runtime: &tokio::runtime::Runtime, store: &AnyStore, given: &str) -> anyhow::Result<String> {
    let found = runtime.block_on(tally_invoicer::find_invoice(store, given))?;
    Ok(found.with_context(|| format!("--invoice: no invoice with id or number {given}"))?.id)
}

/// Runs `tally payments ...`.
pub fn payments(command: &PaymentsCommand) -> anyhow::Result<ExitCode> {
    let runtime = super::settings::runtime()?;
    let now = Utc::now();
    match command {
        PaymentsCommand::Record { account, reference, amount, date, invoices, memo } => {
            let Opened { store, customer, currency, horizon, .. } = account.open(&runtime)?;
            let to = invoices.iter().map(|i| invoice_id(&runtime, &store, i)).collect::<anyhow::Result<Vec<_>>>()?;
            let day = date.unwrap_or_else(|| now.date_naive());
            within(&horizon, day)?;
            let on = On { customer: &customer, currency, day, now };
            let done = runtime.block_on(receivables::record_payment(&store, on, reference, *amount, &to, memo))?;
            if !done.recorded {
                println!("payment {reference} was recorded already; nothing changed");
            }
            for (_, number, paid, owed) in &done.allocated {
                println!("{paid} {currency} to {number} (still owed: {owed})");
            }
            if done.credit > Decimal::ZERO {
                println!("{} {currency} kept as credit of customer {customer}", done.credit);
            }
        }
        PaymentsCommand::Reverse { account, reference, reason, date } => {
            let Opened { store, customer, currency, horizon, .. } = account.open(&runtime)?;
            let day = date.unwrap_or_else(|| now.date_naive());
            within(&horizon, day)?;
            let on = On { customer: &customer, currency, day, now };
            let entries = runtime.block_on(receivables::reverse_payment(&store, on, reference, reason))?;
            println!("payment {reference} reversed ({} entries)", entries.len());
        }
        PaymentsCommand::Refund { account, payment, reference, amount, date } => {
            let Opened { store, customer, currency, horizon, .. } = account.open(&runtime)?;
            let day = date.unwrap_or_else(|| now.date_naive());
            within(&horizon, day)?;
            let on = On { customer: &customer, currency, day, now };
            runtime.block_on(receivables::refund(&store, on, payment, reference, *amount))?;
            println!("refunded {amount} {currency} of payment {payment} as {reference}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `tally receivables ...`.
pub fn receivables(command: &ReceivablesCommand) -> anyhow::Result<ExitCode> {
    let runtime = super::settings::runtime()?;
    let today = Utc::now().date_naive();
    match command {
        ReceivablesCommand::Aging { customer, as_of, json, config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            let customer = customer.clone().map(CustomerId::new);
            let day = as_of.unwrap_or(today);
            let rows = runtime.block_on(receivables::aging(&store, customer.as_ref(), day))?;
            let money = |c: Currency, a: Decimal| c.show(a);
            if *json {
                for row in &rows {
                    let buckets: serde_json::Map<String, serde_json::Value> = AGING_BUCKETS
                        .iter()
                        .zip(row.buckets)
                        .map(|(b, (a, _))| ((*b).to_owned(), money(row.currency, a).into()))
                        .collect();
                    let line = serde_json::json!({ "as_of": day.to_string(), "currency": row.currency.to_string(),
                        "outstanding": money(row.currency, row.owed()), "buckets": buckets,
                        "unapplied_credit": money(row.currency, row.unapplied_credit) });
                    println!("{line}");
                }
            } else {
                let rows: Vec<[String; 8]> = rows
                    .iter()
                    .map(|r| {
                        let b = |i: usize| money(r.currency, r.buckets[i].0);
                        [
                            r.currency.to_string(),
                            b(0),
                            b(1),
                            b(2),
                            b(3),
                            b(4),
                            money(r.currency, r.owed()),
                            money(r.currency, r.unapplied_credit),
                        ]
                    })
                    .collect();
                super::table::print(&["currency", "current", "1-30", "31-60", "61-90", "90+", "owed", "credit"], &rows);
            }
        }
        ReceivablesCommand::Overdue { customer, as_of, config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            let customer = customer.clone().map(CustomerId::new);
            let day = as_of.unwrap_or(today);
            let late = runtime.block_on(receivables::overdue(&store, customer.as_ref(), day))?;
            let rows: Vec<[String; 6]> = late
                .iter()
                .map(|d| {
                    [
                        d.number.clone(),
                        d.customer.to_string(),
                        d.due.to_string(),
                        (day - d.due).num_days().to_string(),
                        d.currency.to_string(),
                        d.owed.to_string(),
                    ]
                })
                .collect();
            super::table::print(&["invoice", "customer", "due", "days late", "currency", "owed"], &rows);
        }
        ReceivablesCommand::Statement { account, from, to, format, issuer } => {
            let flags = super::settings::text_flag("issuer.name", issuer, "--issuer").into_iter().collect();
            let Opened { store, customer, currency, issuer, .. } = account.open_with(&runtime, flags)?;
            let s = runtime.block_on(receivables::statement(&store, &customer, currency, *from, *to))?;
            let who =
                runtime.block_on(store.customer(&customer))?.with_context(|| format!("no customer {customer}"))?;
            super::statement::print(&s, &who, &issuer, format)?;
        }
        ReceivablesCommand::WriteOff { account, invoice, reason } => {
            let Opened { store, customer, currency, .. } = account.open(&runtime)?;
            let id = invoice_id(&runtime, &store, invoice)?;
            let now = Utc::now();
            let on = On { customer: &customer, currency, day: today, now };
            let entries = runtime.block_on(receivables::write_off(&store, on, &id, reason))?;
            match entries.first() {
                Some(e) => println!("wrote off {} {currency} of {invoice}", e.amount),
                None => println!("{invoice} owes nothing; nothing written off"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
