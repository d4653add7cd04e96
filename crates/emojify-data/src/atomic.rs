//! Atomic file writes: a crash or a full disk never leaves a half-written file behind.

use std::io::Write;
use std::path::Path;

use crate::DataError;

/// Writes `path` through a temporary file in the same directory, fsyncs it, then renames it over
/// the destination, so readers see either the old file or the complete new one.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), DataError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".emojify-").suffix(".tmp");
    // Temporary files are private (0600); the finished file is an ordinary readable one.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| DataError::io(dir, e))?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut w).map_err(|e| DataError::io(path, e))?;
        w.flush().map_err(|e| DataError::io(path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| DataError::io(path, e))?;
    tmp.persist(path)
        .map_err(|e| DataError::io(path, e.error))?;
    Ok(())
}

/// [`write_atomic`] for content already in memory.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    write_atomic(path, |w| w.write_all(bytes))
}
