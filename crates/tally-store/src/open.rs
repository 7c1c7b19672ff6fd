//! Opening the store a configuration names: the one opener every command and role
//! uses, so `tally run`, `tally migrate` and `tally invoice close` cannot disagree on
//! how the same settings reach the same store.

use tally_config::{StoreKind, StoreSettings};

use crate::clickhouse::{ClickHouseConfig, ClickHouseStore};
use crate::embedded::EmbeddedStore;
use crate::{AnyStore, StoreError};

impl ClickHouseConfig {
    /// The connection the `[store.clickhouse]` settings describe (an empty user or
    /// password: the server's default user, no password).
    pub fn from_settings(settings: &tally_config::ClickHouseSettings) -> ClickHouseConfig {
        ClickHouseConfig {
            url: settings.url.clone(),
            database: settings.database.clone(),
            user: Some(settings.user.clone()).filter(|u| !u.is_empty()),
            password: Some(settings.password.clone()).filter(|p| !p.is_empty()),
            compression: settings.compression,
        }
    }
}

impl AnyStore {
    /// Opens and migrates the store `settings` name; the embedded store's directory is
    /// created if missing. An error says which store (`settings.describe()`).
    pub async fn open(settings: &StoreSettings) -> Result<AnyStore, StoreError> {
        match settings.kind {
            StoreKind::Embedded => {
                let path = &settings.embedded.path;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Corrupt {
                        context: format!("creating {}", dir.display()),
                        message: e.to_string(),
                    })?;
                }
                Ok(AnyStore::Embedded(EmbeddedStore::open(path)?))
            }
            StoreKind::Clickhouse => {
                let config = ClickHouseConfig::from_settings(&settings.clickhouse);
                Ok(AnyStore::ClickHouse(ClickHouseStore::open(&config).await?))
            }
        }
    }
}
