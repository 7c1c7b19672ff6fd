//! Catalog loading errors: every problem found, each with the place it was found.

use std::fmt;

use thiserror::Error;

/// One problem in a catalog: where (`plans[pro].charges[gpt4o_input].price.unit_price`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path to the field, using plan, meter and charge keys where known (`plans[pro]`)
    /// and positions where the key itself is missing (`plans[#2]`).
    pub path: String,
    /// What is wrong, written for the person who edits the file.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a catalog could not be loaded.
#[derive(Debug, Error)]
pub enum CatalogError {
    /// The file could not be read.
    #[error("{file}: cannot read the catalog: {source}")]
    Read {
        /// The file as named by the caller.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{file}: not valid TOML: {message}")]
    Syntax {
        /// The file as named by the caller.
        file: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The TOML is well formed but breaks the pricing contract; every problem is listed.
    #[error("{}", render_invalid(file, problems))]
    Invalid {
        /// The file as named by the caller.
        file: String,
        /// All problems, in file order; never empty.
        problems: Vec<Problem>,
    },
}

fn render_invalid(file: &str, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| format!("{file}: {p}")).collect();
    lines.join("\n")
}

impl CatalogError {
    /// The problems, one per line, each prefixed with the file (the whole message for
    /// read and syntax errors).
    pub fn lines(&self) -> Vec<String> {
        match self {
            CatalogError::Invalid { file, problems } => problems.iter().map(|p| format!("{file}: {p}")).collect(),
            other => vec![other.to_string().replace('\n', " ")],
        }
    }
}
