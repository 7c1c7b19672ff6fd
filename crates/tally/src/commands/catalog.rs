//! `tally catalog check`: validates a catalog and prints what it defines.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use rust_decimal::Decimal;
use tally_domain::{Catalog, Charge, Meter, Plan, Price, Tier};

/// Subcommands of `tally catalog`.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Validate a catalog, list every problem, or summarize its meters and plans.
    Check {
        /// The price catalog (TOML).
        file: PathBuf,
    },
}

/// Runs a `tally catalog` subcommand.
pub fn run(cmd: &CatalogCommand) -> anyhow::Result<ExitCode> {
    let CatalogCommand::Check { file } = cmd;
    match Catalog::load(file) {
        Ok(catalog) => {
            print!("{}", summary(&file.display().to_string(), &catalog));
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            let lines = err.lines();
            for line in &lines {
                eprintln!("error: {line}");
            }
            eprintln!("{}: {} problem{} found", file.display(), lines.len(), if lines.len() == 1 { "" } else { "s" });
            Ok(ExitCode::FAILURE)
        }
    }
}

fn summary(file: &str, catalog: &Catalog) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{file}: valid, {} meters, {} plans\n", catalog.meters().len(), catalog.plans().len());
    let _ = writeln!(out, "Meters");
    for meter in catalog.meters() {
        let _ = writeln!(out, "  {}", describe_meter(meter));
    }
    for plan in catalog.plans() {
        let _ = writeln!(out);
        describe_plan(&mut out, plan);
    }
    out
}

fn describe_meter(m: &Meter) -> String {
    let value = m.value.as_deref().map(|v| format!("({v})")).unwrap_or_default();
    let dims = if m.dimensions.is_empty() { String::new() } else { format!(", by {}", m.dimensions.join(", ")) };
    format!("{:<20} {}{} of {}{}", m.key, m.aggregation.name(), value, m.event_type, dims)
}

fn describe_plan(out: &mut String, plan: &Plan) {
    let name = plan.name.as_deref().map(|n| format!(" \"{n}\"")).unwrap_or_default();
    let _ = writeln!(out, "Plan {}{}: {}, billed every {}", plan.key, name, plan.currency, plan.interval.name());
    if let Some(min) = plan.minimum_commitment {
        let _ = writeln!(out, "  minimum commitment {min} {}", plan.currency);
    }
    for fee in &plan.fees {
        let proration = if fee.prorate { "prorated" } else { "not prorated" };
        let _ = writeln!(out, "  fee    {:<20} {} {} in advance, {proration}", fee.key, fee.amount, plan.currency);
    }
    for charge in &plan.charges {
        let _ = writeln!(out, "  charge {:<20} {}", charge.key, describe_charge(charge, plan));
    }
}

fn describe_charge(c: &Charge, plan: &Plan) -> String {
    let mut s = c.meter.to_string();
    if !c.filter.is_empty() {
        let f: Vec<String> = c.filter.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(s, " where {}", f.join(", "));
    }
    if !c.group_by.is_empty() {
        let _ = write!(s, " by {}", c.group_by.join(", "));
    }
    if !c.included.is_zero() {
        let _ = write!(s, ", {} included", c.included);
    }
    let per = if c.per == Decimal::ONE { String::new() } else { format!(" per {}", c.per) };
    let cur = plan.currency;
    let price = match &c.price {
        Price::PerUnit { unit_price } => format!("{unit_price} {cur}{per}"),
        Price::Package { size, package_price } => format!("{package_price} {cur} per started package of {size}{per}"),
        Price::Graduated { tiers } => format!("graduated{per}: {}", describe_tiers(tiers)),
        Price::Volume { tiers } => format!("volume{per}: {}", describe_tiers(tiers)),
        Price::Dynamic { multiplier } => format!("carried cost x {multiplier}"),
    };
    let _ = write!(s, ": {price}");
    if let Some(min) = c.minimum {
        let _ = write!(s, ", minimum {min}");
    }
    if let Some(max) = c.maximum {
        let _ = write!(s, ", maximum {max}");
    }
    s
}

fn describe_tiers(tiers: &[Tier]) -> String {
    let parts: Vec<String> = tiers
        .iter()
        .map(|t| {
            let bound = t.up_to.map_or("above".to_string(), |b| format!("up to {b}"));
            let flat = if t.flat_price.is_zero() { String::new() } else { format!(" + {} flat", t.flat_price) };
            format!("{bound} at {}{flat}", t.unit_price)
        })
        .collect();
    parts.join("; ")
}
