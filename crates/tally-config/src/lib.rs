//! Tally's configuration: what every `tally` command does and where.
//!
//! Four layers, later ones winning: the built-in defaults (`config/default.toml`,
//! compiled in, so the binary runs from anywhere), an optional file (`--config`), the
//! environment (`TALLY__SECTION__KEY`) and a command's flags, each of which names the
//! key it sets; every command reads the same tree, so a default exists once. The
//! result is checked once at start-up: an unknown key, a value of the wrong type or an
//! inconsistent choice is an error naming the key, before any role starts. Secrets are masked when shown.

mod duration;
mod error;
mod explain;
mod load;
mod mask;
mod settings;
mod whole;

pub use duration::Span;
pub use error::ConfigError;
pub use explain::{explain, Layer, Shown};
pub use load::{load, parse, Override, OverrideValue, Sources, DEFAULT_TOML, ENV_PREFIX};
pub use settings::read_tokens_file;
pub use settings::{
    ApiToken, ClickHouseSettings, Compression, DocumentsSettings, EmbeddedSettings, HttpSettings, IngestSettings,
    InvoicerSettings, IssuerSettings, KafkaSettings, LogSettings, MetricsSettings, PaymentSettings, Settings, Source,
    StoreKind, StoreSettings,
};
