//! burn modules for emojify. Models receive tensors and embedding matrices from the caller; this
//! crate never reads files.

pub mod dropout;
pub mod init;
pub mod layout;
pub mod loss;
pub mod lstm;
pub mod lstm_classifier;
pub mod mean_embedding;
pub mod summary;

use burn::prelude::*;
use rand::rngs::StdRng;

pub use lstm_classifier::{LstmClassifier, LstmClassifierConfig, StateChoice};
pub use mean_embedding::{MeanEmbeddingClassifier, MeanEmbeddingConfig};
pub use summary::{LayerSummary, ModelSummary};

/// A padded batch of token ids `[batch, max_len]` (0 = padding) with each row's true length.
#[derive(Debug, Clone)]
pub struct TokenBatch {
    pub ids: Tensor<2, Int>,
    pub lengths: Vec<usize>,
}

/// Every classifier the trainer can run, so one training loop serves them all.
#[derive(Module, Debug)]
pub enum Classifier {
    MeanEmbedding(MeanEmbeddingClassifier),
    Lstm(LstmClassifier),
}

impl Classifier {
    /// Logits `[batch, classes]` for inference (no dropout); softmax is left to the caller.
    pub fn forward(&self, batch: &TokenBatch) -> Tensor<2> {
        self.forward_with(batch, None)
    }

    /// Logits for training: dropout masks are drawn from `rng`.
    pub fn forward_train(&self, batch: &TokenBatch, rng: &mut StdRng) -> Tensor<2> {
        self.forward_with(batch, Some(rng))
    }

    fn forward_with(&self, batch: &TokenBatch, rng: Option<&mut StdRng>) -> Tensor<2> {
        match self {
            Classifier::MeanEmbedding(m) => m.forward(batch.ids.clone()),
            Classifier::Lstm(m) => m.forward(batch, rng),
        }
    }

    /// Layers, output shapes and parameter counts, Keras-style.
    pub fn summary(&self, max_len: usize) -> ModelSummary {
        match self {
            Classifier::MeanEmbedding(m) => m.summary(max_len),
            Classifier::Lstm(m) => m.summary(max_len),
        }
    }

    /// Names of the parameters that are frozen and identified by source rather than stored in
    /// checkpoints (the pretrained embedding).
    pub fn frozen_param_names(&self) -> &'static [&'static str] {
        match self {
            Classifier::MeanEmbedding(_) | Classifier::Lstm(_) => &["embedding.weight"],
        }
    }
}
