//! The order-blind baseline: the whole padded sequence flattened → dense + ReLU → dense. It sees
//! every step but not that step 3 follows step 2, which is what the LSTM adds.

use burn::nn::{Embedding, Linear};
use burn::prelude::*;
use burn::tensor::activation::relu;
use rand::rngs::StdRng;

use crate::dropout::dropout;
use crate::input::{InputLayer, SeqBatch, sequence, summary_row};
use crate::{LayerSummary, ModelSummary, init};

/// Hyper-parameters of [`MlpClassifier`].
#[derive(Config, Debug)]
pub struct MlpConfig {
    pub num_classes: usize,
    /// Steps per example (the padded length), fixed because the first layer sees them all.
    pub steps: usize,
    #[config(default = 64)]
    pub hidden: usize,
    #[config(default = 0.0)]
    pub dropout: f64,
}

#[derive(Module, Debug)]
pub struct MlpClassifier {
    pub embedding: Option<Embedding>,
    pub embedding_trainable: bool,
    pub hidden: Linear,
    pub output: Linear,
    pub dropout: f64,
}

impl MlpConfig {
    /// Glorot-uniform weights and zero biases, as Keras' `Dense`.
    pub fn init(&self, input: InputLayer, seed: u64, device: &Device) -> MlpClassifier {
        let inputs = self.steps * input.features();
        let mut rng = init::rng(seed);
        let glorot = |fan_in: usize, fan_out: usize, rng: &mut StdRng| {
            let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
            init::linear(init::uniform([fan_in, fan_out], limit, rng, device), device)
        };
        let hidden = glorot(inputs, self.hidden, &mut rng);
        let output = glorot(self.hidden, self.num_classes, &mut rng);
        MlpClassifier {
            embedding_trainable: input.trainable(),
            embedding: input.build(device),
            hidden,
            output,
            dropout: self.dropout,
        }
    }
}

impl MlpClassifier {
    /// Logits `[batch, classes]`; dropout after the hidden layer only when `rng` is given.
    pub fn forward(&self, batch: &SeqBatch, rng: Option<&mut StdRng>) -> Tensor<2> {
        let x = sequence(self.embedding.as_ref(), &batch.input); // [B, T, D]
        let [b, t, d] = x.dims();
        let mut h = relu(self.hidden.forward(x.reshape([b, t * d])));
        if let Some(rng) = rng {
            h = dropout(h, self.dropout, rng);
        }
        self.output.forward(h)
    }

    pub fn summary(&self, steps: usize) -> ModelSummary {
        let [inputs, hidden] = self.hidden.weight.dims();
        let [_, classes] = self.output.weight.dims();
        let mut layers: Vec<LayerSummary> =
            summary_row(self.embedding.as_ref(), self.embedding_trainable, steps)
                .into_iter()
                .collect();
        let row = |name: &str, kind: &str, shape: usize, params: usize| LayerSummary {
            name: name.into(),
            kind: kind.into(),
            output_shape: format!("(None, {shape})"),
            params,
            trainable: true,
        };
        layers.extend([
            row("flatten", "Flatten", inputs, 0),
            row("dense_1", "Dense, ReLU", hidden, inputs * hidden + hidden),
            row("dense_2", "Dense", classes, hidden * classes + classes),
            row("softmax", "Activation", classes, 0),
        ]);
        ModelSummary { layers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Input;

    #[test]
    fn the_lab_baseline_has_its_parameter_count_and_shapes() {
        let device = Device::flex();
        let m = MlpConfig::new(3, 55).init(InputLayer::Values { features: 1 }, 1, &device);
        // 55·64 + 64 + 64·3 + 3
        assert_eq!(m.summary(55).trainable(), 3_779);
        let values = Tensor::<3>::zeros([2, 55, 1], &device);
        let batch = SeqBatch {
            input: Input::Values(values),
            lengths: vec![55, 55],
        };
        assert_eq!(m.forward(&batch, None).dims(), [2, 3]);
    }
}
