//! Showing a configuration without its secrets (the rule itself: `tally_domain::redact`).

use crate::settings::Settings;

use tally_domain::redact::{self, MASK};

impl Settings {
    /// A copy with every secret replaced by `********` (empty secrets stay empty).
    pub fn masked(&self) -> Settings {
        let mut out = self.clone();
        let ch = &mut out.store.clickhouse;
        if !ch.password.is_empty() {
            ch.password = MASK.to_owned();
        }
        ch.url = redact::url(&ch.url);
        for (key, value) in &mut out.ingest.kafka.properties {
            if redact::is_secret_key(key) {
                *value = MASK.to_owned();
            }
        }
        out
    }

    /// The configuration as TOML, secrets masked: what `tally config show` prints.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string(&self.masked()).expect("settings serialize to TOML")
    }
}
