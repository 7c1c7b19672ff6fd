//! `tally subscriptions`: bind customers to the catalog's plans, change plans, end them.

use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use tally_domain::{CustomerId, PlanKey, Subscription, SubscriptionId};
use tally_store::{AccountStore, AnyStore};

use super::settings::{open_store_on, ConfigArgs};

/// `tally subscriptions ...`
#[derive(Debug, Subcommand)]
pub enum SubscriptionsCommand {
    /// Subscribe a customer to a plan (fails if the id exists).
    Create {
        /// The subscription's id, e.g. sub-acme-2026.
        #[arg(long)]
        id: String,
        /// The customer's id.
        #[arg(long)]
        customer: String,
        /// The plan's key in the catalog.
        #[arg(long)]
        plan: String,
        /// First instant billed (RFC 3339), e.g. 2026-11-01T00:00:00+01:00.
        #[arg(long)]
        start: DateTime<Utc>,
        /// First instant no longer billed (RFC 3339).
        #[arg(long)]
        end: Option<DateTime<Utc>>,
        /// Local date the periods count from (default: the start's date in the customer's time zone).
        #[arg(long)]
        anchor: Option<NaiveDate>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Change a subscription's plan from an instant on, or set or clear its end.
    Update {
        /// The subscription's id.
        #[arg(long)]
        id: String,
        /// The new plan's key (with --at).
        #[arg(long, requires = "at")]
        change_plan: Option<String>,
        /// When the new plan starts (RFC 3339); the period it falls in is split and prorated.
        #[arg(long, requires = "change_plan")]
        at: Option<DateTime<Utc>>,
        /// End the subscription at this instant (RFC 3339).
        #[arg(long, conflicts_with = "no_end")]
        end: Option<DateTime<Utc>>,
        /// Remove the end: the subscription runs on.
        #[arg(long)]
        no_end: bool,
        /// A change dated inside periods already invoiced is refused unless this is
        /// given: then each invoice the change makes wrong is voided and revised with
        /// it (a credit note and a revised invoice; payments move to the revision).
        #[arg(long)]
        revise: bool,
        /// Numbers of revised invoices: this prefix and a sequence.
        #[arg(long, default_value = "INV-")]
        number_prefix: String,
        /// Numbers of their credit notes: this prefix and a sequence.
        #[arg(long, default_value = "CN-")]
        credit_prefix: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List subscriptions (a table, or JSON lines with --json).
    List {
        /// Only this customer's.
        #[arg(long)]
        customer: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Show one subscription as JSON.
    Show {
        /// The subscription's id.
        #[arg(long)]
        id: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// Runs `tally subscriptions ...`.
pub fn run(command: &SubscriptionsCommand) -> anyhow::Result<ExitCode> {
    let runtime = super::settings::runtime()?;
    match command {
        SubscriptionsCommand::Create { id, customer, plan, start, end, anchor, config } => {
            let settings = config.load()?;
            let horizon = settings.accounts.horizon();
            let catalog = super::load_catalog(&settings.catalog)?;
            let store = open_store_on(&runtime, &settings)?;
            let id = SubscriptionId::new(id.clone());
            if runtime.block_on(store.subscription(&id))?.is_some() {
                bail!("subscription {id} exists already; use `tally subscriptions update`");
            }
            let customer_id = CustomerId::new(customer.clone());
            let owner = runtime.block_on(store.customer(&customer_id))?.with_context(|| {
                format!("--customer: no customer {customer_id}; create it with `tally customers create`")
            })?;
            let subscription = Subscription::new(id, &owner, PlanKey::new(plan.clone()), *start, *end, *anchor);
            subscription.validate(&owner, &catalog).map_err(|e| anyhow::anyhow!("{}", flag_name(&e.to_string())))?;
            subscription
                .validate_dates(chrono::Utc::now(), horizon, owner.timezone)
                .map_err(|e| anyhow::anyhow!("{}", flag_name(&e.to_string())))?;
            runtime.block_on(store.put_subscription(&subscription))?;
            println!("{}", serde_json::to_string_pretty(&subscription)?);
        }
        SubscriptionsCommand::Update {
            id,
            change_plan,
            at,
            end,
            no_end,
            revise,
            number_prefix,
            credit_prefix,
            config,
        } => {
            let settings = config.load()?;
            let horizon = settings.accounts.horizon();
            let terms = super::receivables::terms(&settings)?;
            let now = chrono::Utc::now();
            let catalog = super::load_catalog(&settings.catalog)?;
            let store = open_store_on(&runtime, &settings)?;
            let mut subscription = existing(&runtime, &store, id)?;
            if let (Some(plan), Some(at)) = (change_plan, at) {
                horizon.check("at", *at, now).map_err(|e| anyhow::anyhow!("--{e}"))?;
                subscription.change_plan(PlanKey::new(plan.clone()), *at).map_err(|e| anyhow::anyhow!("--{e}"))?;
            }
            if *no_end {
                subscription.end = None;
            } else if let Some(end) = end {
                horizon.check("end", *end, now).map_err(|e| anyhow::anyhow!("--{e}"))?;
                subscription.end = Some(*end);
            }
            let owner = runtime
                .block_on(store.customer(&subscription.customer))?
                .with_context(|| format!("the subscription's customer {} is gone", subscription.customer))?;
            subscription.validate(&owner, &catalog).map_err(|e| anyhow::anyhow!("{}", flag_name(&e.to_string())))?;
            let prefixes = (number_prefix.as_str(), credit_prefix.as_str());
            let revised = runtime
                .block_on(tally_invoicer::change_subscription(
                    &store,
                    &catalog,
                    &subscription,
                    *revise,
                    now,
                    prefixes,
                    terms,
                ))
                .map_err(|e| match e {
                    tally_invoicer::InvoicerError::IssuedPeriods { .. } => anyhow::anyhow!("{e} (--revise)"),
                    other => other.into(),
                })?;
            for done in &revised {
                let revision = done.revision.as_ref().map_or(String::new(), |(_, n)| format!(", revised as {n}"));
                eprintln!("voided {} with credit note {}{revision}", done.voided, done.credit_note.1);
            }
            println!("{}", serde_json::to_string_pretty(&subscription)?);
        }
        SubscriptionsCommand::List { customer, json, config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            let customer = customer.clone().map(CustomerId::new);
            let subscriptions = runtime.block_on(store.subscriptions(customer.as_ref()))?;
            if *json {
                for s in &subscriptions {
                    println!("{}", serde_json::to_string(s)?);
                }
            } else {
                let rows: Vec<[String; 5]> = subscriptions
                    .iter()
                    .map(|s| {
                        let plans: Vec<&str> = s.phases.iter().map(|p| p.plan.as_str()).collect();
                        [
                            s.id.to_string(),
                            s.customer.to_string(),
                            plans.join(" -> "),
                            s.start.to_rfc3339(),
                            s.end.map_or_else(|| "-".to_owned(), |e| e.to_rfc3339()),
                        ]
                    })
                    .collect();
                super::table::print(&["id", "customer", "plan", "start", "end"], &rows);
            }
        }
        SubscriptionsCommand::Show { id, config } => {
            let settings = config.load()?;
            let store = open_store_on(&runtime, &settings)?;
            let subscription = existing(&runtime, &store, id)?;
            println!("{}", serde_json::to_string_pretty(&subscription)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn existing(runtime: &tokio::runtime::Runtime, store: &AnyStore, id: &str) -> anyhow::Result<Subscription> {
    let id = SubscriptionId::new(id.to_owned());
    runtime.block_on(store.subscription(&id))?.with_context(|| format!("no subscription {id}"))
}

/// Names the command-line flag behind a validation field: `phases[0].plan: ...` -> `--plan: ...`.
fn flag_name(message: &str) -> String {
    let (field, rest) = message.split_once(": ").unwrap_or(("", message));
    let flag = match field.rsplit('.').next().unwrap_or(field) {
        "plan" if field.starts_with("phases[0]") => "--plan",
        "plan" => "--change-plan",
        "from" => "--at",
        "end" => "--end",
        "customer" => "--customer",
        "start" => "--start",
        "anchor" => "--anchor",
        _ => return message.to_owned(),
    };
    format!("{flag}: {rest}")
}
