//! The store options every command that reads or writes usage shares.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use tally_store::embedded::EmbeddedStore;
use tally_store::AnyStore;

/// Which store: a ClickHouse server or the embedded file.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// ClickHouse HTTP URL, e.g. http://127.0.0.1:8123.
    #[arg(long, value_name = "URL", required_unless_present = "embedded", conflicts_with = "embedded")]
    clickhouse: Option<String>,
    /// The embedded store's file.
    #[arg(long, value_name = "FILE")]
    embedded: Option<PathBuf>,
    /// ClickHouse database.
    #[arg(long, default_value = "tally", requires = "clickhouse")]
    database: String,
}

impl StoreArgs {
    /// Opens (and migrates) the store.
    pub fn open(&self, runtime: &tokio::runtime::Runtime) -> anyhow::Result<AnyStore> {
        if let Some(path) = &self.embedded {
            let store = EmbeddedStore::open(path).with_context(|| format!("opening {}", path.display()))?;
            return Ok(AnyStore::Embedded(store));
        }
        let url = self.clickhouse.clone().unwrap_or_default();
        let config = ClickHouseConfig { url: url.clone(), database: self.database.clone(), ..Default::default() };
        let store = runtime
            .block_on(ClickHouseStore::open(&config))
            .with_context(|| format!("opening ClickHouse at {url}, database {}", self.database))?;
        Ok(AnyStore::ClickHouse(store))
    }
}
