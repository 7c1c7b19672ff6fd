//! The store options every command that reads or writes usage shares.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore, Compression};
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
    /// Compression between Tally and ClickHouse: lz4 or none (none saves CPU on loopback).
    #[arg(long, value_name = "lz4|none", default_value = "lz4", value_parser = parse_compression, requires = "clickhouse")]
    clickhouse_compression: Compression,
}

fn parse_compression(text: &str) -> Result<Compression, String> {
    match text {
        "lz4" => Ok(Compression::Lz4),
        "none" => Ok(Compression::None),
        other => Err(format!("{other:?}: expected lz4 or none")),
    }
}

impl StoreArgs {
    /// Opens (and migrates) the store; an error reads `{doing} ClickHouse at URL, database D: ...`
    /// or `{doing} the embedded store FILE: ...`.
    pub fn open(&self, runtime: &tokio::runtime::Runtime, doing: &str) -> anyhow::Result<AnyStore> {
        if let Some(path) = &self.embedded {
            let store =
                EmbeddedStore::open(path).with_context(|| format!("{doing} the embedded store {}", path.display()))?;
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
            compression: self.clickhouse_compression,
        };
        let store = runtime.block_on(ClickHouseStore::open(&config)).with_context(|| {
            format!("{doing} ClickHouse at {}, database {}", tally_domain::redact::url(&url), self.database)
        })?;
        Ok(AnyStore::ClickHouse(store))
    }
}
