//! The Kafka connection every client of the process shares: the bootstrap servers and
//! the operator's librdkafka properties (`security.protocol`, `sasl.*`, `ssl.*`), given
//! to the consumer, both producers, the replay reader and the readiness probe alike:
//! a secured cluster refuses any client that lacks them, so no client may be built
//! from `bootstrap.servers` alone.
//!
//! librdkafka reports why it cannot reach a broker (a TLS handshake that failed, a
//! SASL login refused) only through its log and error callbacks, and the `rdkafka`
//! crate sends those to the `log` crate, which this project does not install. The
//! [`Reporting`] context sends them to `tracing` and keeps the last one, so an error
//! such as "all brokers are down" can say what the broker side said.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, ClientContext};

/// Where Kafka is and how to connect to it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KafkaClient {
    /// Bootstrap servers, comma-separated.
    pub brokers: String,
    /// librdkafka properties every client gets (security, timeouts).
    pub properties: BTreeMap<String, String>,
}

impl fmt::Debug for KafkaClient {
    /// Property values whose keys name a secret are masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked: BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(k, v)| {
                let shown = if tally_domain::redact::is_secret_key(k) { tally_domain::redact::MASK } else { v };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("KafkaClient").field("brokers", &self.brokers).field("properties", &masked).finish()
    }
}

impl KafkaClient {
    /// Servers `brokers`, no extra properties.
    pub fn new(brokers: impl Into<String>) -> KafkaClient {
        KafkaClient { brokers: brokers.into(), properties: BTreeMap::new() }
    }

    /// A client configuration with the servers and the properties; each client adds
    /// its own settings after these (those its exactness depends on win).
    pub fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// A client context that logs librdkafka's messages through `tracing` and keeps the
/// last error, for messages that say why no broker answered. Clones share it (a
/// producer owns its context; the clone kept beside it reads the same last error).
#[derive(Clone, Default)]
pub struct Reporting {
    last: Arc<Mutex<Option<String>>>,
}

impl Reporting {
    /// The last error librdkafka reported, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// `context` and the last broker error, when there is one: for error messages.
    pub fn explain(&self, context: &str) -> String {
        match self.last_error() {
            Some(last) => format!("{context} (last broker error: {last})"),
            None => context.to_owned(),
        }
    }

    fn keep(&self, text: String) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(text);
        }
    }
}

impl ClientContext for Reporting {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        log(level, fac, message);
        if (level as i32) <= RDKafkaLogLevel::Error as i32 {
            self.keep(message.to_owned());
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "kafka client error");
        self.keep(reason.to_owned());
    }
}

/// The replay reader and the readiness probe are consumers; nothing to add for them.
impl rdkafka::consumer::ConsumerContext for Reporting {}

/// librdkafka's log line at the matching `tracing` level.
pub(crate) fn log(level: RDKafkaLogLevel, fac: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
            tracing::error!(fac, "librdkafka: {message}")
        }
        RDKafkaLogLevel::Warning => tracing::warn!(fac, "librdkafka: {message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => tracing::info!(fac, "librdkafka: {message}"),
        RDKafkaLogLevel::Debug => tracing::debug!(fac, "librdkafka: {message}"),
    }
}
