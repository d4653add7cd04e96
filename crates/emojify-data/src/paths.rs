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

    /// Resolves `name` (absolute paths are taken as they are) to an existing regular file.
    ///
    /// The first candidate that is present decides: a regular file is returned; a directory,
    /// a broken link or an entry the system refuses to open is an error naming it, rather than
    /// a silent fall-through to a later (possibly different) copy of the data.
    pub fn resolve(&self, name: &Path) -> Result<PathBuf, DataError> {
        let candidates: Vec<PathBuf> = if name.is_absolute() {
            vec![name.to_path_buf()]
        } else {
            self.roots.iter().map(|r| r.join(name)).collect()
        };
        for path in &candidates {
            if let Some(found) = usable(path)? {
                return Ok(found);
            }
        }
        Err(DataError::NotFound {
            name: name.display().to_string(),
            searched: candidates,
        })
    }
}

/// `Ok(None)` when nothing is at `path`; `Ok(Some)` for a regular file that can be opened.
fn usable(path: &Path) -> Result<Option<PathBuf>, DataError> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(DataError::bad_file(
            path,
            format!("is {what}; expected a data file here"),
        ));
    }
    std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    Ok(Some(path.to_path_buf()))
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

    #[test]
    fn present_but_unusable_entries_are_named_not_skipped() {
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(tmp.path().join("emojiset/train.csv")).expect("dir");
        let looped = tmp.path().join("emojiset/loop.csv");
        std::os::unix::fs::symlink(&looped, &looped).expect("symlink");
        let dir = DataDir::new(Some(tmp.path()));
        let msg = dir
            .resolve(Path::new("emojiset/train.csv"))
            .expect_err("a directory")
            .to_string();
        assert!(msg.contains("train.csv: is a directory"), "{msg}");
        let msg = dir
            .resolve(Path::new("emojiset/loop.csv"))
            .expect_err("a symlink loop")
            .to_string();
        assert!(msg.contains("loop.csv:"), "{msg}");
        assert!(!msg.contains("not found"), "{msg}");
    }
}
