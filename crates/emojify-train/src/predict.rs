//! Using a trained run: load its config, embedding and weights, then classify sentences.

use std::path::Path;

use anyhow::Context;
use burn::prelude::*;
use emojify_data::Embeddings;
use emojify_model::Classifier;
use serde::Serialize;

use emojify_data::Observer;

use crate::backend::BackendKind;
use crate::config::RunConfig;
use crate::embedding::{embeddings_for_vocabulary, load_embeddings, stores_embedding};
use crate::eval::argmax;
use crate::export::safetensors::WeightsFile;
use crate::inference::probabilities;
use crate::model::build_model;
use crate::run::TrainedRun;
use crate::splits::encode;

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
    pub fn from_run(
        dir: &Path,
        backend: Option<BackendKind>,
        obs: &dyn Observer,
    ) -> anyhow::Result<Self> {
        let run = TrainedRun::open(dir, backend, obs)?;
        Ok(Predictor {
            config: run.config,
            embeddings: run.embeddings,
            model: run.model,
            device: run.device,
        })
    }

    /// Loads an `emojify export` safetensors file: the config and vocabulary identity come from
    /// its metadata, the vocabulary itself from the source it names (verified by SHA-256).
    pub fn from_weights(
        path: &Path,
        backend: Option<BackendKind>,
        obs: &dyn Observer,
    ) -> anyhow::Result<Self> {
        let file = WeightsFile::read(path)?;
        let config = RunConfig::parse(file.get("emojify.config")?, path)?;
        let embeddings = if stores_embedding(&config) {
            let words: Vec<String> = serde_json::from_str(file.get("emojify.vocabulary")?)
                .with_context(|| {
                    format!("{}: emojify.vocabulary is not a JSON list", path.display())
                })?;
            embeddings_for_vocabulary(&config, words, obs)?
        } else {
            load_embeddings(&config, obs)?
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
