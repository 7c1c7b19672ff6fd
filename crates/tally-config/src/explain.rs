//! `tally config show`: every effective value beside the layer that set it (the
//! built-in defaults, the file, a `TALLY__...` variable or a command's flag), so an
//! operator asking "why is it this?" reads the answer instead of diffing files.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::error::ConfigError;
use crate::load::{load, Sources, ENV_PREFIX, OPEN_TABLES};

/// Which layer set a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    /// The built-in defaults (`config/default.toml`).
    Default,
    /// The `--config` file.
    File(PathBuf),
    /// An environment variable, by name.
    Env(String),
    /// A command-line flag, by name.
    Flag(String),
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Default => f.write_str("default"),
            Layer::File(path) => write!(f, "file {}", path.display()),
            Layer::Env(var) => write!(f, "env {var}"),
            Layer::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// One effective value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The full key as TOML writes it: `store.clickhouse.url`,
    /// `ingest.kafka.properties."security.protocol"`.
    pub key: String,
    /// The value as inline TOML, secrets masked.
    pub value: String,
    /// Who set it.
    pub layer: Layer,
}

/// Every effective value of the configuration `sources` give, in key order, each with
/// its layer; secrets masked. Fails as [`load`] does on a configuration that is invalid.
pub fn explain(sources: &Sources<'_>) -> Result<Vec<Shown>, ConfigError> {
    let settings = load(sources)?;
    let tree = toml::Value::try_from(settings.masked()).map_err(|e| ConfigError::Parse(e.to_string()))?;
    let mut layers: Vec<(Vec<Vec<String>>, Layer)> = Vec::new();
    if let Some(path) = sources.file {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Parse(format!("{}: {e}", path.display())))?;
        let file: toml::Value =
            toml::from_str(&text).map_err(|e| ConfigError::Parse(format!("{}: {e}", path.display())))?;
        let mut keys = Vec::new();
        leaves(&file, &mut Vec::new(), &mut |path, _| keys.push(path.to_vec()));
        layers.push((keys, Layer::File(path.to_path_buf())));
    }
    let vars: BTreeMap<String, String> = match &sources.env {
        Some(vars) => vars.clone(),
        None => std::env::vars().collect(),
    };
    let prefix = format!("{ENV_PREFIX}__");
    for var in vars.keys() {
        if let Some(rest) = var.strip_prefix(&prefix) {
            let path = rest.split("__").map(str::to_ascii_lowercase).collect();
            layers.push((vec![path], Layer::Env(var.clone())));
        }
    }
    for o in &sources.overrides {
        layers.push((vec![o.key.split('.').map(str::to_owned).collect()], Layer::Flag(o.origin.clone())));
    }
    let mut shown = Vec::new();
    leaves(&tree, &mut Vec::new(), &mut |path, value| {
        let layer = layers
            .iter()
            .rev()
            .find(|(keys, _)| keys.iter().any(|k| k.len() <= path.len() && path[..k.len()] == k[..]))
            .map_or(Layer::Default, |(_, layer)| layer.clone());
        shown.push(Shown { key: dotted(path), value: value.to_string(), layer });
    });
    Ok(shown)
}

/// Calls `f` on every value that is not a table, and on every entry of the open
/// tables (librdkafka properties), with its path.
fn leaves(value: &toml::Value, path: &mut Vec<String>, f: &mut dyn FnMut(&[String], &toml::Value)) {
    match value.as_table() {
        Some(table) => {
            let open = OPEN_TABLES.contains(&path.join(".").as_str());
            for (key, inner) in table {
                path.push(key.clone());
                if open {
                    f(path, inner);
                } else {
                    leaves(inner, path, f);
                }
                path.pop();
            }
        }
        None => f(path, value),
    }
}

/// `a.b."c.d"`: bare keys as they are, others quoted.
fn dotted(path: &[String]) -> String {
    let bare = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    path.iter()
        .map(|k| if bare(k) { k.clone() } else { toml::Value::String(k.clone()).to_string() })
        .collect::<Vec<_>>()
        .join(".")
}
