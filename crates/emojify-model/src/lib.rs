//! burn modules for emojify. Models receive tensors and embedding matrices from the caller; this
//! crate never reads files.

pub mod average;
pub mod cnn;
pub mod dropout;
pub mod init;
pub mod input;
pub mod loss;
pub mod lstm;
pub mod lstm_classifier;
pub mod mean_embedding;
pub mod mlp;
pub mod pytorch_names;
pub mod sentence_encoder;
pub mod summary;

use burn::prelude::*;
use rand::rngs::StdRng;

pub use cnn::{CnnClassifier, CnnConfig};
pub use input::{Input, InputLayer, SeqBatch};
pub use lstm_classifier::{LstmClassifier, LstmClassifierConfig, StateChoice};
pub use mean_embedding::{MeanEmbeddingClassifier, MeanEmbeddingConfig};
pub use mlp::{MlpClassifier, MlpConfig};
pub use summary::{LayerSummary, ModelSummary};

/// Why [`Classifier::take_encoder`] could not start a model from pretrained layers.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("pretraining transfers LSTM layers; this model has none")]
    NoEncoder,
    #[error(transparent)]
    Mismatch(#[from] lstm_classifier::EncoderMismatch),
}

/// Every classifier the trainer can run, so one training loop serves them all.
// A few hundred bytes of handles, moved once per optimizer step: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Classifier {
    MeanEmbedding(MeanEmbeddingClassifier),
    Lstm(LstmClassifier),
    Mlp(MlpClassifier),
    Cnn(CnnClassifier),
}

impl Classifier {
    /// Logits `[batch, classes]` for inference (no dropout); softmax is left to the caller.
    pub fn forward(&self, batch: &SeqBatch) -> Tensor<2> {
        self.forward_with(batch, None)
    }

    /// Logits for training: dropout masks are drawn from `rng`.
    pub fn forward_train(&self, batch: &SeqBatch, rng: &mut StdRng) -> Tensor<2> {
        self.forward_with(batch, Some(rng))
    }

    fn forward_with(&self, batch: &SeqBatch, rng: Option<&mut StdRng>) -> Tensor<2> {
        match self {
            Classifier::MeanEmbedding(m) => m.forward_input(&batch.input),
            Classifier::Lstm(m) => m.forward(batch, rng),
            Classifier::Mlp(m) => m.forward(batch, rng),
            Classifier::Cnn(m) => m.forward(batch, rng),
        }
    }

    /// Layers, output shapes and parameter counts, Keras-style.
    pub fn summary(&self, max_len: usize) -> ModelSummary {
        match self {
            Classifier::MeanEmbedding(m) => m.summary(max_len),
            Classifier::Lstm(m) => m.summary(max_len),
            Classifier::Mlp(m) => m.summary(max_len),
            Classifier::Cnn(m) => m.summary(),
        }
    }

    /// Takes `from`'s pretrained encoder (its recurrent layers and pooling; the head stays this
    /// model's own), kept as it is when `freeze`: the start of transfer learning. Here, not in
    /// the trainer, so that training never asks which kind a model is.
    pub fn take_encoder(&mut self, from: &Classifier, freeze: bool) -> Result<(), TransferError> {
        match (self, from) {
            (Classifier::Lstm(m), Classifier::Lstm(from)) => {
                m.take_encoder(from)?;
                if freeze {
                    m.freeze_encoder();
                }
                Ok(())
            }
            _ => Err(TransferError::NoEncoder),
        }
    }
}
