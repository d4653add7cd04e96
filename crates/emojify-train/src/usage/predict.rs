//! Using a trained run: load its config, embedding and weights, then classify sentences.

use std::path::Path;

use anyhow::Context;
use burn::prelude::*;
use emojify_data::{Embeddings, Observer};
use serde::Serialize;

use crate::backend::BackendKind;
use crate::config::RunConfig;
use crate::fit::model::build_model;
use crate::fit::scores::argmax;
use crate::inputs::embedding::{embeddings_for_vocabulary, load_embeddings, stores_embedding};
use crate::inputs::splits::encode;
use crate::run::open::TrainedRun;
use crate::strategies::calibrate::probabilities_at;
use crate::strategies::ensemble::Ensemble;
use crate::usage::export::safetensors::WeightsFile;

/// A trained model ready to classify sentences.
pub struct Predictor {
    pub config: RunConfig,
    embeddings: Embeddings,
    model: Ensemble,
    device: Device,
    /// Probabilities are scaled to this temperature (the run's calibration; 1 without).
    temperature: f64,
}

/// One classified sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub text: String,
    pub label: usize,
    /// The label as shown (the emoji, for EMOJISET).
    pub display: String,
    /// The label's name (`data.label_names`, else `display`).
    pub name: String,
    pub probability: f32,
    pub probabilities: Vec<f32>,
    /// The `k` most probable labels, most probable first.
    pub top: Vec<Ranked>,
    /// Tokens the model saw (after OOV handling and truncation).
    pub known_tokens: usize,
    pub oov_tokens: usize,
    pub truncated_tokens: usize,
}

impl From<TrainedRun> for Predictor {
    fn from(run: TrainedRun) -> Self {
        Predictor {
            config: run.config,
            embeddings: run.embeddings,
            model: run.model,
            device: run.device,
            temperature: run.temperature,
        }
    }
}

/// One label of a [`Prediction`]'s top-k.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub label: usize,
    pub display: String,
    pub name: String,
    pub probability: f32,
}

impl Predictor {
    /// Loads the run in `dir`; `backend` overrides the run's own.
    pub fn from_run(
        dir: &Path,
        backend: Option<BackendKind>,
        obs: &dyn Observer,
    ) -> anyhow::Result<Self> {
        Ok(TrainedRun::open(dir, backend, obs)?.into())
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
            model: Ensemble::one(model),
            device,
            // An export carries no calibration.
            temperature: 1.0,
        })
    }

    /// The ids the model sees for `text`.
    pub fn encode(&self, text: &str) -> anyhow::Result<emojify_data::Encoded> {
        encode(&self.config, &self.embeddings, text)
    }

    /// Classifies each sentence (top-1). Empty, all-unknown and overlong sentences are handled:
    /// the counts in each [`Prediction`] say what the model actually saw.
    pub fn predict(&self, texts: &[String]) -> anyhow::Result<Vec<Prediction>> {
        self.predict_top(texts, 1)
    }

    /// [`Self::predict`] with the `k` most probable labels in each prediction's `top`.
    pub fn predict_top(&self, texts: &[String], k: usize) -> anyhow::Result<Vec<Prediction>> {
        let encoded = self.encode_all(texts)?;
        self.classify(texts, encoded, k)
    }

    /// Encodes every text; an error names the input (1-based) it is about.
    pub fn encode_all(&self, texts: &[String]) -> anyhow::Result<Vec<emojify_data::Encoded>> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.encode(t).with_context(|| format!("input {}", i + 1)))
            .collect()
    }

    /// Classifies texts already encoded by [`Self::encode_all`], in one batched pass.
    pub fn classify(
        &self,
        texts: &[String],
        encoded: Vec<emojify_data::Encoded>,
        k: usize,
    ) -> anyhow::Result<Vec<Prediction>> {
        let probs = probabilities_at(&self.model, &encoded, &self.device, self.temperature)?;
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
                    name: self.config.class_name(label).to_string(),
                    probability: p[label],
                    top: self.ranked(&p, k),
                    probabilities: p,
                    known_tokens: e.length,
                    oov_tokens: e.oov,
                    truncated_tokens: e.truncated,
                }
            })
            .collect())
    }

    /// The `k` most probable labels of `probabilities`.
    fn ranked(&self, probabilities: &[f32], k: usize) -> Vec<Ranked> {
        let mut order: Vec<usize> = (0..probabilities.len()).collect();
        order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
        order
            .into_iter()
            .take(k)
            .map(|i| Ranked {
                label: i,
                display: self.config.data.labels[i].clone(),
                name: self.config.class_name(i).to_string(),
                probability: probabilities[i],
            })
            .collect()
    }

    /// Classifies every example of a data file in the run's format (`sentence,label`, TweetEval's
    /// text and labels files, `class,…` rows): the file's own labels are read (and checked) but
    /// not used, so the answers can be scored elsewhere, by the official script for one.
    pub fn predict_file(
        &self,
        path: &std::path::Path,
        obs: &dyn emojify_data::Observer,
    ) -> anyhow::Result<Vec<Prediction>> {
        let split = crate::inputs::splits::load_file(&self.config, &self.embeddings, path, obs)?;
        let texts: Vec<String> = split.examples.iter().map(|e| e.text.clone()).collect();
        self.classify(&texts, split.encoded, 1)
    }

    /// The number of classes the model tells apart.
    pub fn classes(&self) -> usize {
        self.config.num_classes()
    }
}

/// A message as `emojify text` reads it: its lines, each split into sentences.
pub fn message_sentences(message: &str) -> Vec<Vec<String>> {
    message
        .lines()
        .map(|line| {
            emojify_data::split_sentences(line)
                .into_iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// The message with each sentence followed by its prediction's label; lines stay lines.
/// `predictions` are the sentences' of [`message_sentences`], in order.
pub fn annotate(lines: &[Vec<String>], predictions: &[Prediction]) -> String {
    let mut predictions = predictions.iter();
    lines
        .iter()
        .map(|line| {
            line.iter()
                .zip(predictions.by_ref())
                .map(|(sentence, p)| format!("{sentence} {}", p.display))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
