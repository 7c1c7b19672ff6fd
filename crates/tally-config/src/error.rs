//! What can be wrong with a configuration; every message names the key.

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed, or a value has the wrong type.
    #[error("{0}")]
    Parse(String),
    /// A key that no option has (often a typo).
    #[error("unknown key `{key}`{hint}")]
    UnknownKey {
        /// The full key, e.g. `ingest.batch_max_event`.
        key: String,
        /// ` (did you mean ...?)` or empty.
        hint: String,
    },
    /// A value of the right type that cannot be used.
    #[error("`{key}`: {reason}")]
    Invalid {
        /// The full key.
        key: String,
        /// Why, and what would do.
        reason: String,
    },
}
