//! Reading the three layers into [`Settings`], and finding keys no option has.

use std::collections::BTreeMap;
use std::path::Path;

use config::{Config, Environment, File, FileFormat};

use crate::error::ConfigError;
use crate::settings::Settings;

/// The built-in defaults: `config/default.toml`, every option present and commented.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Environment variables `TALLY__SECTION__KEY` override the file.
pub const ENV_PREFIX: &str = "TALLY";

/// Maps whose keys are free (they go to librdkafka as they are; currency codes).
pub(crate) const OPEN_TABLES: [&str; 4] = [
    "ingest.kafka.properties",
    "ingest.kafka.properties_from_env",
    "ingest.kafka.properties_from_files",
    "issuer.payment",
];

/// Where a configuration comes from besides the defaults.
#[derive(Debug, Default, Clone)]
pub struct Sources<'a> {
    /// A TOML file layered over the defaults.
    pub file: Option<&'a Path>,
    /// The environment to read `TALLY__...` from; `None` reads the process's.
    pub env: Option<BTreeMap<String, String>>,
    /// A command's flags, each naming the key it sets: the last layer, over the
    /// environment.
    pub overrides: Vec<Override>,
}

/// One key a command-line flag sets (`--database x` sets `store.clickhouse.database`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The full key, e.g. `store.clickhouse.database`.
    pub key: String,
    /// Its value, read as the environment's values are (text, or a list of texts).
    pub value: OverrideValue,
    /// The flag, as `tally config show` names the layer: `--database`.
    pub origin: String,
}

/// A flag's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideValue {
    /// Text, parsed by the option's type (`"30s"`, `"true"`, `"65536"`).
    Text(String),
    /// A list (`ingest.kafka.topics`).
    List(Vec<String>),
}

impl Override {
    /// `key` set to `value` by `origin`.
    pub fn text(key: &str, value: impl Into<String>, origin: &str) -> Override {
        Override { key: key.to_owned(), value: OverrideValue::Text(value.into()), origin: origin.to_owned() }
    }

    /// `key` set to the list `values` by `origin`.
    pub fn list(key: &str, values: Vec<String>, origin: &str) -> Override {
        Override { key: key.to_owned(), value: OverrideValue::List(values), origin: origin.to_owned() }
    }
}

/// Loads and checks the configuration: defaults, then the file, then the environment.
pub fn load(sources: &Sources<'_>) -> Result<Settings, ConfigError> {
    let mut builder = Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
    if let Some(path) = sources.file {
        if !path.is_file() {
            return Err(ConfigError::Parse(format!("configuration file {} not found", path.display())));
        }
        builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
    }
    finish(builder, sources)
}

/// The configuration `text` (TOML) layered over the defaults, with no environment:
/// what a file holding `text` would give (the settings fuzz target reads through this).
pub fn parse(text: &str) -> Result<Settings, ConfigError> {
    let builder = Config::builder()
        .add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml))
        .add_source(File::from_str(text, FileFormat::Toml));
    finish(builder, &Sources { file: None, env: Some(BTreeMap::new()), overrides: Vec::new() })
}

fn finish(
    builder: config::ConfigBuilder<config::builder::DefaultState>,
    sources: &Sources<'_>,
) -> Result<Settings, ConfigError> {
    let env = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .with_list_parse_key("ingest.kafka.topics")
        .with_list_parse_key("ingest.files")
        .source(sources.env.as_ref().map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect()));
    let mut builder = builder.add_source(env);
    for o in &sources.overrides {
        let value = match &o.value {
            OverrideValue::Text(text) => config::Value::from(text.as_str()),
            OverrideValue::List(items) => config::Value::from(items.clone()),
        };
        builder = builder.set_override(o.key.as_str(), value).map_err(|e| ConfigError::Parse(e.to_string()))?;
    }
    let config = builder.build().map_err(|e| ConfigError::Parse(e.to_string()))?;
    let tree: toml::Value = config.clone().try_deserialize().map_err(|e| ConfigError::Parse(e.to_string()))?;
    let defaults: toml::Value = toml::from_str(DEFAULT_TOML).expect("the built-in defaults are valid TOML");
    unknown_key(&tree, &defaults, "")?;
    let settings: Settings = config.try_deserialize().map_err(|e| ConfigError::Parse(e.to_string()))?;
    settings.validate()?;
    Ok(settings)
}

/// Fails on the first key of `tree` that `defaults` does not have.
fn unknown_key(tree: &toml::Value, defaults: &toml::Value, prefix: &str) -> Result<(), ConfigError> {
    let (Some(tree), Some(defaults)) = (tree.as_table(), defaults.as_table()) else {
        return Ok(());
    };
    if OPEN_TABLES.contains(&prefix) {
        return Ok(());
    }
    for (key, value) in tree {
        let full = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match defaults.get(key) {
            Some(known) => unknown_key(value, known, &full)?,
            None => {
                let near = defaults.keys().min_by_key(|k| distance(k, key)).filter(|k| distance(k, key) <= 3);
                let hint = match near {
                    Some(k) if prefix.is_empty() => format!(" (did you mean `{k}`?)"),
                    Some(k) => format!(" (did you mean `{prefix}.{k}`?)"),
                    None => format!(" (known here: {})", defaults.keys().cloned().collect::<Vec<_>>().join(", ")),
                };
                return Err(ConfigError::UnknownKey { key: full, hint });
            }
        }
    }
    Ok(())
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
