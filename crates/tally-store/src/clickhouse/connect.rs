//! Connecting: an HTTP client with TCP_NODELAY (small inserts are about 3x slower
//! without it), and row validation chosen by the server's version.

use clickhouse::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use super::config::{ClickHouseConfig, Compression};
use crate::StoreError;

/// The first major version with row validation on. `RowBinaryWithNamesAndTypes`
/// exists since 19.1, but the crate documents its validator only against releases
/// still supported upstream; 18.16 (the test server) has no such format at all.
const VALIDATION_SINCE_MAJOR: u32 = 24;

/// The server's version, as `SELECT version()` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVersion(pub String);

impl ServerVersion {
    /// The major version number (0 if unreadable).
    pub fn major(&self) -> u32 {
        self.0.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0)
    }
}

/// A client for `config` without a default database (the database may not exist yet),
/// with validation set for the server's version.
pub async fn connect(config: &ClickHouseConfig) -> Result<(Client, ServerVersion), StoreError> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    // A server that is down refuses at once; one that is unreachable must not hold a
    // writer for the kernel's minutes-long SYN retries.
    connector.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
    connector.set_keepalive(Some(std::time::Duration::from_secs(60)));
    let http = HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build(connector);
    let compression = match config.compression {
        Compression::Lz4 => clickhouse::Compression::Lz4,
        Compression::None => clickhouse::Compression::None,
    };
    let mut client =
        Client::with_http_client(http).with_url(&config.url).with_validation(false).with_compression(compression);
    if let Some(user) = &config.user {
        client = client.with_user(user);
    }
    if let Some(password) = &config.password {
        client = client.with_password(password);
    }
    let version: String = client
        .query("SELECT version()")
        .fetch_one()
        .await
        .map_err(StoreError::clickhouse(format!("connecting to {}", tally_domain::redact::url(&config.url))))?;
    let version = ServerVersion(version);
    let client = client.with_validation(version.major() >= VALIDATION_SINCE_MAJOR);
    Ok((client, version))
}
