//! `tally customers`: create, update, list and show billing accounts.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use tally_domain::{Currency, Customer, CustomerId};
use tally_store::AccountStore;

use super::settings::{open_store_on, ConfigArgs};

/// `tally customers ...`
#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// Create a customer (fails if the id exists).
    Create {
        #[command(flatten)]
        fields: CustomerFields,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Change a customer's name, currency, time zone or billing details.
    Update {
        #[command(flatten)]
        fields: CustomerFields,
        /// Remove a billing detail (repeatable).
        #[arg(long = "remove-detail", value_name = "KEY")]
        remove_details: Vec<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List every customer (a table, or JSON lines with --json).
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Show one customer as JSON.
    Show {
        /// The customer's id.
        #[arg(long)]
        id: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// The fields `create` requires and `update` may change.
#[derive(Debug, Args)]
pub struct CustomerFields {
    /// The customer's id: the `subject` of its usage events.
    #[arg(long)]
    id: String,
    /// Name printed on invoices.
    #[arg(long)]
    name: Option<String>,
    /// ISO 4217 currency of its invoices, e.g. USD.
    #[arg(long)]
    currency: Option<String>,
    /// IANA time zone its periods are computed in, e.g. Europe/Berlin.
    #[arg(long)]
    timezone: Option<String>,
    /// A billing detail printed on invoices, KEY=VALUE (repeatable), e.g. email=ap@acme.example.
    #[arg(long = "detail", value_name = "KEY=VALUE")]
    details: Vec<String>,
}

/// Runs `tally customers ...`.
pub fn run(command: &CustomersCommand) -> anyhow::Result<ExitCode> {
    let runtime = super::settings::runtime()?;
    match command {
        CustomersCommand::Create { fields, config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            let id = CustomerId::new(non_empty("--id", &fields.id)?);
            if runtime.block_on(store.customer(&id))?.is_some() {
                bail!("customer {id} exists already; use `tally customers update`");
            }
            let customer = Customer {
                id,
                name: fields.name.clone().context("--name is required")?,
                currency: currency(fields.currency.as_deref().context("--currency is required")?)?,
                timezone: zone(fields.timezone.as_deref().context("--timezone is required")?)?,
                billing_details: details(&fields.details, BTreeMap::new())?,
            };
            customer.validate().map_err(|e| anyhow::anyhow!("--{e}"))?;
            runtime.block_on(store.put_customer(&customer))?;
            println!("{}", serde_json::to_string_pretty(&customer)?);
        }
        CustomersCommand::Update { fields, remove_details, config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            let id = CustomerId::new(fields.id.clone());
            let mut customer = runtime.block_on(store.customer(&id))?.with_context(|| format!("no customer {id}"))?;
            if let Some(name) = &fields.name {
                customer.name = non_empty("--name", name)?.to_owned();
            }
            if let Some(code) = &fields.currency {
                let new = currency(code)?;
                if new != customer.currency && !runtime.block_on(store.subscriptions(Some(&id)))?.is_empty() {
                    bail!(
                        "--currency: customer {id} has subscriptions priced in {}; end them first",
                        customer.currency
                    );
                }
                customer.currency = new;
            }
            if let Some(name) = &fields.timezone {
                customer.timezone = zone(name)?;
            }
            let mut kept = customer.billing_details.clone();
            for key in remove_details {
                kept.remove(key);
            }
            customer.billing_details = details(&fields.details, kept)?;
            customer.validate().map_err(|e| anyhow::anyhow!("--{e}"))?;
            runtime.block_on(store.put_customer(&customer))?;
            println!("{}", serde_json::to_string_pretty(&customer)?);
        }
        CustomersCommand::List { json, config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            let customers = runtime.block_on(store.customers())?;
            if *json {
                for c in &customers {
                    println!("{}", serde_json::to_string(c)?);
                }
            } else {
                let rows: Vec<[String; 4]> = customers
                    .iter()
                    .map(|c| [c.id.to_string(), c.name.clone(), c.currency.to_string(), c.timezone.name().to_owned()])
                    .collect();
                super::table::print(&["id", "name", "currency", "timezone"], &rows);
            }
        }
        CustomersCommand::Show { id, config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            let id = CustomerId::new(id.clone());
            let customer = runtime.block_on(store.customer(&id))?.with_context(|| format!("no customer {id}"))?;
            println!("{}", serde_json::to_string_pretty(&customer)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn non_empty<'a>(flag: &str, value: &'a str) -> anyhow::Result<&'a str> {
    if value.trim().is_empty() {
        bail!("{flag}: must not be empty");
    }
    Ok(value)
}

fn currency(code: &str) -> anyhow::Result<Currency> {
    code.parse().with_context(|| format!("--currency {code:?}"))
}

fn zone(name: &str) -> anyhow::Result<chrono_tz::Tz> {
    name.parse().map_err(|_| anyhow::anyhow!("--timezone {name:?}: not an IANA time zone (e.g. Europe/Berlin)"))
}

fn details(pairs: &[String], mut into: BTreeMap<String, String>) -> anyhow::Result<BTreeMap<String, String>> {
    for pair in pairs {
        let (key, value) = pair.split_once('=').with_context(|| format!("--detail {pair:?}: expected KEY=VALUE"))?;
        into.insert(non_empty("--detail key", key)?.to_owned(), value.to_owned());
    }
    Ok(into)
}
