//! Exports a trained run for other tools: safetensors in PyTorch's layout, and an ONNX graph with
//! its vocabulary. docs/export.md describes both files.

pub mod onnx;
pub mod safetensors;

use std::path::{Path, PathBuf};

use emojify_data::{Embeddings, Observer};

use crate::backend::BackendKind;
use crate::config::{ModelConfig, RunConfig};
use crate::embedding::stores_embedding;
use crate::run::TrainedRun;

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

/// Why an ensemble run cannot be exported: both formats hold one network.
fn ensemble_error(run: &TrainedRun) -> anyhow::Error {
    anyhow::anyhow!(
        "{} is an ensemble of {} networks (`train.ensemble`); safetensors and ONNX exports hold \
         one network each. Train with `train.ensemble = 1` to export, or serve the run itself \
         (`emojify serve --run`)",
        run.dir.path().display(),
        run.config.train.ensemble
    )
}

/// The run's only network; an error for an ensemble.
fn single(run: &TrainedRun) -> anyhow::Result<&emojify_model::Classifier> {
    run.model.single().ok_or_else(|| ensemble_error(run))
}

/// File names inside the export directory.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
pub const ONNX_FILE: &str = "model.onnx";
pub const VOCAB_FILE: &str = "vocab.txt";

/// How the tokenizer turns text into ids, for other tools (stored in the exports' metadata).
pub const TOKENIZER_RULES: &str = "lower-case; curly quotes to straight; split on whitespace; \
leading/trailing punctuation split into tokens (a run of one repeated character is one token); \
clitics 's 're 've 'll 'd 'm and n't split off (GloVe 6B / Penn Treebank style); \
ids are 1-based lines of vocab.txt after its padding line 0; unknown words are dropped \
(oov = skip) or mapped to the last id (oov = unk); ids are left-aligned, truncated at max_len \
and padded with 0";

/// Key/value metadata both formats carry: enough to rebuild the model and tokenise as it did.
pub fn metadata(
    config: &RunConfig,
    embeddings: &Embeddings,
    with_embedding: bool,
) -> Vec<(String, String)> {
    let kind = match config.model {
        ModelConfig::MeanEmbedding {} => "mean-embedding",
        ModelConfig::Lstm { .. } => "lstm",
        ModelConfig::Mlp { .. } => "mlp",
    };
    let json = |v: &[String]| serde_json::Value::from(v.to_vec()).to_string();
    [
        ("emojify.format", "1".to_string()),
        ("emojify.model", kind.to_string()),
        ("emojify.labels", json(&config.data.labels)),
        ("emojify.label_names", json(&config.data.label_names)),
        ("emojify.vocabulary_source", config.embedding.source.clone()),
        ("emojify.vocabulary_sha256", embeddings.sha256.clone()),
        (
            "emojify.vocabulary_size",
            embeddings.vocab.len().to_string(),
        ),
        ("emojify.max_len", config.data.max_len.to_string()),
        (
            "emojify.oov",
            serde_json::to_value(config.data.oov)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
        ),
        ("emojify.tokenizer", TOKENIZER_RULES.to_string()),
        ("emojify.embedding_included", with_embedding.to_string()),
        ("emojify.config", config.to_toml()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(
        // A vocabulary built from the training data has no source to fetch it from.
        stores_embedding(config).then(|| {
            (
                "emojify.vocabulary".to_string(),
                json(embeddings.vocab.words()),
            )
        }),
    )
    .collect()
}

/// The vocabulary as other tools need it: line `i` is the word with id `i` (line 0 is padding,
/// and with `oov = "unk"` the last line is the unknown word).
pub fn vocab_text(config: &RunConfig, embeddings: &Embeddings) -> String {
    let mut out = String::with_capacity(embeddings.vocab.len() * 9);
    out.push_str("<pad>\n");
    for word in embeddings.vocab.words() {
        out.push_str(word);
        out.push('\n');
    }
    if config.data.oov == emojify_data::OovPolicy::Unk {
        out.push_str("<unk>\n");
    }
    out
}

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
        if loaded.config.data.kind != crate::config::DataKind::SequenceCsv {
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
