//! The backward pass (BPTT): the gate gradients by a reverse recurrence per row group, then the
//! weight and input gradients as whole-sequence GEMMs.

use std::ops::Range;

use rayon::prelude::*;

use super::gemm::{Mat, matmul};
use super::rows::{Shared, row_groups, rows_of};
use super::{Dims, Grads, Saved, Weights, check_index, simd};

/// Gradients of the layer given the gradient of every step's hidden state `d_hs [T, B, H]` and
/// what the forward pass saved; the input's gradient only with `need_x` (a frozen embedding
/// below needs none).
pub fn backward(d_hs: &[f32], saved: &Saved, w: Weights<'_>, d: Dims, need_x: bool) -> Grads {
    backward_with(d_hs, saved, w, d, need_x).0
}

/// [`backward`] of [`super::forward_indexed`]: the input's gradient (with `need_x`) is per row,
/// `[U, in]`, summed over the positions using it.
pub fn backward_indexed(
    d_hs: &[f32],
    saved: &Saved,
    index: &[u32],
    w: Weights<'_>,
    d: Dims,
    need_x: bool,
) -> Grads {
    w.check(d);
    let count = saved.input_rows(d);
    check_index(index, count, d);
    let recurrent = Weights { w_ih: &[], ..w };
    let (g, dp) = backward_with(d_hs, saved, recurrent, Dims { input: 0, ..d }, false);
    // Each projected row's gradient is the sum of the gate gradients of the positions using it.
    let four_h = 4 * d.hidden;
    let mut d_table = vec![0f32; count * four_h];
    for (&i, row) in index.iter().zip(dp.chunks_exact(four_h)) {
        let start = i as usize * four_h;
        for (acc, v) in d_table[start..start + four_h].iter_mut().zip(row) {
            *acc += v;
        }
    }
    // The projection is `rows · W_ih`, so the rows stand where the positions' inputs stood.
    let (w_ih, x) = input_grads(&saved.x, &d_table, w.w_ih, d, need_x);
    Grads { x, w_ih, ..g }
}

/// [`backward`], and the pre-activation gate gradients `dp [T, B, 4H]` it came from.
fn backward_with(
    d_hs: &[f32],
    saved: &Saved,
    w: Weights<'_>,
    d: Dims,
    need_x: bool,
) -> (Grads, Vec<f32>) {
    w.check(d);
    let (h, four_h) = (d.hidden, 4 * d.hidden);
    let (step, rows_all) = (d.batch * h, d.steps * d.batch);
    assert_eq!(d_hs.len(), d.steps * step, "d_hs is [T, B, H]");
    assert_eq!(
        saved.gates.len(),
        rows_all * four_h,
        "saved gates are [T, B, 4H]"
    );
    let mut dp = vec![0f32; rows_all * four_h];
    {
        let groups = row_groups(d.batch);
        let threads = groups.len() == 1;
        let dg = Shared::new(&mut dp, d.batch, four_h);
        groups.into_par_iter().for_each(|rows| {
            // SAFETY: the groups' row ranges are disjoint, so are the slices each one takes.
            unsafe { backward_rows(&dg, d_hs, saved, rows, w.w_hh, d, threads) }
        });
    }
    // The weight gradients are sums over every step and row: one GEMM each.
    let mut w_hh = vec![0f32; h * four_h];
    if d.steps > 1 {
        // Σ_{t ≥ 1} h_{t-1}ᵀ · dG_t
        let k = (d.steps - 1) * d.batch;
        let (h_prev, dg) = (&saved.hs[..k * h], &dp[d.batch * four_h..]);
        matmul(
            &mut w_hh,
            (h, k, four_h),
            Mat::Transposed(h_prev),
            Mat::AsIs(dg),
            true,
        );
    }
    let (w_ih, x) = input_grads(&saved.x, &dp, w.w_ih, d, need_x);
    let mut bias = vec![0f32; four_h];
    for row in dp.chunks_exact(four_h) {
        for (acc, v) in bias.iter_mut().zip(row) {
            *acc += v;
        }
    }
    let grads = Grads {
        x,
        w_ih,
        bias,
        w_hh,
    };
    (grads, dp)
}

/// The gradients of `pre = x · W_ih` given `d_pre`, for `x [M, in]` (every position, or the
/// distinct rows of an indexed input): `dW_ih = xᵀ · d_pre`, and with `need_x`
/// `dx = d_pre · W_ihᵀ`.
fn input_grads(
    x: &[f32],
    d_pre: &[f32],
    w_ih: &[f32],
    d: Dims,
    need_x: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let four_h = 4 * d.hidden;
    let m = d_pre.len() / four_h.max(1);
    let mut d_w = vec![0f32; d.input * four_h];
    if d.input > 0 && m > 0 {
        let dims = (d.input, m, four_h);
        matmul(&mut d_w, dims, Mat::Transposed(x), Mat::AsIs(d_pre), true);
    }
    let dx = (need_x && d.input > 0).then(|| {
        let mut dx = vec![0f32; m * d.input];
        let dims = (m, four_h, d.input);
        matmul(&mut dx, dims, Mat::AsIs(d_pre), Mat::Transposed(w_ih), true);
        dx
    });
    (d_w, dx)
}

/// The backward recurrence over one group of rows, on this thread: writes its rows of the
/// pre-activation gate gradients `dp`.
///
/// # Safety
/// No other thread may use the same `rows` of `dp`.
unsafe fn backward_rows(
    dp: &Shared,
    d_hs: &[f32],
    saved: &Saved,
    rows: Range<usize>,
    w_hh: &[f32],
    d: Dims,
    threads: bool,
) {
    let (h, n) = (d.hidden, rows.len());
    let mut dh_next = vec![0f32; n * h];
    let mut dc_next = vec![0f32; n * h];
    let zero = vec![0f32; n * h];
    for t in (0..d.steps).rev() {
        let c_prev = if t > 0 {
            rows_of(&saved.cells, d, h, t - 1, &rows)
        } else {
            &zero
        };
        // SAFETY: this group's rows only, one step at a time.
        let dg = unsafe { dp.rows(t, &rows) };
        simd::backward_step(
            simd::Backward {
                gates: rows_of(&saved.gates, d, 4 * h, t, &rows),
                cell_tanh: rows_of(&saved.cells_tanh, d, h, t, &rows),
                cell_prev: c_prev,
                d_h: rows_of(d_hs, d, h, t, &rows),
                d_h_next: &dh_next,
            },
            dg,
            &mut dc_next,
            h,
        );
        if t > 0 {
            // dh_{t-1} = dG_t · W_hhᵀ
            let dims = (n, 4 * h, h);
            matmul(
                &mut dh_next,
                dims,
                Mat::AsIs(dg),
                Mat::Transposed(w_hh),
                threads,
            );
        }
    }
}
