//! The options, one struct per section of `config/default.toml`, and the checks that
//! need more than one value's type.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::duration::Span;
use crate::error::ConfigError;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The price catalog file.
    pub catalog: PathBuf,
    /// Where usage, accounts and invoices live.
    pub store: StoreSettings,
    /// Where events come from.
    pub ingest: IngestSettings,
    /// Customers and subscriptions.
    pub accounts: AccountsSettings,
    /// Closing periods into invoices.
    pub invoicer: InvoicerSettings,
    /// Who issues the documents.
    pub issuer: IssuerSettings,
    /// The reporting currency and its exchange rates.
    pub reporting: ReportingSettings,
    /// The accounting import files.
    pub exports: ExportSettings,
    /// How documents are made.
    pub documents: DocumentsSettings,
    /// The HTTP server.
    pub http: HttpSettings,
    /// Prometheus metrics.
    pub metrics: MetricsSettings,
    /// Logging.
    pub log: LogSettings,
}

/// Which store and how to reach it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// Embedded or ClickHouse.
    pub kind: StoreKind,
    /// The embedded store.
    pub embedded: EmbeddedSettings,
    /// The ClickHouse store.
    pub clickhouse: ClickHouseSettings,
}

/// The two stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// One SQLite file on this machine.
    Embedded,
    /// A ClickHouse server or cluster.
    Clickhouse,
}

/// The embedded store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedSettings {
    /// Its file.
    pub path: PathBuf,
}

/// The ClickHouse store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseSettings {
    /// HTTP URL.
    pub url: String,
    /// Database, created if missing.
    pub database: String,
    /// User; empty for the default one.
    pub user: String,
    /// Password; a secret.
    pub password: String,
    /// Compression on the wire.
    pub compression: Compression,
}

/// Compression between Tally and ClickHouse (the one enum: the store reads this too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// LZ4 (ClickHouse's own).
    #[default]
    Lz4,
    /// None: cheaper on loopback.
    None,
}

/// The ingest role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    /// Whether `tally run` ingests.
    pub enabled: bool,
    /// Files (and stdin, and HTTP) or Kafka.
    pub source: Source,
    /// NDJSON files read at start-up.
    pub files: Vec<PathBuf>,
    /// Read NDJSON from stdin too.
    pub stdin: bool,
    /// Events per batch at most.
    #[serde(deserialize_with = "crate::whole::usize")]
    pub batch_max_events: usize,
    /// Longest a batch waits before it is written.
    pub batch_max_wait: Span,
    /// First wait after a failed write.
    pub retry_min: Span,
    /// Longest wait between retries.
    pub retry_max: Span,
    /// Longest one attempt to make a batch durable may take before it is abandoned
    /// and retried (a store that stops answering must not stall ingest for ever).
    pub store_timeout: Span,
    /// Events whose time is older than this are refused (`too_late`).
    pub late_window: Span,
    /// Events whose time is further ahead of the clock than this are refused (`future_time`).
    pub future_skew: Span,
    /// Largest event accepted, in bytes (`too_large`).
    #[serde(deserialize_with = "crate::whole::usize")]
    pub max_event_bytes: usize,
    /// The Kafka source.
    pub kafka: KafkaSettings,
}

/// Where events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// NDJSON files, stdin and the HTTP endpoint.
    Files,
    /// A Kafka consumer group.
    Kafka,
}

/// The Kafka source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap servers.
    pub brokers: String,
    /// Usage topics.
    pub topics: Vec<String>,
    /// Dead-letter topic.
    pub dead_letter_topic: String,
    /// Consumer group.
    pub group: String,
    /// Static membership id; empty for none.
    pub instance_id: String,
    /// librdkafka properties for every client (consumer, producers, metadata).
    pub properties: BTreeMap<String, String>,
    /// Properties whose values are read from environment variables, by name.
    pub properties_from_env: BTreeMap<String, String>,
    /// Properties whose values are read from files (mounted secrets), by path.
    pub properties_from_files: BTreeMap<String, PathBuf>,
}

impl KafkaSettings {
    /// Every librdkafka property every client of the process gets: `properties`, then
    /// those read from the environment and from files (trailing newline cut). A
    /// variable or file that cannot be read is an error naming the key.
    pub fn client_properties(&self) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut out = self.properties.clone();
        for (key, var) in &self.properties_from_env {
            let value = std::env::var(var).map_err(|_| ConfigError::Invalid {
                key: format!("ingest.kafka.properties_from_env.{key}"),
                reason: format!("the environment variable {var} is not set (or not UTF-8)"),
            })?;
            out.insert(key.clone(), value);
        }
        for (key, path) in &self.properties_from_files {
            let value = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
                key: format!("ingest.kafka.properties_from_files.{key}"),
                reason: format!("{}: {e}", path.display()),
            })?;
            out.insert(key.clone(), value.trim_end_matches(['\r', '\n']).to_owned());
        }
        Ok(out)
    }
}

impl StoreSettings {
    /// A one-line name of the store, for messages: `ClickHouse at URL, database D` (the
    /// URL's secrets masked) or `the embedded store FILE`.
    pub fn describe(&self) -> String {
        match self.kind {
            StoreKind::Embedded => format!("the embedded store {}", self.embedded.path.display()),
            StoreKind::Clickhouse => {
                let masked = tally_domain::redact::url(&self.clickhouse.url);
                format!("ClickHouse at {masked}, database {}", self.clickhouse.database)
            }
        }
    }
}

/// Customers and subscriptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsSettings {
    /// How far back a subscription's start, plan change or end may be dated.
    pub max_backdate: Span,
    /// How far ahead.
    pub max_ahead: Span,
}

impl AccountsSettings {
    /// The horizon the domain checks dates against.
    pub fn horizon(&self) -> tally_domain::DateHorizon {
        tally_domain::DateHorizon { past: self.max_backdate.delta(), future: self.max_ahead.delta() }
    }
}

/// The invoicer role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoicerSettings {
    /// Whether `tally run` closes periods.
    pub enabled: bool,
    /// How often.
    pub every: Span,
    /// Draft time after a period ends.
    pub grace: Span,
    /// How far back late usage is looked for.
    pub late_window: Span,
    /// Invoice number prefix.
    pub number_prefix: String,
    /// Credit note number prefix.
    pub credit_note_prefix: String,
    /// An invoice is due this long after it is issued (receivables, overdue listing).
    pub payment_terms: Span,
}

/// The HTTP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Whether `tally run` serves HTTP.
    pub enabled: bool,
    /// Address to bind.
    pub listen: SocketAddr,
    /// Largest body accepted.
    #[serde(deserialize_with = "crate::whole::usize")]
    pub max_body_bytes: usize,
    /// Event requests handled at once; more are answered 429.
    #[serde(deserialize_with = "crate::whole::usize")]
    pub max_in_flight: usize,
    /// Connections held open at once; more wait in the kernel's backlog until one closes.
    #[serde(deserialize_with = "crate::whole::usize")]
    pub max_connections: usize,
    /// A request's headers must arrive within this (slow or idle clients are cut off);
    /// also how long an idle kept-alive connection stays open.
    pub header_timeout: Span,
    /// A request's body must arrive within this, and its answer be ready (408 beyond).
    pub request_timeout: Span,
    /// Who may call: every request needs one of these tokens.
    pub tokens: Vec<ApiToken>,
    /// A TOML file of more `[[tokens]]` (a mounted secret), read at start-up; empty: none.
    pub tokens_file: PathBuf,
    /// TLS certificate chain (PEM); with `tls_key`, the API serves HTTPS. Empty: plain HTTP.
    pub tls_cert: PathBuf,
    /// TLS private key (PEM).
    pub tls_key: PathBuf,
}

/// Who issues invoices and credit notes, as documents print it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSettings {
    /// Legal name.
    pub name: String,
    /// Postal address, lines separated by line breaks.
    pub address: String,
    /// VAT or other tax number.
    pub tax_id: String,
    /// Company registration.
    pub registration: String,
    /// Contact email.
    pub email: String,
    /// A PNG or JPEG logo file; empty: none.
    pub logo: PathBuf,
    /// A line at the foot of every document.
    pub footer: String,
    /// How to pay, by invoice currency code.
    pub payment: BTreeMap<String, PaymentSettings>,
}

/// The reporting currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingSettings {
    /// ISO 4217 code; empty for none.
    pub currency: String,
    /// How much older than the day wanted a rate may be.
    pub rate_max_age: Span,
}

impl ReportingSettings {
    /// Days a rate may be older than the day it is wanted for.
    pub fn max_age_days(&self) -> u32 {
        u32::try_from(self.rate_max_age.get().as_secs() / 86_400).unwrap_or(u32::MAX)
    }
}

/// The accounting import files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportSettings {
    /// `mdy`, `dmy`, `ymd`, or empty for each tool's usual order.
    pub date_order: String,
    /// The IIF receivables account.
    pub receivable_account: String,
    /// The IIF account payments are deposited to.
    pub deposit_account: String,
    /// The IIF account tax is posted to.
    pub tax_account: String,
}

/// How invoices and credit notes are made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentsSettings {
    /// Font files PDFs fall back to for characters the bundled DejaVu Sans lacks
    /// (Chinese, Japanese, Korean), tried in order; missing ones are skipped.
    pub fonts: Vec<PathBuf>,
}

/// How to pay invoices in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// Bank details and the like, lines separated by line breaks.
    #[serde(default)]
    pub instructions: String,
    /// A payment link; `{number}`, `{amount}` and `{currency}` are filled in.
    #[serde(default)]
    pub link: String,
}

impl IssuerSettings {
    /// A name, and payment settings by currency code with links that fill in only
    /// what is known; errors name the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, reason: String| Err(ConfigError::Invalid { key, reason });
        if self.name.trim().is_empty() {
            return invalid("issuer.name".into(), "is empty; documents need the issuer's legal name".into());
        }
        for (currency, pay) in &self.payment {
            let key = format!("issuer.payment.{currency}");
            if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
                return invalid(key, "name a currency by its ISO 4217 code (USD, EUR)".into());
            }
            if !pay.link.is_empty() && !pay.link.starts_with("https://") && !pay.link.starts_with("http://") {
                return invalid(format!("{key}.link"), format!("{:?} is not an http(s) URL", pay.link));
            }
            let mut rest = pay.link.as_str();
            while let Some(open) = rest.find('{') {
                let close = rest[open..].find('}').map(|c| c + open);
                if !matches!(close.map(|c| &rest[open + 1..c]), Some("number" | "amount" | "currency")) {
                    let reason = format!("{:?}: only {{number}}, {{amount}} and {{currency}} are filled in", pay.link);
                    return invalid(format!("{key}.link"), reason);
                }
                rest = &rest[close.unwrap_or(rest.len()) + 1..];
            }
        }
        Ok(())
    }
}

impl ApiToken {
    /// A known role and a well-formed hash; errors name `key.role` or `key.sha256`.
    pub fn check(&self, key: &str) -> Result<(), ConfigError> {
        if !["ingest", "read", "admin"].contains(&self.role.as_str()) {
            return Err(ConfigError::Invalid {
                key: format!("{key}.role"),
                reason: format!("{:?}: expected ingest, read or admin", self.role),
            });
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ConfigError::Invalid {
                key: format!("{key}.sha256"),
                reason: "must be 64 hex digits (a SHA-256)".into(),
            });
        }
        Ok(())
    }
}

/// Reads `http.tokens_file`: `[[tokens]]` entries with the fields of `http.tokens`.
pub fn read_tokens_file(path: &std::path::Path) -> Result<Vec<ApiToken>, ConfigError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        tokens: Vec<ApiToken>,
    }
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
        key: "http.tokens_file".into(),
        reason: format!("{}: {e}", path.display()),
    })?;
    let file: File = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        key: "http.tokens_file".into(),
        reason: format!("{}: {e}", path.display()),
    })?;
    for (i, token) in file.tokens.iter().enumerate() {
        token.check(&format!("{} tokens[{i}]", path.display()))?;
    }
    Ok(file.tokens)
}

/// An API token: its holder, its role and its SHA-256 (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    /// Who holds it (logged; the token never is).
    pub name: String,
    /// `ingest` (events only), `read` or `admin`.
    pub role: String,
    /// SHA-256 of the token, 64 hex digits (`tally token new` prints one).
    pub sha256: String,
}

/// The metrics endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Whether `tally run` serves `/metrics`.
    pub enabled: bool,
    /// Address to bind.
    pub listen: SocketAddr,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter.
    pub level: String,
}

impl Settings {
    /// Every API token: `http.tokens` and those of `http.tokens_file` (read now).
    pub fn api_tokens(&self) -> Result<Vec<ApiToken>, ConfigError> {
        let mut tokens = self.http.tokens.clone();
        if !self.http.tokens_file.as_os_str().is_empty() {
            tokens.extend(read_tokens_file(&self.http.tokens_file)?);
        }
        Ok(tokens)
    }

    /// Reads what the settings name outside themselves, as `tally run` will at start-up:
    /// the tokens file and the TLS certificate and key (when the HTTP server is on).
    pub fn check_files(&self) -> Result<(), ConfigError> {
        if !self.http.enabled {
            return Ok(());
        }
        self.api_tokens()?;
        for (key, path) in [("http.tls_cert", &self.http.tls_cert), ("http.tls_key", &self.http.tls_key)] {
            if !path.as_os_str().is_empty() {
                std::fs::read(path).map_err(|e| ConfigError::Invalid {
                    key: key.into(),
                    reason: format!("{}: {e}", path.display()),
                })?;
            }
        }
        Ok(())
    }

    /// Checks what types alone cannot: every problem names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| Err(ConfigError::Invalid { key: key.to_owned(), reason });
        if self.catalog.as_os_str().is_empty() {
            return invalid("catalog", "is empty; give the price catalog's file".into());
        }
        match self.store.kind {
            StoreKind::Embedded if self.store.embedded.path.as_os_str().is_empty() => {
                return invalid("store.embedded.path", "is empty; give the embedded store's file".into());
            }
            StoreKind::Clickhouse => {
                let ch = &self.store.clickhouse;
                if !(ch.url.starts_with("http://") || ch.url.starts_with("https://")) {
                    return invalid("store.clickhouse.url", format!("{:?} is not an http:// or https:// URL", ch.url));
                }
                if ch.database.is_empty() || !ch.database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return invalid(
                        "store.clickhouse.database",
                        format!("{:?}: use letters, digits and underscores", ch.database),
                    );
                }
            }
            StoreKind::Embedded => {}
        }
        self.issuer.check()?;
        let code = &self.reporting.currency;
        if !code.is_empty() && (code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase())) {
            return invalid("reporting.currency", format!("{code:?}: name a currency by its ISO 4217 code (EUR, USD)"));
        }
        if !["", "mdy", "dmy", "ymd"].contains(&self.exports.date_order.as_str()) {
            return invalid("exports.date_order", format!("{:?}: expected mdy, dmy or ymd", self.exports.date_order));
        }
        for (key, account) in [
            ("exports.receivable_account", &self.exports.receivable_account),
            ("exports.deposit_account", &self.exports.deposit_account),
            ("exports.tax_account", &self.exports.tax_account),
        ] {
            if account.trim().is_empty() {
                return invalid(key, "is empty; give the account's name as the books have it".into());
            }
        }
        for (key, pattern) in [
            ("invoicer.number_prefix", &self.invoicer.number_prefix),
            ("invoicer.credit_note_prefix", &self.invoicer.credit_note_prefix),
        ] {
            tally_domain::NumberPattern::parse(pattern)
                .map_err(|reason| ConfigError::Invalid { key: key.into(), reason })?;
        }
        let ingest = &self.ingest;
        if ingest.batch_max_events == 0 {
            return invalid("ingest.batch_max_events", "must be at least 1".into());
        }
        if ingest.retry_min.get().is_zero() || ingest.retry_min > ingest.retry_max {
            return invalid(
                "ingest.retry_min",
                format!("must be above zero and at most retry_max ({})", ingest.retry_max),
            );
        }
        if ingest.enabled && ingest.source == Source::Kafka {
            let kafka = &ingest.kafka;
            for (key, value) in [
                ("ingest.kafka.brokers", &kafka.brokers),
                ("ingest.kafka.dead_letter_topic", &kafka.dead_letter_topic),
                ("ingest.kafka.group", &kafka.group),
            ] {
                if value.trim().is_empty() {
                    return invalid(key, "is empty and the Kafka source needs it".into());
                }
            }
            if kafka.topics.is_empty() || kafka.topics.iter().any(|t| t.trim().is_empty()) {
                return invalid("ingest.kafka.topics", "needs at least one topic, none empty".into());
            }
            if kafka.topics.contains(&kafka.dead_letter_topic) {
                return invalid("ingest.kafka.dead_letter_topic", "is also a usage topic".into());
            }
        }
        if ingest.store_timeout.get().is_zero() {
            return invalid("ingest.store_timeout", "must be above zero".into());
        }
        if ingest.max_event_bytes == 0 {
            return invalid("ingest.max_event_bytes", "must be at least 1".into());
        }
        if ingest.late_window.get().is_zero() {
            return invalid("ingest.late_window", "must be above zero".into());
        }
        if self.invoicer.every.get().is_zero() {
            return invalid("invoicer.every", "must be above zero".into());
        }
        if self.invoicer.number_prefix == self.invoicer.credit_note_prefix {
            return invalid("invoicer.credit_note_prefix", "must differ from invoicer.number_prefix".into());
        }
        for (i, token) in self.http.tokens.iter().enumerate() {
            token.check(&format!("http.tokens[{i}]"))?;
        }
        if self.http.tls_cert.as_os_str().is_empty() != self.http.tls_key.as_os_str().is_empty() {
            return invalid("http.tls_key", "give both http.tls_cert and http.tls_key, or neither".into());
        }
        if self.http.enabled && self.http.max_in_flight == 0 {
            return invalid("http.max_in_flight", "must be at least 1".into());
        }
        if self.http.enabled && self.http.max_body_bytes == 0 {
            return invalid("http.max_body_bytes", "must be at least 1".into());
        }
        // Every duration and size within a bound that the arithmetic on dates and the
        // server can hold: beyond it, a typo ("300000years") would overflow a date at
        // run time instead of failing here.
        const DAY: u64 = 86_400;
        let spans = [
            ("ingest.batch_max_wait", ingest.batch_max_wait, 3_600),
            ("ingest.retry_max", ingest.retry_max, 3_600),
            ("ingest.store_timeout", ingest.store_timeout, 3_600),
            ("ingest.late_window", ingest.late_window, 3_660 * DAY),
            ("ingest.future_skew", ingest.future_skew, DAY),
            ("accounts.max_backdate", self.accounts.max_backdate, 3_660 * DAY),
            ("accounts.max_ahead", self.accounts.max_ahead, 3_660 * DAY),
            ("invoicer.every", self.invoicer.every, 31 * DAY),
            ("invoicer.grace", self.invoicer.grace, 366 * DAY),
            ("invoicer.late_window", self.invoicer.late_window, 3_660 * DAY),
            ("invoicer.payment_terms", self.invoicer.payment_terms, 3_660 * DAY),
            ("http.header_timeout", self.http.header_timeout, 3_600),
            ("http.request_timeout", self.http.request_timeout, 3_600),
        ];
        for (key, span, max_seconds) in spans {
            if span.get().as_secs() > max_seconds {
                let max = Span(std::time::Duration::from_secs(max_seconds));
                return invalid(key, format!("{span} is over the limit of {max}"));
            }
        }
        // Late usage is only billed when ingest accepts it: a longer invoicer window
        // would look for events ingest already refused.
        if self.invoicer.late_window > ingest.late_window {
            return invalid(
                "invoicer.late_window",
                format!(
                    "{} is longer than ingest.late_window ({}): events that late are refused at ingest, \
                     so they could never be billed; raise ingest.late_window too (or load history \
                     with `tally backfill`)",
                    self.invoicer.late_window, ingest.late_window
                ),
            );
        }
        let sizes = [
            ("ingest.batch_max_events", ingest.batch_max_events, 1_000_000),
            ("ingest.max_event_bytes", ingest.max_event_bytes, 1 << 20),
            ("http.max_body_bytes", self.http.max_body_bytes, 1 << 30),
            ("http.max_in_flight", self.http.max_in_flight, 100_000),
            ("http.max_connections", self.http.max_connections, 1_000_000),
        ];
        for (key, size, max) in sizes {
            if size > max {
                return invalid(key, format!("{size} is over the limit of {max}"));
            }
        }
        if self.http.enabled {
            for (key, zero) in [
                ("http.max_connections", self.http.max_connections == 0),
                ("http.header_timeout", self.http.header_timeout.get().is_zero()),
                ("http.request_timeout", self.http.request_timeout.get().is_zero()),
            ] {
                if zero {
                    return invalid(key, "must be above zero".into());
                }
            }
        }
        if self.http.enabled && self.metrics.enabled && self.http.listen == self.metrics.listen {
            return invalid("metrics.listen", format!("{} is also http.listen", self.metrics.listen));
        }
        Ok(())
    }
}
