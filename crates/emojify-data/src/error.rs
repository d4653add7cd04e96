//! One error type for everything the data crate can refuse.

use std::path::PathBuf;

/// What went wrong while reading or preparing data; every variant names the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{name} not found; looked in:\n{}", searched.iter().map(|p| format!("  - {}", p.display())).collect::<Vec<_>>().join("\n"))]
    NotFound {
        name: String,
        searched: Vec<PathBuf>,
    },
    #[error("{file}:{line}: {reason}")]
    BadRow {
        file: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{file}: {reason}")]
    BadFile { file: PathBuf, reason: String },
    #[error(
        "{file}: checksum mismatch (expected {expected}, found {found}); the file is corrupt or truncated"
    )]
    Checksum {
        file: PathBuf,
        expected: String,
        found: String,
    },
    #[error("unknown word `{word}`{}", if suggestions.is_empty() { String::new() } else { format!(" (did you mean {}?)", suggestions.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")) })]
    UnknownWord {
        word: String,
        suggestions: Vec<String>,
    },
    #[error("axis `{0}` must be two known words joined by `-`, e.g. `woman-man`")]
    BadAxis(String),
    #[error("pair `{0}` must be two known words joined by `:`, e.g. `actor:actress`")]
    BadPair(String),
    #[error("fetching GloVe failed: {0}")]
    Fetch(String),
}

impl DataError {
    pub(crate) fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            file: file.into(),
            source,
        }
    }

    pub(crate) fn bad_file(file: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        DataError::BadFile {
            file: file.into(),
            reason: reason.into(),
        }
    }
}
