//! Exports a trained run for other tools: safetensors in PyTorch's layout, and an ONNX graph with
//! its vocabulary. docs/export.md describes both files.

pub mod metadata;
pub mod onnx;
pub mod safetensors;

use std::path::{Path, PathBuf};

use emojify_data::Observer;

use crate::backend::BackendKind;
use crate::run::open::TrainedRun;
use crate::usage::export::metadata::{single, vocab_text};

/// Which files `emojify export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Safetensors,
    Onnx,
    All,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "safetensors" => Ok(ExportFormat::Safetensors),
            "onnx" => Ok(ExportFormat::Onnx),
            "all" => Ok(ExportFormat::All),
            _ => Err(format!(
                "unknown export format `{s}` (expected safetensors, onnx or all)"
            )),
        }
    }
}

/// File names inside the export directory.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
pub const ONNX_FILE: &str = "model.onnx";
pub const VOCAB_FILE: &str = "vocab.txt";

/// Where each format goes: `out` is a directory, or, for a single format, the file itself if
/// its extension says so.
fn targets(
    run: &Path,
    format: ExportFormat,
    out: Option<&Path>,
) -> (Option<PathBuf>, Option<PathBuf>) {
    let dir = out.map_or_else(|| run.join("export"), Path::to_path_buf);
    let is_file = |ext: &str| out.is_some_and(|p| p.extension().is_some_and(|e| e == ext));
    let place = |ext: &str, name: &str| {
        if is_file(ext) {
            dir.clone()
        } else {
            dir.join(name)
        }
    };
    match format {
        ExportFormat::Safetensors => (Some(place("safetensors", SAFETENSORS_FILE)), None),
        ExportFormat::Onnx => (None, Some(place("onnx", ONNX_FILE))),
        ExportFormat::All => (Some(dir.join(SAFETENSORS_FILE)), Some(dir.join(ONNX_FILE))),
    }
}

/// Exports the run in `run_dir`; returns the files written.
pub fn export(
    run_dir: &Path,
    format: ExportFormat,
    out: Option<&Path>,
    with_embedding: bool,
    obs: &dyn Observer,
) -> anyhow::Result<Vec<PathBuf>> {
    let (st_path, onnx_path) = targets(run_dir, format, out);
    anyhow::ensure!(
        onnx_path.is_none() || with_embedding,
        "--no-embedding applies to safetensors only: the ONNX graph looks words up in the \
         embedding, so it must contain it (use --format safetensors, or drop --no-embedding)"
    );
    // Exports are written from the CPU copy of the weights, whatever the run trained on.
    let loaded = TrainedRun::open(run_dir, Some(BackendKind::Flex), obs)?;
    // Refused before any file is written.
    single(&loaded)?;
    let mut written = Vec::new();
    if let Some(path) = st_path {
        let bytes = safetensors::to_safetensors(&loaded, with_embedding)?;
        write(&path, &bytes)?;
        written.push(path);
    }
    if let Some(path) = onnx_path {
        let bytes = onnx::to_onnx(&loaded)?;
        write(&path, &bytes)?;
        written.push(path.clone());
        // Numeric sequences need no vocabulary to turn input into the graph's input.
        if !loaded.config.data.kind.numeric() {
            let vocab = path.with_file_name(VOCAB_FILE);
            write(
                &vocab,
                vocab_text(&loaded.config, &loaded.embeddings).as_bytes(),
            )?;
            written.push(vocab);
        }
    }
    Ok(written)
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    emojify_data::atomic::write_bytes_atomic(path, bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_format_and_extension() {
        let run = Path::new("runs/r");
        let (st, onnx) = targets(run, ExportFormat::All, None);
        assert_eq!(
            st.as_deref(),
            Some(Path::new("runs/r/export/model.safetensors"))
        );
        assert_eq!(onnx.as_deref(), Some(Path::new("runs/r/export/model.onnx")));
        let (st, onnx) = targets(
            run,
            ExportFormat::Safetensors,
            Some(Path::new("w/m.safetensors")),
        );
        assert_eq!(
            (st.as_deref(), onnx),
            (Some(Path::new("w/m.safetensors")), None)
        );
        let (st, onnx) = targets(run, ExportFormat::Onnx, Some(Path::new("w")));
        assert_eq!(
            (st, onnx.as_deref()),
            (None, Some(Path::new("w/model.onnx")))
        );
    }
}
