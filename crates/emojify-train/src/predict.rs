//! Using a trained run: load its config, embedding and weights, then classify sentences.

use std::path::Path;

use anyhow::Context;
use burn::prelude::*;
use emojify_data::Embeddings;
use emojify_model::Classifier;
use serde::Serialize;

use crate::backend::BackendKind;
use crate::config::RunConfig;
use crate::eval::argmax;
use crate::export::weights::WeightsFile;
use crate::pipeline::{build_model, encode, load_weights, stores_embedding};
use crate::run_dir::{self, RunDir};
use crate::train::probabilities;

/// A trained model ready to classify sentences.
pub struct Predictor {
    pub config: RunConfig,
    embeddings: Embeddings,
    model: Classifier,
    device: Device,
}

/// One classified sentence.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub text: String,
    pub label: usize,
    pub display: String,
    pub probability: f32,
    pub probabilities: Vec<f32>,
    /// Tokens the model saw (after OOV handling and truncation).
    pub known_tokens: usize,
    pub oov_tokens: usize,
    pub truncated_tokens: usize,
}

impl Predictor {
    /// Loads the run in `dir`; `backend` overrides the run's own.
    pub fn from_run(dir: &Path, backend: Option<BackendKind>) -> anyhow::Result<Self> {
        let run = RunDir::open(dir)?;
        let config = RunConfig::load(&run.file(run_dir::CONFIG_FILE))?;
        let embeddings = crate::pipeline::run_embeddings(&run, &config)?;
        check_run_integrity(&run, &config, &embeddings)?;
        let device = backend
            .unwrap_or(config.backend)
            .device(config.wgpu_device)?;
        let mut model = build_model(&config, &embeddings, &device);
        load_weights(
            &mut model,
            &run.file(run_dir::WEIGHTS_FILE),
            stores_embedding(&config),
        )?;
        Ok(Predictor {
            config,
            embeddings,
            model,
            device,
        })
    }

    /// Loads an `emojify export` safetensors file: the config and vocabulary identity come from
    /// its metadata, the vocabulary itself from the source it names (verified by SHA-256).
    pub fn from_weights(path: &Path, backend: Option<BackendKind>) -> anyhow::Result<Self> {
        let file = WeightsFile::read(path)?;
        let config = RunConfig::parse(file.get("emojify.config")?, path)?;
        let embeddings = if stores_embedding(&config) {
            let words: Vec<String> = serde_json::from_str(file.get("emojify.vocabulary")?)
                .with_context(|| {
                    format!("{}: emojify.vocabulary is not a JSON list", path.display())
                })?;
            crate::pipeline::embeddings_for_vocabulary(&config, words)?
        } else {
            crate::pipeline::load_embeddings(&config)?
        };
        let sha = file.get("emojify.vocabulary_sha256")?;
        anyhow::ensure!(
            sha == embeddings.sha256,
            "{} was exported with embedding `{}` of SHA-256 {sha}, but that source now gives \
             SHA-256 {}",
            path.display(),
            config.embedding.source,
            embeddings.sha256
        );
        let device = backend
            .unwrap_or(config.backend)
            .device(config.wgpu_device)?;
        let mut model = build_model(&config, &embeddings, &device);
        model
            .load_pytorch(&file.tensors)
            .with_context(|| format!("{}: weights do not fit its own config", path.display()))?;
        Ok(Predictor {
            config,
            embeddings,
            model,
            device,
        })
    }

    /// The ids the model sees for `text`.
    pub fn encode(&self, text: &str) -> anyhow::Result<emojify_data::Encoded> {
        encode(&self.config, &self.embeddings, text)
    }

    /// Classifies each sentence. Empty, all-unknown and overlong sentences are handled: the
    /// counts in each [`Prediction`] say what the model actually saw.
    pub fn predict(&self, texts: &[String]) -> anyhow::Result<Vec<Prediction>> {
        let encoded: Vec<_> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                encode(&self.config, &self.embeddings, t)
                    .with_context(|| format!("input {}", i + 1))
            })
            .collect::<anyhow::Result<_>>()?;
        let probs = probabilities(&self.model, &encoded, &self.device)?;
        Ok(texts
            .iter()
            .zip(encoded)
            .zip(probs)
            .map(|((text, e), p)| {
                let label = argmax(&p);
                Prediction {
                    text: text.clone(),
                    label,
                    display: self.config.data.labels[label].clone(),
                    probability: p[label],
                    probabilities: p,
                    known_tokens: e.length,
                    oov_tokens: e.oov,
                    truncated_tokens: e.truncated,
                }
            })
            .collect())
    }
}

/// Refuses a run whose summary records another embedding than its config's source gives now,
/// or whose weights file is not the one training wrote (truncated, corrupted, replaced).
pub fn check_run_integrity(
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
            crate::train::sha256_hex(&bytes) == sha,
            "{}: checksum mismatch with {} (truncated or corrupted); retrain, or restore the file",
            path.display(),
            summary_path.display()
        );
    }
    Ok(())
}
