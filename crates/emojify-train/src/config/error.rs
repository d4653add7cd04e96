//! The config's error, and how a check names the offending key and the line it is on.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{file}:{line}: `{key}` {reason}")]
    Invalid {
        file: PathBuf,
        line: usize,
        key: String,
        reason: String,
    },
}

/// Makes [`ConfigError::Invalid`] for a key of the config text being checked.
pub struct Fail<'a> {
    text: &'a str,
    file: &'a Path,
}

impl<'a> Fail<'a> {
    /// For checks of `text`, read from `file` (named in messages only).
    pub fn new(text: &'a str, file: &'a Path) -> Self {
        Fail { text, file }
    }

    /// `key` of `[table]` (`None`: top level) is invalid for `reason`; the line is found by
    /// scanning the text (0 when the key is not written, i.e. a default).
    pub fn at(&self, table: Option<&str>, key: &str, reason: String) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            line: line_of(self.text, table, key).unwrap_or(0),
            key: table.map_or_else(|| key.to_string(), |t| format!("{t}.{key}")),
            reason,
        }
    }
}

/// 1-based line of `key` inside `[table]` (or at top level), found by scanning the text.
pub(super) fn line_of(text: &str, table: Option<&str>, key: &str) -> Option<usize> {
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix('[') {
            current = Some(rest.trim_end_matches(']').trim().to_string());
            continue;
        }
        let in_table = match table {
            None => current.is_none(),
            Some(t) => current.as_deref() == Some(t),
        };
        if in_table && l.split('=').next().map(str::trim) == Some(key) && l.contains('=') {
            return Some(i + 1);
        }
    }
    None
}
