//! `tally migrate`: applies the store's schema migrations, brings documents issued
//! before the receivables ledger existed into it, and says where it stands.

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
    /// The settings (`invoicer.payment_terms`: when documents brought into the ledger are due).
    #[command(flatten)]
    config: super::settings::ConfigArgs,
}

/// Runs `tally migrate`.
pub fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    let terms = super::receivables::terms(&args.config)?;
    let args = &args.store;
    let store = args.open(&runtime, "migrating")?;
    let added = runtime
        .block_on(tally_invoicer::receivables::sync(&store, terms, None))
        .context("bringing issued documents into the receivables ledger")?;
    if added > 0 {
        println!("receivables ledger: {added} entries added for documents and payments recorded before it");
    }
    if let Some(path) = &args.embedded {
        println!("embedded store {}: schema up to date", path.display());
    } else if let AnyStore::ClickHouse(store) = &store {
        let url = tally_domain::redact::url(args.clickhouse.as_deref().unwrap_or_default());
        println!("ClickHouse {} at {url}, database {}: schema up to date", store.server_version().0, args.database);
    }
    Ok(ExitCode::SUCCESS)
}
