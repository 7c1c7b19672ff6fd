//! `tally migrate`: applies the store's schema migrations and says where it stands.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tally_store::AnyStore;

use super::store_args::StoreArgs;

/// Arguments of `tally migrate`: one store, ClickHouse or embedded.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    store: StoreArgs,
}

/// Runs `tally migrate`.
pub fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    let args = &args.store;
    let store = args.open(&runtime, "migrating")?;
    if let Some(path) = &args.embedded {
        println!("embedded store {}: schema up to date", path.display());
    } else if let AnyStore::ClickHouse(store) = &store {
        let url = tally_domain::redact::url(args.clickhouse.as_deref().unwrap_or_default());
        println!("ClickHouse {} at {url}, database {}: schema up to date", store.server_version().0, args.database);
    }
    Ok(ExitCode::SUCCESS)
}
