//! Where the ClickHouse store connects, and how.

use serde::Deserialize;

/// ClickHouse connection settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    /// HTTP endpoint, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// Database holding Tally's tables; created by the migrations if missing.
    pub database: String,
    /// User name, if not the server's default user.
    pub user: Option<String>,
    /// Password for `user`.
    pub password: Option<String>,
    /// Compress what travels between Tally and ClickHouse: `lz4` (default) or `none`.
    /// On loopback, `none` saves the CPU both ends spend compressing.
    pub compression: Compression,
}

/// Wire compression between Tally and ClickHouse: the settings' enum, one for both.
pub use tally_config::Compression;

impl Default for ClickHouseConfig {
    fn default() -> Self {
        ClickHouseConfig {
            url: "http://127.0.0.1:8123".into(),
            database: "tally".into(),
            user: None,
            password: None,
            compression: Compression::Lz4,
        }
    }
}
