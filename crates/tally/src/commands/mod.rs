//! One module per subcommand.

pub mod backfill;
pub mod books;
pub mod catalog;
pub mod config;
pub mod customers;
pub mod demo;
pub mod documents;
pub mod ingest;
pub mod invoice;
pub mod kafka_send;
pub mod metrics_http;
pub mod migrate;
pub mod produce;
pub mod rate;
pub mod ready;
pub mod receivables;
pub mod replay_dlq;
pub mod run;
pub mod settings;
pub mod statement;
pub mod subscriptions;
pub mod table;
pub mod token;

use std::path::Path;

use anyhow::anyhow;
use tally_domain::{Catalog, CatalogError};

/// Loads a catalog, turning a list of problems into one line that names the first and
/// says how to see them all.
pub fn load_catalog(path: &Path) -> anyhow::Result<Catalog> {
    Catalog::load(path).map_err(|err| match &err {
        CatalogError::Invalid { problems, .. } if problems.len() > 1 => {
            let first = err.lines().remove(0);
            anyhow!(
                "{first} (and {} more problem{}; run `tally catalog check {}` to list them all)",
                problems.len() - 1,
                if problems.len() == 2 { "" } else { "s" },
                path.display()
            )
        }
        _ => anyhow!(err.lines().join(" ")),
    })
}
