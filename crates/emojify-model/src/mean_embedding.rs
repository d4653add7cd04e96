//! Emojifier-V1: the mean of a sentence's word vectors → linear → softmax.

use burn::nn::{Embedding, Linear};
use burn::prelude::*;

use crate::input::embedding_layer;
use crate::{LayerSummary, ModelSummary, init};

/// Hyper-parameters of [`MeanEmbeddingClassifier`].
#[derive(Config, Debug)]
pub struct MeanEmbeddingConfig {
    pub num_classes: usize,
}

/// Averages the (frozen) embeddings of the non-padding tokens, then one linear layer.
#[derive(Module, Debug)]
pub struct MeanEmbeddingClassifier {
    pub embedding: Embedding,
    pub linear: Linear,
}

impl MeanEmbeddingConfig {
    /// Builds the model around `embedding` (`[vocab + 1, dim]`, row 0 = padding). The linear
    /// weight is `N(0, 1)/√dim` and the bias 0, as in the course.
    pub fn init(
        &self,
        embedding: Tensor<2>,
        seed: u64,
        device: &Device,
    ) -> MeanEmbeddingClassifier {
        let [_, dim] = embedding.dims();
        let mut rng = init::rng(seed);
        let scale = 1.0 / (dim as f64).sqrt();
        let linear = init::linear(
            init::normal([dim, self.num_classes], scale, &mut rng, device),
            device,
        );
        MeanEmbeddingClassifier {
            embedding: embedding_layer(embedding, false, device),
            linear,
        }
    }
}

impl MeanEmbeddingClassifier {
    /// Logits for either input kind; numbers (`[batch, steps, dim]`) are averaged over all steps.
    pub fn forward_input(&self, input: &crate::Input) -> Tensor<2> {
        match input {
            crate::Input::Ids(ids) => self.forward(ids.clone()),
            crate::Input::Values(v) => {
                let [b, _, d] = v.dims();
                self.linear.forward(v.clone().mean_dim(1).reshape([b, d]))
            }
        }
    }

    /// `ids [batch, len]` → logits `[batch, classes]`. Padding (id 0) is excluded from the mean;
    /// a sentence with no known word averages to the zero vector.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<2> {
        let mask = ids.clone().not_equal_elem(0).float(); // [B, L]
        let vectors = self.embedding.forward(ids); // [B, L, D]
        let summed = (vectors * mask.clone().unsqueeze_dim::<3>(2)).sum_dim(1); // [B, 1, D]
        let [batch, _, dim] = summed.dims();
        let counts = mask.sum_dim(1).clamp_min(1.0); // [B, 1]
        let mean = summed.reshape([batch, dim]) / counts;
        self.linear.forward(mean)
    }

    pub fn summary(&self, max_len: usize) -> ModelSummary {
        let [rows, dim] = self.embedding.weight.dims();
        let [_, classes] = self.linear.weight.dims();
        ModelSummary {
            layers: vec![
                LayerSummary {
                    name: "embedding".into(),
                    kind: "Embedding, frozen".into(),
                    output_shape: format!("(None, {max_len}, {dim})"),
                    params: rows * dim,
                    trainable: false,
                },
                LayerSummary {
                    name: "mean".into(),
                    kind: "MaskedMean".into(),
                    output_shape: format!("(None, {dim})"),
                    params: 0,
                    trainable: true,
                },
                LayerSummary {
                    name: "linear".into(),
                    kind: "Dense".into(),
                    output_shape: format!("(None, {classes})"),
                    params: dim * classes + classes,
                    trainable: true,
                },
                LayerSummary {
                    name: "softmax".into(),
                    kind: "Softmax".into(),
                    output_shape: format!("(None, {classes})"),
                    params: 0,
                    trainable: true,
                },
            ],
        }
    }
}
