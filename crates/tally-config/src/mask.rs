//! Showing a configuration without its secrets.

use crate::settings::Settings;

const MASK: &str = "********";

/// Keys of librdkafka properties whose values are secret.
fn secret_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "jaas", "key.pem", "private"].iter().any(|word| key.contains(word))
}

/// `scheme://user:password@host` with the password masked.
fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:{MASK}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

impl Settings {
    /// `scheme://user:password@host` with the password masked.
    pub fn mask_url(url: &str) -> String {
        mask_url(url)
    }

    /// A copy with every secret replaced by `********` (empty secrets stay empty).
    pub fn masked(&self) -> Settings {
        let mut out = self.clone();
        let ch = &mut out.store.clickhouse;
        if !ch.password.is_empty() {
            ch.password = MASK.to_owned();
        }
        ch.url = mask_url(&ch.url);
        for (key, value) in &mut out.ingest.kafka.properties {
            if secret_property(key) {
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
