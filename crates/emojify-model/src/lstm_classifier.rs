//! Emojifier-V2 and its kin: input layer (frozen or trained embedding, or numbers) → stacked
//! LSTMs (dropout after each) → dense → softmax.

use burn::nn::{Dropout, DropoutConfig, Embedding, Linear};
use burn::prelude::*;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::dropout::dropout;
use crate::input::{Input, InputLayer, SeqBatch, sequence, summary_row};
use crate::lstm::FusedLstm;
use crate::{LayerSummary, ModelSummary, init};

/// Which hidden state of the last LSTM layer feeds the classifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateChoice {
    /// The state after the last padded step, as the Keras original (no masking). Measured
    /// better on EMOJISET (docs/results.md), hence the default.
    #[default]
    LastStep,
    /// The state at each sentence's true last token (padding ignored).
    LastToken,
}

/// Hyper-parameters of [`LstmClassifier`].
#[derive(Config, Debug)]
pub struct LstmClassifierConfig {
    pub num_classes: usize,
    #[config(default = 128)]
    pub hidden: usize,
    #[config(default = 2)]
    pub layers: usize,
    #[config(default = 0.5)]
    pub dropout: f64,
    #[config(default = "StateChoice::LastStep")]
    pub state: StateChoice,
}

/// The V2 network. `state` is stored as a module constant so a loaded model behaves as trained.
#[derive(Module, Debug)]
pub struct LstmClassifier {
    /// Absent for numeric sequences.
    pub embedding: Option<Embedding>,
    pub embedding_trainable: bool,
    pub lstms: Vec<FusedLstm>,
    pub dropout: Dropout,
    pub dense: Linear,
    pub last_token: bool,
}

impl LstmClassifierConfig {
    /// Builds the network on `input` (for V2, the pretrained embedding, frozen).
    pub fn init(&self, input: InputLayer, seed: u64, device: &Device) -> LstmClassifier {
        let dim = input.features();
        let mut rng = init::rng(seed);
        let lstms = (0..self.layers.max(1))
            .map(|l| {
                FusedLstm::init(
                    if l == 0 { dim } else { self.hidden },
                    self.hidden,
                    &mut rng,
                    device,
                )
            })
            .collect();
        let limit = (6.0 / (self.hidden + self.num_classes) as f64).sqrt();
        let dense = init::linear(
            init::uniform([self.hidden, self.num_classes], limit, &mut rng, device),
            device,
        );
        LstmClassifier {
            embedding_trainable: input.trainable(),
            embedding: input.build(device),
            lstms,
            dropout: DropoutConfig::new(self.dropout).init(),
            dense,
            last_token: self.state == StateChoice::LastToken,
        }
    }
}

impl LstmClassifier {
    /// Logits `[batch, classes]`. Dropout (after each LSTM) applies only when training, i.e.
    /// when an `rng` for its masks is given.
    pub fn forward(&self, batch: &SeqBatch, mut rng: Option<&mut StdRng>) -> Tensor<2> {
        // Time-major throughout: [T, B, ·] keeps every step's slice contiguous.
        let layers = self.lstms.len();
        // Token ids go through the embedding and the first layer together (`forward_ids`);
        // `done` counts the layers that have run.
        let (mut x, done) = match (&self.embedding, &batch.input, self.lstms.first()) {
            (Some(e), Input::Ids(ids), Some(first)) => (first.forward_ids(e, ids.clone()), 1),
            _ => (
                sequence(self.embedding.as_ref(), &batch.input).swap_dims(0, 1),
                0,
            ),
        };
        for (l, lstm) in self.lstms.iter().enumerate() {
            if l >= done {
                x = lstm.forward_time_major(x);
            }
            // The last layer's dropout applies to the one state the classifier reads (below):
            // the same distribution as masking every step, at 1/T of the mask's cost.
            if let Some(rng) = rng.as_deref_mut().filter(|_| l + 1 < layers) {
                x = dropout(x, self.dropout.prob, rng);
            }
        }
        let [t, b, h] = x.dims();
        let last = if self.last_token {
            let idx: Vec<i64> = batch
                .lengths
                .iter()
                .map(|&l| l.clamp(1, t) as i64 - 1)
                .collect();
            let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [b]), &x.device());
            let idx = idx.reshape([1, b, 1]).expand([1, b, h]);
            x.gather(0, idx)
        } else {
            x.narrow(0, t - 1, 1)
        };
        let mut last = last.reshape([b, h]);
        if let Some(rng) = rng {
            last = dropout(last, self.dropout.prob, rng);
        }
        self.dense.forward(last)
    }

    pub fn summary(&self, max_len: usize) -> ModelSummary {
        let [hidden, classes] = self.dense.weight.dims();
        let mut layers: Vec<LayerSummary> =
            summary_row(self.embedding.as_ref(), self.embedding_trainable, max_len)
                .into_iter()
                .collect();
        let n = self.lstms.len();
        for (i, lstm) in self.lstms.iter().enumerate() {
            // The last LSTM returns one state; the others every step. Dropout keeps the shape.
            let output_shape = if i + 1 == n {
                format!("(None, {})", lstm.hidden())
            } else {
                format!("(None, {max_len}, {})", lstm.hidden())
            };
            layers.push(LayerSummary {
                name: format!("lstm_{}", i + 1),
                kind: "LSTM".into(),
                output_shape: output_shape.clone(),
                params: lstm.num_params(),
                trainable: true,
            });
            layers.push(LayerSummary {
                name: format!("dropout_{}", i + 1),
                kind: "Dropout".into(),
                output_shape,
                params: 0,
                trainable: true,
            });
        }
        layers.push(LayerSummary {
            name: "dense".into(),
            kind: "Dense".into(),
            output_shape: format!("(None, {classes})"),
            params: hidden * classes + classes,
            trainable: true,
        });
        layers.push(LayerSummary {
            name: "softmax".into(),
            kind: "Activation".into(),
            output_shape: format!("(None, {classes})"),
            params: 0,
            trainable: true,
        });
        ModelSummary { layers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(state: StateChoice, device: &Device) -> LstmClassifier {
        let embedding = crate::init::normal([6, 4], 1.0, &mut crate::init::rng(9), device);
        LstmClassifierConfig::new(3)
            .with_hidden(5)
            .with_dropout(0.0)
            .with_state(state)
            .init(InputLayer::frozen(embedding), 7, device)
    }

    fn logits(m: &LstmClassifier, ids: Vec<i64>, lengths: Vec<usize>, device: &Device) -> Vec<f32> {
        let b = lengths.len();
        let t = ids.len() / b;
        let batch = SeqBatch {
            input: crate::Input::Ids(Tensor::from_data(TensorData::new(ids, [b, t]), device)),
            lengths,
        };
        m.forward(&batch, None)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap_or_default()
    }

    #[test]
    fn last_token_reads_the_state_at_each_rows_true_end() {
        let device = Device::flex();
        let (step, token) = (
            model(StateChoice::LastStep, &device),
            model(StateChoice::LastToken, &device),
        );
        // Full rows: both choices read the same state.
        let full = logits(&step, vec![1, 2, 3, 4, 5, 1], vec![3, 3], &device);
        assert_eq!(
            full,
            logits(&token, vec![1, 2, 3, 4, 5, 1], vec![3, 3], &device)
        );
        // A padded row under last-token equals the unpadded row under last-step.
        let padded = logits(&token, vec![1, 2, 0, 0], vec![2], &device);
        let unpadded = logits(&step, vec![1, 2], vec![2], &device);
        for (a, b) in padded.iter().zip(&unpadded) {
            assert!((a - b).abs() < 1e-6, "{padded:?} vs {unpadded:?}");
        }
        // And differs from reading after the padding.
        assert_ne!(padded, logits(&step, vec![1, 2, 0, 0], vec![2], &device));
    }
}
