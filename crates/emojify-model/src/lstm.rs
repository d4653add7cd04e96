//! A fused-gate LSTM layer with one bias per gate, as Keras has (burn's own `Lstm` has two):
//! one input projection for all time steps, then one recurrent matmul per step.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, tanh};
use rand::rngs::StdRng;

use crate::{init, lstm_op};

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
    /// input, and each step's output, contiguous (measured in docs/benchmarks.md). On the CPU
    /// backends the whole layer is one operation ([`lstm_op`]); elsewhere it is composed.
    pub fn forward_time_major(&self, x: Tensor<3>) -> Tensor<3> {
        let (w_ih, bias, w_hh) = (self.w_ih.val(), self.bias.val(), self.w_hh.val());
        if lstm_op::available(&x.device()) {
            lstm_op::layer(x, w_ih, bias, w_hh)
        } else {
            composed_layer(x, w_ih, bias, w_hh)
        }
    }
}

/// The layer from tensor ops: one matmul for the input projection of all steps (bias folded
/// in), then [`composed_recurrence`].
pub fn composed_layer(
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
) -> Tensor<3> {
    let [steps, batch, input] = x.dims();
    let [_, four_h] = w_ih.dims();
    let projected = (x.reshape([steps * batch, input]).matmul(w_ih) + bias.unsqueeze::<2>())
        .reshape([steps, batch, four_h]);
    composed_recurrence(projected, w_hh)
}

/// The recurrence from tensor ops, one small graph per step: what backends without
/// [`lstm_op`] (wgpu) run. `projected [T, B, 4H]`, `w_hh [H, 4H]` → `[T, B, H]`.
pub fn composed_recurrence(projected: Tensor<3>, w_hh: Tensor<2>) -> Tensor<3> {
    let [steps, batch, four_h] = projected.dims();
    let hidden = four_h / 4;
    let device = projected.device();
    let mut h = Tensor::<2>::zeros([batch, hidden], &device);
    let mut c = Tensor::<2>::zeros([batch, hidden], &device);
    let mut outputs = Vec::with_capacity(steps);
    for t in 0..steps {
        let gates = projected
            .clone()
            .narrow(0, t, 1)
            .reshape([batch, 4 * hidden])
            + h.matmul(w_hh.clone());
        let i = sigmoid(gates.clone().narrow(1, 0, hidden));
        let f = sigmoid(gates.clone().narrow(1, hidden, hidden));
        let g = tanh(gates.clone().narrow(1, 2 * hidden, hidden));
        let o = sigmoid(gates.narrow(1, 3 * hidden, hidden));
        c = f * c + i * g;
        h = o * tanh(c.clone());
        outputs.push(h.clone());
    }
    Tensor::stack(outputs, 0)
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
