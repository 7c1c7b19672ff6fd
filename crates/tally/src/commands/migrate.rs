//! `tally migrate`: applies the store's schema migrations, brings documents issued
//! before the receivables ledger existed into it, and says where it stands.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tally_store::AnyStore;

use super::settings::{open_store_on, ConfigArgs};

/// Arguments of `tally migrate`: the store of the settings (or the flags).
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The settings (`store.*`; `invoicer.payment_terms`: when documents brought into
    /// the ledger are due).
    #[command(flatten)]
    config: ConfigArgs,
}

/// Runs `tally migrate`.
pub fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let runtime = super::settings::runtime()?;
    let settings = args.config.load()?;
    let terms = super::receivables::terms(&settings)?;
    let store = open_store_on(&runtime, &settings)?;
    let added = runtime
        .block_on(tally_invoicer::receivables::sync(&store, terms, None))
        .context("bringing issued documents into the receivables ledger")?;
    if added > 0 {
        println!("receivables ledger: {added} entries added for documents and payments recorded before it");
    }
    match &store {
        AnyStore::Embedded(_) => println!("{}: schema up to date", settings.store.describe()),
        AnyStore::ClickHouse(ch) => {
            println!("{}: schema up to date (ClickHouse {})", settings.store.describe(), ch.server_version().0)
        }
    }
    Ok(ExitCode::SUCCESS)
}
