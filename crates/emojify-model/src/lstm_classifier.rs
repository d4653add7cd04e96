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
    /// The mean of the states over the true tokens.
    Mean,
    /// The element-wise maximum of the states over the true tokens.
    Max,
    /// A learned softmax-weighted sum of the states over the true tokens (one score vector,
    /// `attention [H, 1]`): the classifier can read the step that carries the sentiment.
    Attention,
}

impl StateChoice {
    /// Whether this reading combines every true step (mean, max, attention).
    pub fn pools(self) -> bool {
        matches!(
            self,
            StateChoice::Mean | StateChoice::Max | StateChoice::Attention
        )
    }
}

/// [`LstmClassifier::take_encoder`] was given layers of other sizes.
#[derive(Debug, thiserror::Error)]
#[error("the pretrained layers (input, hidden) {found} do not match this model's {expected}")]
pub struct EncoderMismatch {
    pub found: String,
    pub expected: String,
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
    /// The first layer also reads each sentence backwards (from its last true token), and the
    /// next layer gets both directions' states side by side.
    #[config(default = false)]
    pub bidirectional: bool,
    /// The classifier also reads the mean of the sentence's word vectors (Emojifier-V1's
    /// input) beside the LSTM's state: V1 scores higher on EMOJISET's test set than V2, and
    /// this lets one network use both readings. (Measured: a point on EMOJISET's folds, half
    /// a point lower on the messages dev half; docs/results.md.)
    #[config(default = false)]
    pub word_mean: bool,
}

/// The V2 network. `state` is stored as a module constant so a loaded model behaves as trained.
#[derive(Module, Debug)]
pub struct LstmClassifier {
    /// Absent for numeric sequences.
    pub embedding: Option<Embedding>,
    pub embedding_trainable: bool,
    pub lstms: Vec<FusedLstm>,
    /// The first layer's backward direction, when bidirectional.
    pub reverse: Option<FusedLstm>,
    pub dropout: Dropout,
    /// Scores of [`StateChoice::Attention`] (no bias: a shift would not change the softmax).
    pub attention: Option<Linear>,
    pub dense: Linear,
    #[module(skip)]
    pub state: StateChoice,
    /// Whether `dense` also reads the mean input vector ([`LstmClassifierConfig::word_mean`]).
    #[module(skip)]
    pub word_mean: bool,
}

impl LstmClassifierConfig {
    /// Builds the network on `input` (for V2, the pretrained embedding, frozen).
    pub fn init(&self, input: InputLayer, seed: u64, device: &Device) -> LstmClassifier {
        let dim = input.features();
        let layers = self.layers.max(1);
        let directions = if self.bidirectional { 2 } else { 1 };
        // The width a layer after the first reads, and the classifier's input width.
        let width = |l: usize| {
            if l == 0 {
                directions * self.hidden
            } else {
                self.hidden
            }
        };
        let mut rng = init::rng(seed);
        let lstms = (0..layers)
            .map(|l| {
                let input = if l == 0 { dim } else { width(l - 1) };
                FusedLstm::init(input, self.hidden, &mut rng, device)
            })
            .collect();
        let features = width(layers - 1);
        let read = features + if self.word_mean { dim } else { 0 };
        let limit = (6.0 / (read + self.num_classes) as f64).sqrt();
        let dense = init::linear(
            init::uniform([read, self.num_classes], limit, &mut rng, device),
            device,
        );
        // Drawn after V2's own parameters, so its initialisation stays the same.
        let reverse = self
            .bidirectional
            .then(|| FusedLstm::init(dim, self.hidden, &mut rng, device));
        let attention = (self.state == StateChoice::Attention).then(|| {
            let limit = (6.0 / (features + 1) as f64).sqrt();
            let weight = init::uniform([features, 1], limit, &mut rng, device);
            Linear {
                weight: burn::module::Param::from_tensor(weight),
                bias: None,
            }
        });
        LstmClassifier {
            embedding_trainable: input.trainable(),
            embedding: input.build(device),
            lstms,
            reverse,
            dropout: DropoutConfig::new(self.dropout).init(),
            attention,
            dense,
            state: self.state,
            word_mean: self.word_mean,
        }
    }
}

impl LstmClassifier {
    /// Logits `[batch, classes]`. Dropout (after each LSTM) applies only when training, i.e.
    /// when an `rng` for its masks is given.
    pub fn forward(&self, batch: &SeqBatch, mut rng: Option<&mut StdRng>) -> Tensor<2> {
        // Time-major throughout: [T, B, ·] keeps every step's slice contiguous.
        let mut x = self.first_layer(batch);
        for lstm in self.lstms.iter().skip(1) {
            if let Some(rng) = rng.as_deref_mut() {
                x = dropout(x, self.dropout.prob, rng);
            }
            x = lstm.forward_time_major(x);
        }
        // The last layer's dropout applies to the one vector the classifier reads (below):
        // for the last step, the same distribution as masking every step, at 1/T of the cost.
        let mut last = self.read(x, &batch.lengths);
        if let Some(rng) = rng {
            last = dropout(last, self.dropout.prob, rng);
        }
        if self.word_mean {
            last = Tensor::cat(vec![last, self.mean_input(batch)], 1);
        }
        self.dense.forward(last)
    }

    /// The mean of each row's input vectors over its true steps, `[B, D]`: for token ids,
    /// Emojifier-V1's mean word vector (padding excluded).
    fn mean_input(&self, batch: &SeqBatch) -> Tensor<2> {
        let x = sequence(self.embedding.as_ref(), &batch.input).swap_dims(0, 1);
        let lengths = clamped(&batch.lengths, x.dims()[0]);
        mean_over_true_steps(x, &lengths)
    }

    /// Takes `from`'s recurrent layers and pooling (trained on another task, with another
    /// head): the start of transfer learning. The dense head stays this model's own.
    pub fn take_encoder(&mut self, from: &LstmClassifier) -> Result<(), EncoderMismatch> {
        let shapes = |m: &LstmClassifier| {
            let lstm = |l: &FusedLstm| (l.input(), l.hidden());
            (
                m.lstms.iter().map(lstm).collect::<Vec<_>>(),
                m.reverse.as_ref().map(lstm),
                m.attention.as_ref().map(|a| a.weight.dims()),
            )
        };
        if shapes(self) != shapes(from) {
            return Err(EncoderMismatch {
                found: format!("{:?}", shapes(from)),
                expected: format!("{:?}", shapes(self)),
            });
        }
        self.lstms = from.lstms.clone();
        self.reverse = from.reverse.clone();
        self.attention = from.attention.clone();
        Ok(())
    }

    /// Stops training the recurrent layers and pooling (only the head learns).
    pub fn freeze_encoder(&mut self) {
        self.lstms = std::mem::take(&mut self.lstms)
            .into_iter()
            .map(Module::no_grad)
            .collect();
        self.reverse = self.reverse.take().map(Module::no_grad);
        self.attention = self.attention.take().map(Module::no_grad);
    }

    /// The embedding (if any) and the first layer, both directions when bidirectional:
    /// `[T, B, H]` or `[T, B, 2H]`.
    fn first_layer(&self, batch: &SeqBatch) -> Tensor<3> {
        let Some(first) = self.lstms.first() else {
            return sequence(self.embedding.as_ref(), &batch.input).swap_dims(0, 1);
        };
        let forward = |lstm: &FusedLstm, reversed: bool| match (&self.embedding, &batch.input) {
            // Token ids go through the embedding and the layer together (`forward_ids`).
            (Some(e), Input::Ids(ids)) => {
                let ids = if reversed {
                    let [b, t] = ids.dims();
                    let order = reversal(&batch.lengths, t);
                    let order = TensorData::new(transpose(&order, t, b), [b, t]);
                    ids.clone()
                        .gather(1, Tensor::from_data(order, &ids.device()))
                } else {
                    ids.clone()
                };
                lstm.forward_ids(e, ids)
            }
            _ => {
                let x = sequence(self.embedding.as_ref(), &batch.input).swap_dims(0, 1);
                lstm.forward_time_major(if reversed {
                    reverse_time(x, &batch.lengths)
                } else {
                    x
                })
            }
        };
        let x = forward(first, false);
        match &self.reverse {
            Some(reverse) => {
                // Reversing each row's true tokens is its own inverse: the backward states
                // go back to the forward order, so step t holds both directions' views of t.
                let back = reverse_time(forward(reverse, true), &batch.lengths);
                Tensor::cat(vec![x, back], 2)
            }
            None => x,
        }
    }

    /// The vector the classifier reads from the last layer's states `x [T, B, H]`.
    fn read(&self, x: Tensor<3>, lengths: &[usize]) -> Tensor<2> {
        let [t, b, h] = x.dims();
        let device = x.device();
        let lengths = clamped(lengths, t);
        let mask = || true_steps(&lengths, t, &device);
        match self.state {
            StateChoice::LastStep => x.narrow(0, t - 1, 1).reshape([b, h]),
            StateChoice::LastToken => {
                let idx: Vec<i64> = lengths.iter().map(|&l| l as i64 - 1).collect();
                let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [b]), &device);
                let idx = idx.reshape([1, b, 1]).expand([1, b, h]);
                x.gather(0, idx).reshape([b, h])
            }
            StateChoice::Mean => mean_over_true_steps(x, &lengths),
            // LSTM states lie in (−1, 1): shifting padding down by 4 keeps it below every
            // true step, and its gradient is zero wherever a true step holds the maximum.
            StateChoice::Max => (x + (mask() - 1.0) * 4.0).max_dim(0).reshape([b, h]),
            StateChoice::Attention => {
                let scores = match &self.attention {
                    Some(attention) => attention.forward(x.clone()),
                    None => Tensor::zeros([t, b, 1], &device),
                };
                // Padding gets a weight of e^-30 relative to the true steps at most.
                let weights = burn::tensor::activation::softmax(scores + (mask() - 1.0) * 30.0, 0);
                (x * weights).sum_dim(0).reshape([b, h])
            }
        }
    }

    pub fn summary(&self, max_len: usize) -> ModelSummary {
        let [hidden, classes] = self.dense.weight.dims();
        let mut layers: Vec<LayerSummary> =
            summary_row(self.embedding.as_ref(), self.embedding_trainable, max_len)
                .into_iter()
                .collect();
        let n = self.lstms.len();
        for (i, lstm) in self.lstms.iter().enumerate() {
            let reverse = self.reverse.as_ref().filter(|_| i == 0);
            let width = lstm.hidden() * if reverse.is_some() { 2 } else { 1 };
            // The last LSTM returns one vector; the others every step. Dropout keeps the shape.
            let pooled = i + 1 == n && self.state.pools();
            let output_shape = if i + 1 == n && !pooled {
                format!("(None, {width})")
            } else {
                format!("(None, {max_len}, {width})")
            };
            layers.push(LayerSummary {
                name: format!("lstm_{}", i + 1),
                kind: if reverse.is_some() {
                    "Bidirectional(LSTM)".into()
                } else {
                    "LSTM".into()
                },
                output_shape: output_shape.clone(),
                params: lstm.num_params() + reverse.map_or(0, FusedLstm::num_params),
                trainable: true,
            });
            let output_shape = if pooled {
                let params = self.attention.as_ref().map_or(0, |a| a.weight.dims()[0]);
                let output_shape = format!("(None, {width})");
                layers.push(LayerSummary {
                    name: "pooling".into(),
                    kind: format!("{:?}Pooling", self.state),
                    output_shape: output_shape.clone(),
                    params,
                    trainable: true,
                });
                output_shape
            } else {
                output_shape
            };
            layers.push(LayerSummary {
                name: format!("dropout_{}", i + 1),
                kind: "Dropout".into(),
                output_shape,
                params: 0,
                trainable: true,
            });
        }
        if self.word_mean {
            // The mean of what the first LSTM reads, beside the state.
            let dim = self.lstms.first().map_or(0, FusedLstm::input);
            layers.push(LayerSummary {
                name: "word_mean".into(),
                kind: "MaskedMean".into(),
                output_shape: format!("(None, {dim})"),
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

/// Each row's length as training uses it: at least one step, at most `t`.
fn clamped(lengths: &[usize], t: usize) -> Vec<usize> {
    lengths.iter().map(|&l| l.clamp(1, t)).collect()
}

/// 1 on each row's true steps, 0 on its padding: `[T, B, 1]` (`lengths` clamped).
fn true_steps(lengths: &[usize], t: usize, device: &Device) -> Tensor<3> {
    let values: Vec<f32> = (0..t)
        .flat_map(|s| lengths.iter().map(move |&l| f32::from(u8::from(s < l))))
        .collect();
    Tensor::<3>::from_data(TensorData::new(values, [t, lengths.len(), 1]), device)
}

/// The mean of `x [T, B, D]` over each row's true steps (`lengths` clamped): `[B, D]`.
fn mean_over_true_steps(x: Tensor<3>, lengths: &[usize]) -> Tensor<2> {
    let [t, b, d] = x.dims();
    let device = x.device();
    let counts: Vec<f32> = lengths.iter().map(|&l| l as f32).collect();
    let counts = Tensor::<2>::from_data(TensorData::new(counts, [b, 1]), &device);
    (x * true_steps(lengths, t, &device))
        .sum_dim(0)
        .reshape([b, d])
        / counts
}

/// For each step and row (`[T, B]`, row-major), the step to read when row `b` is read
/// backwards: its `lengths[b]` true tokens reversed, its padding where it was.
fn reversal(lengths: &[usize], t: usize) -> Vec<i64> {
    (0..t)
        .flat_map(|s| {
            lengths.iter().map(move |&l| {
                let l = l.clamp(1, t);
                if s < l { (l - 1 - s) as i64 } else { s as i64 }
            })
        })
        .collect()
}

fn transpose(values: &[i64], rows: usize, cols: usize) -> Vec<i64> {
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| values[r * cols + c]))
        .collect()
}

/// `x [T, B, D]` with each row's true steps reversed.
fn reverse_time(x: Tensor<3>, lengths: &[usize]) -> Tensor<3> {
    let [t, b, d] = x.dims();
    let order = TensorData::new(reversal(lengths, t), [t, b, 1]);
    let order = Tensor::<3, Int>::from_data(order, &x.device()).expand([t, b, d]);
    x.gather(0, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(state: StateChoice, device: &Device) -> LstmClassifier {
        built(state, false, device)
    }

    fn built(state: StateChoice, bidirectional: bool, device: &Device) -> LstmClassifier {
        let embedding = crate::init::normal([6, 4], 1.0, &mut crate::init::rng(9), device);
        LstmClassifierConfig::new(3)
            .with_hidden(5)
            .with_dropout(0.0)
            .with_state(state)
            .with_bidirectional(bidirectional)
            .init(InputLayer::frozen(embedding), 7, device)
    }

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
    }

    #[test]
    fn pooling_and_the_backward_direction_read_only_the_true_tokens() {
        let device = Device::flex();
        let states = [
            StateChoice::LastToken,
            StateChoice::Mean,
            StateChoice::Max,
            StateChoice::Attention,
        ];
        for state in states {
            for bidirectional in [false, true] {
                let m = built(state, bidirectional, &device);
                // A row padded to 4 steps, alone and beside a full row, reads as the unpadded row.
                let unpadded = logits(&m, vec![1, 2, 3], vec![3], &device);
                let padded = logits(&m, vec![1, 2, 3, 0], vec![3], &device);
                let batched = logits(&m, vec![4, 5, 1, 2, 1, 2, 3, 0], vec![4, 3], &device);
                assert!(close(&padded, &unpadded), "{state:?} {bidirectional}");
                assert!(close(&batched[3..], &unpadded), "{state:?} {bidirectional}");
            }
        }
        // Pooling is not the last state, and a second direction changes what is read.
        let last = logits(
            &model(StateChoice::LastToken, &device),
            vec![1, 2, 3],
            vec![3],
            &device,
        );
        for state in [StateChoice::Mean, StateChoice::Max, StateChoice::Attention] {
            let pooled = logits(&model(state, &device), vec![1, 2, 3], vec![3], &device);
            assert!(!close(&pooled, &last), "{state:?}");
        }
        let both = logits(
            &built(StateChoice::LastToken, true, &device),
            vec![1, 2, 3],
            vec![3],
            &device,
        );
        assert!(!close(&both, &last));
    }

    #[test]
    fn the_mean_word_vector_beside_the_state_is_v1s_mean_over_the_true_tokens() {
        let device = Device::flex();
        let embedding = crate::init::normal([6, 4], 1.0, &mut crate::init::rng(9), &device);
        let mut m = LstmClassifierConfig::new(3)
            .with_hidden(5)
            .with_dropout(0.0)
            .with_word_mean(true)
            .init(InputLayer::frozen(embedding.clone()), 7, &device);
        assert_eq!(m.dense.weight.dims(), [5 + 4, 3]);
        let summary = m.summary(4);
        assert_eq!(summary.total(), m.num_params(), "{summary:?}");
        // With the state's rows of the dense weight zeroed, the logits are the mean word vector
        // (padding excluded) through the remaining rows: Emojifier-V1's reading.
        let words = m.dense.weight.val().narrow(0, 5, 4);
        m.dense.weight = burn::module::Param::from_tensor(Tensor::cat(
            vec![Tensor::zeros([5, 3], &device), words.clone()],
            0,
        ));
        let mean = embedding.narrow(0, 1, 3).mean_dim(0); // rows 1, 2, 3: [1, 4]
        let bias = m.dense.bias.as_ref().map(|b| b.val().unsqueeze_dim::<2>(0));
        let mut expected = mean.matmul(words);
        if let Some(bias) = bias {
            expected = expected + bias;
        }
        let expected = expected
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap_or_default();
        let padded = logits(&m, vec![1, 2, 3, 0], vec![3], &device);
        assert!(close(&padded, &expected), "{padded:?} vs {expected:?}");
        let batched = logits(&m, vec![4, 5, 1, 2, 1, 2, 3, 0], vec![4, 3], &device);
        assert!(close(&batched[3..], &expected), "{batched:?}");
    }

    #[test]
    fn reversal_turns_each_rows_true_tokens_around_and_keeps_its_padding() {
        // Rows of length 2 and 3 over 3 steps, [T, B] row-major.
        assert_eq!(reversal(&[2, 3], 3), vec![1, 2, 0, 1, 2, 0]);
        let device = Device::flex();
        let x = Tensor::<3>::from_data(
            TensorData::new((0..6).map(|v| v as f32).collect::<Vec<_>>(), [3, 2, 1]),
            &device,
        );
        let back = reverse_time(reverse_time(x.clone(), &[2, 3]), &[2, 3]);
        assert_eq!(back.into_data(), x.into_data());
    }

    #[test]
    fn extra_parameters_are_counted_and_the_v2_start_is_unchanged() {
        let device = Device::flex();
        let plain = model(StateChoice::LastStep, &device);
        let rich = built(StateChoice::Attention, true, &device);
        for m in [&plain, &rich] {
            let summary = m.summary(4);
            assert_eq!(summary.total(), m.num_params(), "{summary:?}");
        }
        // The backward layer and the scores are drawn after V2's parameters.
        assert_eq!(
            rich.lstms[0].w_hh.val().into_data(),
            plain.lstms[0].w_hh.val().into_data()
        );
        let mut other = model(StateChoice::LastStep, &device);
        assert!(other.take_encoder(&rich).is_err());
        let mut same = model(StateChoice::LastStep, &device);
        let trained = built(StateChoice::LastStep, false, &device);
        assert!(same.take_encoder(&trained).is_ok());
    }

    #[test]
    fn a_frozen_encoder_leaves_only_the_head_learning() {
        let device = Device::flex().autodiff();
        let mut m = built(StateChoice::Attention, true, &device);
        assert!(m.lstms[0].w_ih.val().is_require_grad());
        m.freeze_encoder();
        let frozen = |m: &LstmClassifier| {
            m.lstms.iter().all(|l| !l.w_ih.val().is_require_grad())
                && m.reverse.iter().all(|l| !l.w_hh.val().is_require_grad())
                && m.attention
                    .iter()
                    .all(|a| !a.weight.val().is_require_grad())
        };
        assert!(frozen(&m));
        assert!(m.dense.weight.val().is_require_grad());
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
