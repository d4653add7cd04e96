//! One LSTM layer on plain `f32` slices — input projection, recurrence, and a hand-written
//! backward (BPTT) — for the CPU backends (flex, ndarray). burn composes each step from ~15 tensor ops, each a
//! separate pass over memory with scalar `exp`/`tanh`; here a step is two GEMMs plus one fused,
//! vectorised pass over the gates, and the backward needs no autodiff graph.
//!
//! Layout is time-major and gates are fused as in [`crate::lstm::FusedLstm`]: `x [T, B, in]`,
//! `w_ih [in, 4H]`, `bias [4H]`, `w_hh [H, 4H]`, gate order i, f, g, o.
//!
//! Where the kernels divide: [`forward`] and [`backward`] passes, the per-thread `rows` groups,
//! the `gemm` wrapper and the `simd` element-wise steps; `backend` binds them to burn's
//! flex and ndarray tensors.

mod backend;
mod backward;
mod forward;
mod gemm;
mod rows;
mod simd;
#[cfg(test)]
mod tests;

pub use backend::ReadBack;
pub use backward::{backward, backward_indexed};
pub use forward::{forward, forward_indexed};
pub use simd::vector_extension;

/// Sizes of one layer's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub steps: usize,
    pub batch: usize,
    pub input: usize,
    pub hidden: usize,
}

/// The layer's weights, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Weights<'a> {
    /// `[in, 4H]`.
    pub w_ih: &'a [f32],
    /// `[4H]`.
    pub bias: &'a [f32],
    /// `[H, 4H]`.
    pub w_hh: &'a [f32],
}

impl Weights<'_> {
    fn check(&self, d: Dims) {
        let four_h = 4 * d.hidden;
        assert_eq!(self.w_ih.len(), d.input * four_h, "w_ih is [in, 4H]");
        assert_eq!(self.bias.len(), four_h, "bias is [4H]");
        assert_eq!(self.w_hh.len(), d.hidden * four_h, "w_hh is [H, 4H]");
    }
}

/// The input as distinct rows `rows [U, in]` and, for each position in time-major order
/// (`t · B + b`), the row it is. Each row's projection `row · W_ih` is computed once, however
/// often it occurs: for token ids through an embedding, once per distinct word in the batch
/// (padding included) instead of once per position.
#[derive(Debug, Clone)]
pub struct Indexed<'a> {
    pub rows: Vec<f32>,
    pub index: &'a [u32],
}

/// Input pre-activations (bias included) looked up instead of computed: step `t`, row `b`
/// gets row `index[t·B + b]` of `rows [U, 4H]` added to its gates.
#[derive(Debug, Clone, Copy)]
struct Table<'a> {
    rows: &'a [f32],
    index: &'a [u32],
}

/// Checks `index` against `count` rows and a `[T, B]` batch.
fn check_index(index: &[u32], count: usize, d: Dims) {
    assert_eq!(index.len(), d.steps * d.batch, "index is [T, B]");
    assert!(
        index.iter().all(|&i| (i as usize) < count),
        "index points past the {count} rows"
    );
}

/// What the backward pass needs from the forward pass, each array time-major over all rows.
#[derive(Debug, Clone, Default)]
pub struct Saved {
    /// `[T, B, in]`: the input (`[U, in]`, its distinct rows, for [`Indexed`] input).
    x: Vec<f32>,
    /// `[T, B, H]`.
    hs: Vec<f32>,
    /// `[T, B, 4H]`: σ(i), σ(f), tanh(g), σ(o).
    gates: Vec<f32>,
    /// `[T, B, H]`.
    cells: Vec<f32>,
    /// `[T, B, H]`: tanh of `cells`.
    cells_tanh: Vec<f32>,
}

impl Saved {
    /// How many input rows the forward pass saw: `T · B`, or `U` for [`Indexed`] input.
    pub fn input_rows(&self, d: Dims) -> usize {
        self.x.len() / d.input.max(1)
    }
}

/// The gradients of one layer; `x` only when asked for.
#[derive(Debug, Clone)]
pub struct Grads {
    pub x: Option<Vec<f32>>,
    pub w_ih: Vec<f32>,
    pub bias: Vec<f32>,
    pub w_hh: Vec<f32>,
}
