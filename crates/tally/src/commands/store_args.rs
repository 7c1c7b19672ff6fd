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
    pub(super) clickhouse: Option<String>,
    /// The embedded store's file.
    #[arg(long, value_name = "FILE")]
    pub(super) embedded: Option<PathBuf>,
    /// ClickHouse database (created if missing).
    #[arg(long, default_value = "tally", requires = "clickhouse")]
    pub(super) database: String,
    /// ClickHouse user.
    #[arg(long, requires = "clickhouse")]
    user: Option<String>,
    /// Environment variable holding the ClickHouse password (never given on the command line).
    #[arg(long, value_name = "VAR", requires = "clickhouse")]
    password_env: Option<String>,
}

impl StoreArgs {
    /// Opens (and migrates) the store; an error reads `{doing} ClickHouse at URL, database D: ...`
    /// or `{doing} the embedded store FILE: ...`.
    pub fn open(&self, runtime: &tokio::runtime::Runtime, doing: &str) -> anyhow::Result<AnyStore> {
        if let Some(path) = &self.embedded {
            let store = EmbeddedStore::open(path)
                .with_context(|| format!("{doing} the embedded store {}", path.display()))?;
            return Ok(AnyStore::Embedded(store));
        }
        let url = self.clickhouse.clone().unwrap_or_default();
        let password = match &self.password_env {
            Some(var) => Some(std::env::var(var).with_context(|| format!("reading the password from ${var}"))?),
            None => None,
        };
        let config = ClickHouseConfig {
            url: url.clone(),
            database: self.database.clone(),
            user: self.user.clone(),
            password,
            ..Default::default()
        };
        let store = runtime
            .block_on(ClickHouseStore::open(&config))
            .with_context(|| format!("{doing} ClickHouse at {url}, database {}", self.database))?;
        Ok(AnyStore::ClickHouse(store))
    }
}
