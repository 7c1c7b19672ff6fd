//! The settings every command reads: the built-in defaults, `--config FILE`,
//! `TALLY__SECTION__KEY` and then the command's own flags, each of which sets a named
//! key (`tally-config` does the layering and the checks). The store flags every
//! command that opens a store shares live here, as overrides of `store.*`, and the
//! store is opened by the one opener (`AnyStore::open`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tally_config::{IngestSettings, Override, Settings, Shown, Sources};
use tally_ingest::decode::DecodeRules;
use tally_ingest::KafkaClient;
use tally_invoicer::CloseOptions;
use tally_store::AnyStore;

/// `--config FILE` and the flags that set the store and the catalog.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// A TOML file layered over the built-in defaults (config/default.toml); options can
    /// also be set as TALLY__SECTION__KEY environment variables, which win; flags win over both.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The price catalog (sets `catalog`).
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// The embedded store's file (sets `store.kind = "embedded"` and `store.embedded.path`).
    #[arg(long, value_name = "FILE", conflicts_with = "clickhouse")]
    embedded: Option<PathBuf>,
    /// ClickHouse HTTP URL, e.g. http://127.0.0.1:8123 (sets `store.kind = "clickhouse"`
    /// and `store.clickhouse.url`).
    #[arg(long, value_name = "URL")]
    clickhouse: Option<String>,
    /// ClickHouse database, created if missing (sets `store.clickhouse.database`).
    #[arg(long)]
    database: Option<String>,
    /// ClickHouse user (sets `store.clickhouse.user`).
    #[arg(long)]
    user: Option<String>,
    /// Environment variable holding the ClickHouse password, never given on the command
    /// line (sets `store.clickhouse.password`).
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Compression between Tally and ClickHouse: lz4 or none (sets `store.clickhouse.compression`).
    #[arg(long, value_name = "lz4|none")]
    clickhouse_compression: Option<String>,
}

impl ConfigArgs {
    /// The effective, checked configuration; an error names the key.
    pub fn load(&self) -> anyhow::Result<Settings> {
        self.load_with(Vec::new())
    }

    /// The effective configuration with a command's own flags (`extra`) over it.
    pub fn load_with(&self, extra: Vec<Override>) -> anyhow::Result<Settings> {
        let overrides = self.overrides(extra)?;
        let sources = Sources { file: self.config.as_deref(), env: None, overrides };
        tally_config::load(&sources).context("invalid configuration")
    }

    /// Every effective value with the layer that set it (`tally config show`).
    pub fn explain(&self) -> anyhow::Result<Vec<Shown>> {
        let overrides = self.overrides(Vec::new())?;
        let sources = Sources { file: self.config.as_deref(), env: None, overrides };
        tally_config::explain(&sources).context("invalid configuration")
    }

    fn overrides(&self, extra: Vec<Override>) -> anyhow::Result<Vec<Override>> {
        let mut out = Vec::new();
        let path = |p: &PathBuf| p.display().to_string();
        if let Some(file) = &self.catalog {
            out.push(Override::text("catalog", path(file), "--catalog"));
        }
        if let Some(file) = &self.embedded {
            out.push(Override::text("store.kind", "embedded", "--embedded"));
            out.push(Override::text("store.embedded.path", path(file), "--embedded"));
        }
        if let Some(url) = &self.clickhouse {
            out.push(Override::text("store.kind", "clickhouse", "--clickhouse"));
            out.push(Override::text("store.clickhouse.url", url, "--clickhouse"));
        }
        if let Some(database) = &self.database {
            out.push(Override::text("store.clickhouse.database", database, "--database"));
        }
        if let Some(user) = &self.user {
            out.push(Override::text("store.clickhouse.user", user, "--user"));
        }
        if let Some(var) = &self.password_env {
            let password =
                std::env::var(var).with_context(|| format!("--password-env: reading the password from ${var}"))?;
            out.push(Override::text("store.clickhouse.password", password, "--password-env"));
        }
        if let Some(compression) = &self.clickhouse_compression {
            out.push(Override::text("store.clickhouse.compression", compression, "--clickhouse-compression"));
        }
        out.extend(extra);
        Ok(out)
    }
}

/// Opens (and migrates) the store the settings name; an error says which one.
pub async fn open_store(settings: &Settings) -> anyhow::Result<AnyStore> {
    AnyStore::open(&settings.store).await.with_context(|| format!("opening {}", settings.store.describe()))
}

/// [`open_store`] for one-shot commands, on their runtime.
pub fn open_store_on(runtime: &tokio::runtime::Runtime, settings: &Settings) -> anyhow::Result<AnyStore> {
    runtime.block_on(open_store(settings))
}

/// The one-thread runtime a one-shot command runs its store calls on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")
}

/// The ingest rules of the settings: the same on every path events arrive by.
pub fn decode_rules(ingest: &IngestSettings) -> DecodeRules {
    DecodeRules {
        max_bytes: ingest.max_event_bytes,
        future_skew: ingest.future_skew.delta(),
        late_window: Some(ingest.late_window.delta()),
    }
}

/// The Kafka cluster and the properties every client gets (secrets read from their
/// variables and files now).
pub fn kafka_client(settings: &Settings) -> anyhow::Result<KafkaClient> {
    let kafka = &settings.ingest.kafka;
    let properties = kafka.client_properties()?;
    Ok(KafkaClient { brokers: kafka.brokers.clone(), properties })
}

/// The reporting currency of `[reporting]` (`None` when `reporting.currency` is empty).
pub fn reporting(settings: &tally_config::Settings) -> anyhow::Result<Option<tally_invoicer::exchange::Reporting>> {
    let code = &settings.reporting.currency;
    if code.is_empty() {
        return Ok(None);
    }
    let currency = code.parse().with_context(|| format!("reporting.currency = {code:?}"))?;
    Ok(Some(tally_invoicer::exchange::Reporting { currency, max_age_days: settings.reporting.max_age_days() }))
}

/// What a close does under the `[invoicer]` settings and the reporting currency, as of `now`.
pub fn close_options(
    invoicer: &tally_config::InvoicerSettings,
    reporting: Option<tally_invoicer::exchange::Reporting>,
    now: chrono::DateTime<chrono::Utc>,
) -> CloseOptions {
    CloseOptions {
        reporting,
        now,
        grace: invoicer.grace.delta(),
        number_prefix: invoicer.number_prefix.clone(),
        late_window: invoicer.late_window.delta(),
        payment_terms: invoicer.payment_terms.delta(),
    }
}

/// `--flag N` as an override of a duration key, written `N{unit}` (`--grace-minutes
/// 30` sets `invoicer.grace = "30m"`).
pub fn span_flag(key: &str, value: Option<i64>, unit: &str, flag: &str) -> Option<Override> {
    value.map(|n| Override::text(key, format!("{n}{unit}"), flag))
}

/// `--flag TEXT` as an override of `key`.
pub fn text_flag(key: &str, value: &Option<impl ToString>, flag: &str) -> Option<Override> {
    value.as_ref().map(|v| Override::text(key, v.to_string(), flag))
}
