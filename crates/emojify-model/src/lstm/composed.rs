//! The reference layer composed from burn tensor ops: runs on any backend, differentiates through
//! burn's autodiff, and is what the one-op layer ([`super::op`]) is tested against. Slow where
//! each op is a kernel launch (wgpu: ~15 launches per step, plus their backward).

use burn::prelude::*;
use burn::tensor::activation::{sigmoid, tanh};

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
/// [`super::op`] (wgpu) run. `projected [T, B, 4H]`, `w_hh [H, 4H]` → `[T, B, H]`.
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
