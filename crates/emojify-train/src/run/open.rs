//! Opening a trained run: the one way predict, text, export (and anything later) load a run
//! directory — its config, its vocabulary, an integrity check of the embedding and weights
//! against `summary.json` (each file read once), then the model built and its weights loaded.

use std::path::Path;

use anyhow::Context;
use burn::prelude::*;
use emojify_data::{Embeddings, Observer};

use crate::backend::BackendKind;
use crate::config::RunConfig;
use crate::fit::model::{SharedMatrix, build_model_from};
use crate::fit::weights::load_weights_bytes;
use crate::inputs::embedding::{embeddings_for_vocabulary, load_embeddings, stores_embedding};
use crate::run::dir::{self as run_dir, RunDir, member_file};
use crate::strategies::ensemble::Ensemble;

/// A trained run, loaded and checked.
pub struct TrainedRun {
    pub dir: RunDir,
    pub config: RunConfig,
    pub embeddings: Embeddings,
    /// The trained network (or `train.ensemble` networks) on `device`, for inference.
    pub model: Ensemble,
    pub device: Device,
    /// The backend `device` belongs to.
    pub backend: BackendKind,
    /// The temperature its predictions are scaled by (`train.calibrate_folds`; 1 without).
    pub temperature: f64,
    /// Its `summary.json` (none for a run whose training has not finished).
    pub summary: Option<serde_json::Value>,
}

impl TrainedRun {
    /// Opens the run in `dir` on `backend` (the run's own when `None`).
    pub fn open(
        dir: &Path,
        backend: Option<BackendKind>,
        obs: &dyn Observer,
    ) -> anyhow::Result<Self> {
        let run = RunDir::open(dir)?;
        let config = RunConfig::load(&run.file(run_dir::CONFIG_FILE))?;
        let embeddings = run_embeddings(&run, &config, obs)?;
        let summary = read_summary(&run)?;
        check_embedding(&run, &config, &embeddings, summary.as_ref())?;
        let backend = backend.unwrap_or(config.backend);
        let device = backend.device(config.wgpu_device)?;
        let mut networks = Vec::with_capacity(config.train.ensemble);
        // A frozen embedding is the same in every network: built once, shared (a stored one
        // is then replaced by each network's own weights).
        let matrix = SharedMatrix::new(&config, &embeddings, &device);
        for j in 0..config.train.ensemble {
            let name = member_file(j);
            let weights_path = run.file(&name);
            let weights = std::fs::read(&weights_path).with_context(|| {
                format!(
                    "reading {} (network {} of the run's {})",
                    weights_path.display(),
                    j + 1,
                    config.train.ensemble
                )
            })?;
            check_weights(&run, summary.as_ref(), j, &weights)?;
            let mut model = build_model_from(&config, &|| matrix.get(), &device);
            load_weights_bytes(
                &mut model,
                weights,
                &weights_path.display().to_string(),
                stores_embedding(&config),
            )?;
            networks.push(model);
        }
        let first = networks.remove(0);
        let model = Ensemble::new(first, networks);
        let temperature = summary
            .as_ref()
            .and_then(|v| v.get("temperature").and_then(serde_json::Value::as_f64))
            .filter(|t| t.is_finite() && *t > 0.0)
            .unwrap_or(1.0);
        Ok(TrainedRun {
            temperature,
            summary,
            dir: run,
            config,
            embeddings,
            model,
            device,
            backend,
        })
    }
}

/// The vocabulary and vectors of a trained run: its own saved vocabulary when it built one from
/// its training data (so the data need not be present to use the run), else the config's.
pub fn run_embeddings(
    run: &RunDir,
    config: &RunConfig,
    obs: &dyn Observer,
) -> anyhow::Result<Embeddings> {
    if !stores_embedding(config) {
        return load_embeddings(config, obs);
    }
    let path = run.file(run_dir::VOCAB_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let words: Vec<String> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a JSON list of words", path.display()))?;
    embeddings_for_vocabulary(config, words, obs)
}

/// The run's `summary.json`, if training got that far.
fn read_summary(run: &RunDir) -> anyhow::Result<Option<serde_json::Value>> {
    let path = run.file(run_dir::SUMMARY_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let summary =
        serde_json::from_str(&text).with_context(|| format!("{}: invalid JSON", path.display()))?;
    Ok(Some(summary))
}

/// Refuses a run whose summary records another embedding than its config's source gives now.
fn check_embedding(
    run: &RunDir,
    config: &RunConfig,
    embeddings: &Embeddings,
    summary: Option<&serde_json::Value>,
) -> anyhow::Result<()> {
    let Some(summary) = summary else {
        return Ok(());
    };
    if let Some(sha) = summary.get("embedding_sha256").and_then(|v| v.as_str()) {
        anyhow::ensure!(
            sha == embeddings.sha256,
            "{} was trained on embedding {} (SHA-256 {sha}) but `{}` now gives SHA-256 {}",
            run.path().display(),
            config.embedding.source,
            config.embedding.source,
            embeddings.sha256
        );
    }
    Ok(())
}

/// Refuses weights of network `j` (as read from its file) that are not the ones training
/// wrote (truncated, corrupted, replaced).
fn check_weights(
    run: &RunDir,
    summary: Option<&serde_json::Value>,
    j: usize,
    weights: &[u8],
) -> anyhow::Result<()> {
    let Some(summary) = summary else {
        return Ok(());
    };
    let recorded = if j == 0 {
        summary.get("weights_sha256")
    } else {
        summary
            .get("members")
            .and_then(|m| m.get(j - 1))
            .and_then(|m| m.get("weights_sha256"))
    };
    let file = run.file(&member_file(j));
    let Some(sha) = recorded.and_then(|v| v.as_str()) else {
        anyhow::ensure!(
            j == 0,
            "{} lists no checksum for {} (network {}): the run is incomplete; retrain it",
            run.file(run_dir::SUMMARY_FILE).display(),
            file.display(),
            j + 1
        );
        return Ok(());
    };
    anyhow::ensure!(
        emojify_data::hash::sha256_hex(weights) == sha,
        "{}: checksum mismatch with {} (truncated or corrupted); retrain, or restore the file",
        file.display(),
        run.file(run_dir::SUMMARY_FILE).display()
    );
    Ok(())
}
