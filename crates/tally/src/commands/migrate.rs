//! `tally migrate`: applies the store's schema migrations and says where it stands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::embedded::EmbeddedStore;

/// Arguments of `tally migrate`: one store, ClickHouse or embedded.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// ClickHouse HTTP URL, e.g. http://127.0.0.1:8123.
    #[arg(long, value_name = "URL", required_unless_present = "embedded", conflicts_with = "embedded")]
    clickhouse: Option<String>,
    /// The embedded store's file.
    #[arg(long, value_name = "FILE")]
    embedded: Option<PathBuf>,
    /// ClickHouse database (created if missing).
    #[arg(long, default_value = "tally", requires = "clickhouse")]
    database: String,
    /// ClickHouse user.
    #[arg(long, requires = "clickhouse")]
    user: Option<String>,
    /// Environment variable holding the ClickHouse password (never given on the command line).
    #[arg(long, value_name = "VAR", requires = "clickhouse")]
    password_env: Option<String>,
}

/// Runs `tally migrate`.
pub fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.embedded {
        EmbeddedStore::open(path).with_context(|| format!("migrating the embedded store {}", path.display()))?;
        println!("embedded store {}: schema up to date", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let url = args.clickhouse.clone().unwrap_or_default();
    let password = match &args.password_env {
        Some(var) => Some(std::env::var(var).with_context(|| format!("reading the password from ${var}"))?),
        None => None,
    };
    let config = ClickHouseConfig {
        url: url.clone(),
        database: args.database.clone(),
        user: args.user.clone(),
        password,
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    let store = runtime
        .block_on(ClickHouseStore::open(&config))
        .with_context(|| format!("migrating ClickHouse at {url}, database {}", args.database))?;
    println!("ClickHouse {} at {url}, database {}: schema up to date", store.server_version().0, args.database);
    Ok(ExitCode::SUCCESS)
}
