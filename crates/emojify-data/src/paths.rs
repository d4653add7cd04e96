//! Where data files are looked for: the configured directory, `$EMOJIFY_DATA`, `./data`, then the
//! shared mirror `../shared/data`. A miss lists every place searched.

use std::path::{Path, PathBuf};

use crate::DataError;

/// An ordered list of directories in which relative data paths are resolved.
#[derive(Debug, Clone)]
pub struct DataDir {
    roots: Vec<PathBuf>,
}

impl DataDir {
    /// The standard search order; `configured` is the run config's `data_dir`, if any.
    pub fn new(configured: Option<&Path>) -> Self {
        let mut roots = Vec::new();
        if let Some(dir) = configured {
            roots.push(dir.to_path_buf());
        }
        if let Some(env) = std::env::var_os("EMOJIFY_DATA").filter(|v| !v.is_empty()) {
            roots.push(PathBuf::from(env));
        }
        roots.push(PathBuf::from("data"));
        roots.push(PathBuf::from("../shared/data"));
        DataDir { roots }
    }

    /// The directories searched, in order.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Resolves `name` (absolute paths are taken as they are) to an existing file.
    pub fn resolve(&self, name: &Path) -> Result<PathBuf, DataError> {
        if name.is_absolute() {
            return if name.is_file() {
                Ok(name.to_path_buf())
            } else {
                Err(DataError::NotFound {
                    name: name.display().to_string(),
                    searched: vec![name.to_path_buf()],
                })
            };
        }
        let candidates: Vec<PathBuf> = self.roots.iter().map(|r| r.join(name)).collect();
        candidates
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .ok_or_else(|| DataError::NotFound {
                name: name.display().to_string(),
                searched: candidates,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_lists_every_place_searched() {
        let dir = DataDir::new(Some(Path::new("/nonexistent/configured")));
        let err = dir
            .resolve(Path::new("emojiset/nope.csv"))
            .expect_err("file does not exist");
        let msg = err.to_string();
        assert!(
            msg.contains("/nonexistent/configured/emojiset/nope.csv"),
            "{msg}"
        );
        assert!(msg.contains("data/emojiset/nope.csv"), "{msg}");
        assert!(msg.contains("../shared/data/emojiset/nope.csv"), "{msg}");
    }
}
