//! `tally rate`: prices a usage file against a catalog and prints the result as JSON.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::Args;
use tally_domain::RateRequest;

/// Arguments of `tally rate`.
#[derive(Debug, Args)]
pub struct RateArgs {
    /// The price catalog (TOML).
    #[arg(long, value_name = "FILE")]
    catalog: PathBuf,
    /// The aggregated usage of one subscription for one period (JSON); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    usage: PathBuf,
}

/// Runs `tally rate`.
pub fn run(args: &RateArgs) -> anyhow::Result<ExitCode> {
    let catalog = super::load_catalog(&args.catalog)?;
    let (name, text) = read_usage(&args.usage)?;
    let request = RateRequest::from_json_str(&text, &name)?;
    let rated = tally_rating::rate(&catalog, &request).map_err(|err| anyhow!("{name}: {err}"))?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &rated).context("writing the result")?;
    writeln!(out).context("writing the result")?;
    Ok(ExitCode::SUCCESS)
}

fn read_usage(path: &PathBuf) -> anyhow::Result<(String, String)> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("<stdin>: cannot read the usage")?;
        return Ok(("<stdin>".into(), text));
    }
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{name}: cannot read the usage file"))?;
    Ok((name, text))
}
