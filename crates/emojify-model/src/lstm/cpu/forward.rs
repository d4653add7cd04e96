//! The forward pass: every step's `[x_t | h_{t-1}] · [W_ih; W_hh]` GEMM and fused element-wise
//! pass, one row group per thread; with `save`, what the backward pass needs.

use std::ops::Range;

use rayon::prelude::*;

use super::gemm::{Mat, matmul};
use super::rows::{Shared, row_groups, rows_of};
use super::{Dims, Indexed, Saved, Table, Weights, check_index, simd};

/// Runs the layer from a zero state and returns every step's hidden state `[T, B, H]`, and
/// with `save` what [`super::backward`] needs. Batch rows are independent, so the batch is split into
/// one group of rows per thread, each running all steps on its own — no synchronisation per
/// step.
pub fn forward(x: Vec<f32>, w: Weights<'_>, d: Dims, save: bool) -> (Vec<f32>, Option<Saved>) {
    forward_with(x, w, d, save, None)
}

/// [`forward`] with the input given as [`Indexed`] rows (`d.input` wide).
pub fn forward_indexed(
    input: Indexed<'_>,
    w: Weights<'_>,
    d: Dims,
    save: bool,
) -> (Vec<f32>, Option<Saved>) {
    w.check(d);
    let count = input.rows.len() / d.input.max(1);
    assert_eq!(input.rows.len(), count * d.input, "rows are [U, in]");
    check_index(input.index, count, d);
    let four_h = 4 * d.hidden;
    let mut projected = vec![0f32; count * four_h];
    let dims = (count, d.input, four_h);
    matmul(
        &mut projected,
        dims,
        Mat::AsIs(&input.rows),
        Mat::AsIs(w.w_ih),
        true,
    );
    // The bias goes into the table too: the element-wise pass then adds one row either way.
    for row in projected.chunks_exact_mut(four_h) {
        for (v, b) in row.iter_mut().zip(w.bias) {
            *v += b;
        }
    }
    let table = Table {
        rows: &projected,
        index: input.index,
    };
    let recurrent = Weights { w_ih: &[], ..w };
    let (hs, saved) = forward_with(
        Vec::new(),
        recurrent,
        Dims { input: 0, ..d },
        save,
        Some(table),
    );
    // The rows stand in for the input in the backward pass.
    let saved = saved.map(|s| Saved { x: input.rows, ..s });
    (hs, saved)
}

fn forward_with(
    x: Vec<f32>,
    w: Weights<'_>,
    d: Dims,
    save: bool,
    table: Option<Table<'_>>,
) -> (Vec<f32>, Option<Saved>) {
    assert_eq!(x.len(), d.steps * d.batch * d.input, "x is [T, B, in]");
    w.check(d);
    let (step, h) = (d.batch * d.hidden, d.hidden);
    let mut hs = vec![0f32; d.steps * step];
    let mut gates = vec![0f32; if save { d.steps } else { 1 } * 4 * step];
    let saved_len = if save { d.steps * step } else { 0 };
    let (mut cells, mut cells_tanh) = (vec![0f32; saved_len], vec![0f32; saved_len]);
    // [W_ih; W_hh]: `[in + H, 4H]`.
    let stacked = [w.w_ih, w.w_hh].concat();
    {
        let groups = row_groups(d.batch);
        let threads = groups.len() == 1;
        let out = Shared::new(&mut hs, d.batch, h);
        let buffers = save.then(|| Kept {
            gates: Shared::new(&mut gates, d.batch, 4 * h),
            cells: Shared::new(&mut cells, d.batch, h),
            cells_tanh: Shared::new(&mut cells_tanh, d.batch, h),
        });
        groups.into_par_iter().for_each(|rows| {
            // SAFETY: the groups' row ranges are disjoint, so are the slices each one takes.
            let step = Step {
                w,
                stacked: &stacked,
                table,
                d,
                threads,
            };
            unsafe { forward_rows(&x, &out, buffers.as_ref(), rows, step) }
        });
    }
    let saved = save.then(|| Saved {
        x,
        hs: hs.clone(),
        gates,
        cells,
        cells_tanh,
    });
    (hs, saved)
}

/// The forward buffers kept for the backward pass.
struct Kept {
    gates: Shared,
    cells: Shared,
    cells_tanh: Shared,
}

/// What every row group's forward pass shares.
#[derive(Clone, Copy)]
struct Step<'a> {
    w: Weights<'a>,
    /// `[W_ih; W_hh]`.
    stacked: &'a [f32],
    table: Option<Table<'a>>,
    d: Dims,
    threads: bool,
}

/// The forward pass over one group of rows, on this thread.
///
/// # Safety
/// No other thread may use the same `rows` of these buffers.
unsafe fn forward_rows(
    x: &[f32],
    hs: &Shared,
    kept: Option<&Kept>,
    rows: Range<usize>,
    s: Step<'_>,
) {
    let Step {
        w,
        stacked,
        table,
        d,
        threads,
    } = s;
    let (h, n) = (d.hidden, rows.len());
    let k_all = d.input + h;
    // This step's `[x_t | h_{t-1}]` rows: the element-wise pass writes each new state straight
    // into the `h` part, so only `x_t` is copied in per step.
    let mut xh = vec![0f32; n * k_all];
    // Not kept: this step's gates, the previous and current cell, and its tanh, locally.
    let mut local = vec![0f32; if kept.is_some() { 0 } else { 7 * n * h }];
    let zero = vec![0f32; n * h];
    for t in 0..d.steps {
        // SAFETY (all `rows` calls): this group's rows only; steps t-1 and t are distinct.
        let h_t = unsafe { hs.rows(t, &rows) };
        let (g, c_prev, c, ct): (&mut [f32], &[f32], &mut [f32], &mut [f32]) = match kept {
            Some(k) => (
                unsafe { k.gates.rows(t, &rows) },
                if t > 0 {
                    unsafe { k.cells.rows(t - 1, &rows) }
                } else {
                    &zero
                },
                unsafe { k.cells.rows(t, &rows) },
                unsafe { k.cells_tanh.rows(t, &rows) },
            ),
            None => {
                let (g, rest) = local.split_at_mut(4 * n * h);
                let (cells, ct) = rest.split_at_mut(2 * n * h);
                // Ping-pong: the previous step's cell is in the other half.
                let (a, b) = cells.split_at_mut(n * h);
                let (c_prev, c) = match t {
                    0 => (&zero[..], a),
                    _ if t % 2 == 1 => (&*a, b),
                    _ => (&*b, a),
                };
                (g, c_prev, c, ct)
            }
        };
        // gates = [x_t | h_{t-1}] · [W_ih; W_hh]: one GEMM with the longer inner dimension
        // runs faster than two. The bias (or a table row) is added in the element-wise pass.
        let x_t = rows_of(x, d, d.input, t, &rows);
        if t == 0 && d.input == 0 {
            g.fill(0.0);
        } else if t == 0 {
            let dims = (n, d.input, 4 * h);
            matmul(g, dims, Mat::AsIs(x_t), Mat::AsIs(w.w_ih), threads);
        } else {
            if d.input > 0 {
                for (dst, x_r) in xh.chunks_exact_mut(k_all).zip(x_t.chunks_exact(d.input)) {
                    dst[..d.input].copy_from_slice(x_r);
                }
            }
            matmul(
                g,
                (n, k_all, 4 * h),
                Mat::AsIs(&xh),
                Mat::AsIs(stacked),
                threads,
            );
        }
        let addend = match table {
            Some(table) => simd::Addend::Rows {
                table: table.rows,
                index: &table.index[t * d.batch..][rows.clone()],
            },
            None => simd::Addend::Bias(w.bias),
        };
        simd::forward_step(simd::Forward {
            gates: g,
            addend,
            cell_prev: c_prev,
            cell: c,
            cell_tanh: ct,
            h_out: h_t,
            xh: &mut xh,
            h,
        });
    }
}
