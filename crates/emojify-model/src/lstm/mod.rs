//! The LSTM: a fused-gate layer with one bias per gate, as Keras has (burn's own `Lstm` has two).
//!
//! - [`FusedLstm`] (here): the module, its Keras initialisation, and the choice of how to run it;
//! - [`composed`]: the layer from burn tensor ops, for any backend (the reference);
//! - [`op`]: the layer as one burn operation (the [`LstmLayer`] backend extension), and the
//!   autodiff node over it that is generic over any backend implementing its forward/backward;
//! - [`cpu`]: that extension's kernels for flex and ndarray (forward, backward, row groups, GEMM,
//!   SIMD);
//! - [`cube`]: that extension's CubeCL kernels for burn's Cube backend (wgpu here; one source
//!   for cuda and rocm too): the time loop persistent or per step.

use std::collections::HashMap;

use burn::module::Param;
use burn::nn::Embedding;
use burn::prelude::*;
use rand::rngs::StdRng;

use crate::init;

mod autodiff;
pub mod composed;
pub mod cpu;
pub mod cube;
pub mod op;

pub use composed::{composed_layer, composed_recurrence};
pub use op::{LstmLayer, RowIndex};

/// Gate order inside the fused `4 × hidden` axis: input, forget, cell candidate, output (the
/// order of Keras and PyTorch; ONNX differs and is handled at export).
pub const GATES: [&str; 4] = ["i", "f", "g", "o"];

/// One LSTM layer: `w_ih [input, 4H]`, `w_hh [H, 4H]`, `bias [4H]`.
#[derive(Module, Debug)]
pub struct FusedLstm {
    pub w_ih: Param<Tensor<2>>,
    pub w_hh: Param<Tensor<2>>,
    pub bias: Param<Tensor<1>>,
}

impl FusedLstm {
    /// Keras' defaults: Glorot-uniform input kernel, orthogonal recurrent kernel, zero bias
    /// except 1 for the forget gate (`unit_forget_bias`).
    pub fn init(input: usize, hidden: usize, rng: &mut StdRng, device: &Device) -> Self {
        let limit = (6.0 / (input + 4 * hidden) as f64).sqrt();
        let w_ih = init::uniform([input, 4 * hidden], limit, rng, device);
        let w_hh = Tensor::from_data(
            TensorData::new(
                orthogonal_rows(hidden, 4 * hidden, rng),
                [hidden, 4 * hidden],
            ),
            device,
        );
        let mut bias = vec![0f32; 4 * hidden];
        bias[hidden..2 * hidden].fill(1.0);
        FusedLstm {
            w_ih: Param::from_tensor(w_ih),
            w_hh: Param::from_tensor(w_hh),
            bias: Param::from_tensor(Tensor::from_data(
                TensorData::new(bias, [4 * hidden]),
                device,
            )),
        }
    }

    pub fn hidden(&self) -> usize {
        self.w_hh.dims()[0]
    }

    pub fn input(&self) -> usize {
        self.w_ih.dims()[0]
    }

    pub fn num_params(&self) -> usize {
        let h = self.hidden();
        4 * h * (self.input() + h + 1)
    }

    /// `x [B, T, input]` → hidden states of every step `[B, T, H]`, starting from zero state.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_time_major(x.swap_dims(0, 1)).swap_dims(0, 1)
    }

    /// `x [T, B, input]` → `[T, B, H]`. Time-major keeps each step's slice of the projected
    /// input, and each step's output, contiguous (measured in docs/benchmarks.md). The whole
    /// layer is one operation ([`op`]) on flex, ndarray and wgpu; composed when it is turned off.
    pub fn forward_time_major(&self, x: Tensor<3>) -> Tensor<3> {
        let (w_ih, bias, w_hh) = (self.w_ih.val(), self.bias.val(), self.w_hh.val());
        if op::available(&x.device()) {
            op::layer(x, w_ih, bias, w_hh)
        } else {
            composed_layer(x, w_ih, bias, w_hh)
        }
    }

    /// Token ids `[B, T]` through `embedding` and this layer → `[T, B, H]`. On the CPU backends
    /// the layer gets each distinct token's vector once ([`op::layer_indexed`]) and
    /// projects it once per batch: padding and repeated words cost one row, and the per-step
    /// product shrinks to the recurrent one. Elsewhere, and for batches of thousands of mostly
    /// distinct words (`use_table`), the embedded sequence goes through
    /// [`Self::forward_time_major`].
    pub fn forward_ids(&self, embedding: &Embedding, ids: Tensor<2, Int>) -> Tensor<3> {
        let device = ids.device();
        if op::available(&device) && op::on_host(&device) {
            let [batch, steps] = ids.dims();
            let values = ids.clone().into_data().convert::<i64>();
            let values = values
                .try_to_vec::<i64>()
                .expect("converted to i64 just above");
            let (distinct, index) = distinct_time_major(&values, batch, steps);
            let count = distinct.len();
            if use_table(count, batch * steps) {
                let distinct = TensorData::new(distinct, [count]);
                let distinct = Tensor::<1, Int>::from_data(distinct, &device);
                let rows = embedding.weight.val().select(0, distinct);
                return op::layer_indexed(
                    rows,
                    index,
                    [steps, batch],
                    self.w_ih.val(),
                    self.bias.val(),
                    self.w_hh.val(),
                );
            }
        }
        self.forward_time_major(embedding.forward(ids).swap_dims(0, 1))
    }
}

/// Whether `distinct` rows among `positions` are worth the projected-row table. It saves the
/// input products of every repeated position; but a table of thousands of mostly distinct rows
/// (random tokens at batch 1024: ~10,000 rows, 20 MB at H = 128) is read back at random from
/// beyond the cache, and there the dense per-step product measured faster (inference ~10 %,
/// docs/benchmarks.md). Real text never gets there: the whole EMOJISET vocabulary is smaller
/// than the bound, and its batches repeat words and padding.
fn use_table(distinct: usize, positions: usize) -> bool {
    distinct < 2048 || distinct * 2 <= positions
}

/// The distinct values of row-major `ids [B, T]`, in first-seen order, and for each position
/// in time-major order (`t · B + b`) the index of its value among them.
fn distinct_time_major(ids: &[i64], batch: usize, steps: usize) -> (Vec<i64>, Vec<u32>) {
    let mut slot: HashMap<i64, u32> = HashMap::new();
    let mut distinct = Vec::new();
    let mut index = Vec::with_capacity(batch * steps);
    for t in 0..steps {
        for b in 0..batch {
            let id = ids[b * steps + t];
            let next = distinct.len() as u32;
            index.push(*slot.entry(id).or_insert_with(|| {
                distinct.push(id);
                next
            }));
        }
    }
    (distinct, index)
}

/// A `rows × cols` matrix (rows ≤ cols) with orthonormal rows, by Gram–Schmidt on Gaussian
/// samples — Keras' `Orthogonal` initializer for the recurrent kernel.
fn orthogonal_rows(rows: usize, cols: usize, rng: &mut StdRng) -> Vec<f32> {
    let mut m: Vec<Vec<f64>> = (0..rows).map(|_| init::normal_values(cols, rng)).collect();
    for r in 0..rows {
        for p in 0..r {
            let dot: f64 = m[r].iter().zip(&m[p]).map(|(a, b)| a * b).sum();
            let prev = m[p].clone();
            for (a, b) in m[r].iter_mut().zip(prev) {
                *a -= dot * b;
            }
        }
        let norm = m[r]
            .iter()
            .map(|a| a * a)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        for a in &mut m[r] {
            *a /= norm;
        }
    }
    m.into_iter().flatten().map(|v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The looked-up first layer must agree with embedding-then-layer, in its output and in
    /// every gradient, the embedding's included (when it is trained).
    #[test]
    #[allow(deprecated)] // ndarray: deprecated upstream, still one of this project's backends
    fn token_ids_through_the_table_match_the_embedded_sequence() {
        for device in [Device::flex().autodiff(), Device::ndarray().autodiff()] {
            let (vocab, dim, hidden) = (7, 5, 4);
            let mut rng = init::rng(9);
            let matrix = init::normal([vocab, dim], 1.0, &mut rng, &device);
            let embedding = crate::input::embedding_layer(matrix, true, &device);
            let lstm = FusedLstm::init(dim, hidden, &mut rng, &device);
            // Three sentences of four steps: repeated words and padding (0).
            let ids = [3, 1, 3, 0, 6, 6, 2, 0, 1, 0, 0, 0];
            assert!(
                use_table(5, ids.len()),
                "the table path is the one under test"
            );
            let ids = Tensor::<2, Int>::from_data(TensorData::new(ids.to_vec(), [3, 4]), &device);
            let weights = init::normal([4, 3, hidden], 1.0, &mut rng, &device);
            let outcome = |hs: Tensor<3>| {
                let grads = (hs.clone() * weights.clone()).sum().backward();
                let v2 = |t: Option<Tensor<2>>| t.map(|g| values(g.into_data()));
                [
                    Some(values(hs.into_data())),
                    v2(embedding.weight.val().grad(&grads)),
                    v2(lstm.w_ih.val().grad(&grads)),
                    lstm.bias.val().grad(&grads).map(|g| values(g.into_data())),
                    v2(lstm.w_hh.val().grad(&grads)),
                ]
            };
            let looked_up = outcome(lstm.forward_ids(&embedding, ids.clone()));
            let embedded = embedding.forward(ids).swap_dims(0, 1);
            let composed = outcome(lstm.forward_time_major(embedded));
            let names = ["hidden states", "d embedding", "d w_ih", "d bias", "d w_hh"];
            for ((a, b), name) in looked_up.into_iter().zip(composed).zip(names) {
                let (Some(a), Some(b)) = (a, b) else {
                    panic!("{name}: missing on one side");
                };
                let worst = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                assert!(
                    a.len() == b.len() && worst < 1e-5,
                    "{name}: differ by {worst}"
                );
            }
        }
    }

    fn values(data: TensorData) -> Vec<f32> {
        data.try_to_vec::<f32>().unwrap_or_default()
    }

    #[test]
    fn the_table_is_skipped_only_for_thousands_of_mostly_distinct_rows() {
        assert!(use_table(300, 10_240), "EMOJISET at batch 1024");
        assert!(use_table(80, 80), "a batch of distinct words, few rows");
        assert!(use_table(4_000, 10_240), "many rows, most repeated");
        assert!(!use_table(10_000, 10_240), "random tokens at batch 1024");
    }

    #[test]
    fn distinct_ids_index_time_major_positions() {
        // [B = 2, T = 3]: "5 7 0" and "7 7 0".
        let (distinct, index) = distinct_time_major(&[5, 7, 0, 7, 7, 0], 2, 3);
        assert_eq!(distinct, vec![5, 7, 0]);
        assert_eq!(index, vec![0, 1, 1, 1, 2, 2]);
    }

    #[test]
    fn orthogonal_rows_are_orthonormal() {
        let mut rng = init::rng(3);
        let (r, c) = (8, 32);
        let m = orthogonal_rows(r, c, &mut rng);
        for a in 0..r {
            for b in 0..r {
                let dot: f32 = (0..c).map(|k| m[a * c + k] * m[b * c + k]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-4, "({a},{b}) = {dot}");
            }
        }
    }
}
