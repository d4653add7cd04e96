//! Opening a trained run: the one way predict, text, export (and anything later) load a run
//! directory — its config, its vocabulary, an integrity check of the embedding and weights
//! against `summary.json`, then the model built and its weights loaded.

use std::path::Path;

use anyhow::Context;
use burn::prelude::*;
use emojify_data::{Embeddings, Observer};
use emojify_model::Classifier;

use crate::backend::BackendKind;
use crate::config::RunConfig;
use crate::embedding::{run_embeddings, stores_embedding};
use crate::model::build_model;
use crate::run_dir::{self, RunDir};
use crate::weights::load_weights;

/// A trained run, loaded and checked.
pub struct TrainedRun {
    pub dir: RunDir,
    pub config: RunConfig,
    pub embeddings: Embeddings,
    /// The trained model on `device`, for inference.
    pub model: Classifier,
    pub device: Device,
    /// The backend `device` belongs to.
    pub backend: BackendKind,
    /// The temperature its predictions are scaled by (`train.calibrate_folds`; 1 without).
    pub temperature: f64,
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
        check_integrity(&run, &config, &embeddings)?;
        let backend = backend.unwrap_or(config.backend);
        let device = backend.device(config.wgpu_device)?;
        let mut model = build_model(&config, &embeddings, &device);
        load_weights(
            &mut model,
            &run.file(run_dir::WEIGHTS_FILE),
            stores_embedding(&config),
        )?;
        let temperature = std::fs::read_to_string(run.file(run_dir::SUMMARY_FILE))
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v.get("temperature").and_then(serde_json::Value::as_f64))
            .filter(|t| t.is_finite() && *t > 0.0)
            .unwrap_or(1.0);
        Ok(TrainedRun {
            temperature,
            dir: run,
            config,
            embeddings,
            model,
            device,
            backend,
        })
    }
}

/// Refuses a run whose summary records another embedding than its config's source gives now,
/// or whose weights file is not the one training wrote (truncated, corrupted, replaced).
fn check_integrity(
    run: &RunDir,
    config: &RunConfig,
    embeddings: &Embeddings,
) -> anyhow::Result<()> {
    let summary_path = run.file(run_dir::SUMMARY_FILE);
    let Ok(text) = std::fs::read_to_string(&summary_path) else {
        return Ok(());
    };
    let summary: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: invalid JSON", summary_path.display()))?;
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
    if let Some(sha) = summary.get("weights_sha256").and_then(|v| v.as_str()) {
        let path = run.file(run_dir::WEIGHTS_FILE);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        anyhow::ensure!(
            emojify_data::hash::sha256_hex(&bytes) == sha,
            "{}: checksum mismatch with {} (truncated or corrupted); retrain, or restore the file",
            path.display(),
            summary_path.display()
        );
    }
    Ok(())
}
