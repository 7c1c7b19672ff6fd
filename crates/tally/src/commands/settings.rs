//! The configuration of `tally run` and `tally demo`: `--config FILE` over the built-in
//! defaults, `TALLY__SECTION__KEY` over both (`tally-config` does the layering and the
//! checks), and the store the configuration names.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tally_config::{Settings, Sources, StoreKind, StoreSettings};
use tally_store::clickhouse::{ClickHouseConfig, ClickHouseStore, Compression};
use tally_store::embedded::EmbeddedStore;
use tally_store::AnyStore;

/// `--config FILE`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// A TOML file layered over the built-in defaults (config/default.toml); options can
    /// also be set as TALLY__SECTION__KEY environment variables, which win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArgs {
    /// The effective, checked configuration; an error names the key.
    pub fn load(&self) -> anyhow::Result<Settings> {
        let sources = Sources { file: self.config.as_deref(), env: None };
        tally_config::load(&sources).context("invalid configuration")
    }
}

/// A one-line name of the store, for messages: `ClickHouse at URL, database D` or
/// `the embedded store FILE`.
pub fn describe(store: &StoreSettings) -> String {
    match store.kind {
        StoreKind::Embedded => format!("the embedded store {}", store.embedded.path.display()),
        StoreKind::Clickhouse => {
            let masked = tally_domain::redact::url(&store.clickhouse.url);
            format!("ClickHouse at {masked}, database {}", store.clickhouse.database)
        }
    }
}

/// Opens (and migrates) the configured store.
pub async fn open_store(store: &StoreSettings) -> anyhow::Result<AnyStore> {
    match store.kind {
        StoreKind::Embedded => {
            let path = &store.embedded.path;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let opened = EmbeddedStore::open(path).with_context(|| format!("opening {}", describe(store)))?;
            Ok(AnyStore::Embedded(opened))
        }
        StoreKind::Clickhouse => {
            let ch = &store.clickhouse;
            let config = ClickHouseConfig {
                url: ch.url.clone(),
                database: ch.database.clone(),
                user: Some(ch.user.clone()).filter(|u| !u.is_empty()),
                password: Some(ch.password.clone()).filter(|p| !p.is_empty()),
                compression: match ch.compression {
                    tally_config::Compression::Lz4 => Compression::Lz4,
                    tally_config::Compression::None => Compression::None,
                },
            };
            let opened =
                ClickHouseStore::open(&config).await.with_context(|| format!("opening {}", describe(store)))?;
            Ok(AnyStore::ClickHouse(opened))
        }
    }
}
