//! One LSTM layer on plain `f32` slices — input projection, recurrence, and a hand-written
//! backward (BPTT) — for the CPU backends. burn composes each step from ~15 tensor ops, each a
//! separate pass over memory with scalar `exp`/`tanh`; here a step is two GEMMs plus one fused,
//! vectorised pass over the gates, and the backward needs no autodiff graph.
//!
//! Layout is time-major and gates are fused as in [`crate::lstm::FusedLstm`]: `x [T, B, in]`,
//! `w_ih [in, 4H]`, `bias [4H]`, `w_hh [H, 4H]`, gate order i, f, g, o.

use std::ops::Range;

use rayon::prelude::*;

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

/// Runs the layer from a zero state and returns every step's hidden state `[T, B, H]`, and
/// with `save` what [`backward`] needs. Batch rows are independent, so the batch is split into
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

/// Gradients of the layer given the gradient of every step's hidden state `d_hs [T, B, H]` and
/// what the forward pass saved; the input's gradient only with `need_x` (a frozen embedding
/// below needs none).
pub fn backward(d_hs: &[f32], saved: &Saved, w: Weights<'_>, d: Dims, need_x: bool) -> Grads {
    backward_with(d_hs, saved, w, d, need_x).0
}

/// [`backward`] of [`forward_indexed`]: the input's gradient (with `need_x`) is per row,
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

/// Contiguous groups of batch rows, one per thread, at least 8 rows each.
fn row_groups(batch: usize) -> Vec<Range<usize>> {
    let n = rayon::current_num_threads().min(batch / 8).max(1);
    (0..n).map(|k| k * batch / n..(k + 1) * batch / n).collect()
}

/// A time-major `[T, B, width]` buffer that the row groups' threads write together, each only
/// its own rows of each step.
struct Shared {
    ptr: *mut f32,
    len: usize,
    batch: usize,
    width: usize,
}

// SAFETY: `Shared` hands out only the slices `rows` asks for; callers keep them disjoint.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    fn new(buf: &mut [f32], batch: usize, width: usize) -> Self {
        Shared {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            batch,
            width,
        }
    }

    /// Rows `rows` of step `t`.
    ///
    /// # Safety
    /// No two slices alive at once may overlap (distinct steps or disjoint rows), and the buffer
    /// `new` was given must outlive them.
    #[allow(clippy::mut_from_ref)]
    unsafe fn rows(&self, t: usize, rows: &Range<usize>) -> &mut [f32] {
        let start = (t * self.batch + rows.start) * self.width;
        let len = rows.len() * self.width;
        assert!(
            start + len <= self.len,
            "rows {rows:?} of step {t} out of bounds"
        );
        // SAFETY: in bounds (checked above); exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}

/// The forward buffers kept for the backward pass.
struct Kept {
    gates: Shared,
    cells: Shared,
    cells_tanh: Shared,
}

/// Rows `rows` of step `t` of a read-only time-major `[T, B, width]` array.
fn rows_of<'a>(all: &'a [f32], d: Dims, width: usize, t: usize, rows: &Range<usize>) -> &'a [f32] {
    let base = t * d.batch * width;
    &all[base + rows.start * width..base + rows.end * width]
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

/// A GEMM operand: a row-major array read as it is, or transposed through strides.
#[derive(Clone, Copy)]
enum Mat<'a> {
    AsIs(&'a [f32]),
    Transposed(&'a [f32]),
}

impl<'a> Mat<'a> {
    /// The values, and the (column, row) strides that read them as a `[rows, cols]` matrix.
    fn strided(self, rows: usize, cols: usize) -> (&'a [f32], isize, isize) {
        match self {
            Mat::AsIs(v) => (v, 1, cols as isize),
            Mat::Transposed(v) => (v, rows as isize, 1),
        }
    }
}

/// `dst [m, n] = lhs [m, k] · rhs [k, n]`, `dst` row-major (overwritten, never read).
fn matmul(
    dst: &mut [f32],
    (m, k, n): (usize, usize, usize),
    lhs: Mat<'_>,
    rhs: Mat<'_>,
    threads: bool,
) {
    let (lhs, lhs_cs, lhs_rs) = lhs.strided(m, k);
    let (rhs, rhs_cs, rhs_rs) = rhs.strided(k, n);
    assert_eq!(dst.len(), m * n, "dst is [m, n]");
    assert_eq!(lhs.len(), m * k, "lhs holds m · k values");
    assert_eq!(rhs.len(), k * n, "rhs holds k · n values");
    // SAFETY: each operand holds exactly rows · cols values and its strides are those of a
    // dense row-major array or of its transpose, so every index they reach is in bounds.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism(m, n, k, threads),
        );
    }
}

/// Threads only pay off for large products (flex uses the same bound).
fn parallelism(m: usize, n: usize, k: usize, threads: bool) -> gemm::Parallelism {
    if threads && m.saturating_mul(n).saturating_mul(k) >= 192 * 192 * 192 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}

/// The element-wise parts, written as plain loops over slices with branch-free activations so
/// the compiler vectorises them; on x86-64 copies are compiled for AVX-512 and for AVX2 + FMA,
/// and the widest the CPU has is chosen at run time.
mod simd {
    /// One step's inputs to the backward element-wise pass, each `[B, ·]` of this step.
    pub struct Backward<'a> {
        pub gates: &'a [f32],
        pub cell_tanh: &'a [f32],
        pub cell_prev: &'a [f32],
        pub d_h: &'a [f32],
        pub d_h_next: &'a [f32],
    }

    /// One step's buffers for the forward element-wise pass, each `[B, ·]` of this step.
    pub struct Forward<'a> {
        /// Pre-activation gates `[B, 4H]` without the bias in; the activated gates out.
        pub gates: &'a mut [f32],
        pub addend: Addend<'a>,
        pub cell_prev: &'a [f32],
        pub cell: &'a mut [f32],
        pub cell_tanh: &'a mut [f32],
        pub h_out: &'a mut [f32],
        /// The next step's `[x | h]` rows: the new state also goes into each row's `h` part.
        pub xh: &'a mut [f32],
        pub h: usize,
    }

    /// What each row's gates get added before the activations.
    #[derive(Clone, Copy)]
    pub enum Addend<'a> {
        /// The bias `[4H]`, the same for every row.
        Bias(&'a [f32]),
        /// Row `index[r]` of `table [U, 4H]` for row `r`.
        Rows { table: &'a [f32], index: &'a [u32] },
    }

    impl<'a> Addend<'a> {
        #[inline(always)]
        fn row(&self, r: usize, four_h: usize) -> &'a [f32] {
            match *self {
                Addend::Bias(b) => b,
                Addend::Rows { table, index } => {
                    let start = index[r] as usize * four_h;
                    &table[start..start + four_h]
                }
            }
        }
    }

    /// The whole step for each row in one pass: bias, activations, the new cell, its tanh and
    /// the new state, kept in registers between them.
    pub fn forward_step(args: Forward<'_>) {
        #[cfg(target_arch = "x86_64")]
        match level() {
            // SAFETY: the CPU has the features each function was compiled for.
            Level::Avx512 => return unsafe { x86::forward_step_avx512(args) },
            Level::Avx2 => return unsafe { x86::forward_step_avx2(args) },
            Level::Baseline => {}
        }
        forward_step_body::<BASELINE_FMA>(args)
    }

    /// Whether the copy compiled for the target's baseline has hardware FMA.
    const BASELINE_FMA: bool = cfg!(any(target_arch = "aarch64", target_feature = "fma"));

    /// Writes the pre-activation gate gradients `dg [B, 4H]` and carries `dc` through `dc_next`.
    pub fn backward_step(x: Backward<'_>, dg: &mut [f32], dc_next: &mut [f32], h: usize) {
        let args = (x, dg, dc_next, h);
        #[cfg(target_arch = "x86_64")]
        match level() {
            // SAFETY: the CPU has the features each function was compiled for.
            Level::Avx512 => return unsafe { x86::backward_step_avx512(args) },
            Level::Avx2 => return unsafe { x86::backward_step_avx2(args) },
            Level::Baseline => {}
        }
        backward_step_body(args)
    }

    type BackwardArgs<'a> = (Backward<'a>, &'a mut [f32], &'a mut [f32], usize);

    #[derive(Clone, Copy)]
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    enum Level {
        Avx512,
        Avx2,
        Baseline,
    }

    #[cfg(target_arch = "x86_64")]
    fn level() -> Level {
        use std::sync::OnceLock;
        static LEVEL: OnceLock<Level> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            if std::is_x86_feature_detected!("avx512f") {
                Level::Avx512
            } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            {
                Level::Avx2
            } else {
                Level::Baseline
            }
        })
    }

    /// The same bodies compiled for wider vectors.
    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use super::{BackwardArgs, Forward, backward_step_body, forward_step_body};

        #[target_feature(enable = "avx512f,avx2,fma")]
        pub fn forward_step_avx512(args: Forward<'_>) {
            forward_step_body::<true>(args)
        }

        #[target_feature(enable = "avx2,fma")]
        pub fn forward_step_avx2(args: Forward<'_>) {
            forward_step_body::<true>(args)
        }

        #[target_feature(enable = "avx512f,avx2,fma")]
        pub fn backward_step_avx512(args: BackwardArgs<'_>) {
            backward_step_body(args)
        }

        #[target_feature(enable = "avx2,fma")]
        pub fn backward_step_avx2(args: BackwardArgs<'_>) {
            backward_step_body(args)
        }
    }

    #[inline(always)]
    fn forward_step_body<const F: bool>(args: Forward<'_>) {
        let Forward {
            gates,
            addend,
            cell_prev,
            cell,
            cell_tanh,
            h_out,
            xh,
            h,
        } = args;
        let n = h_out.len() / h.max(1);
        if n == 0 {
            return;
        }
        let k_all = xh.len() / n;
        let rows = gates
            .chunks_exact_mut(4 * h)
            .zip(cell_prev.chunks_exact(h).zip(cell.chunks_exact_mut(h)))
            .zip(cell_tanh.chunks_exact_mut(h).zip(h_out.chunks_exact_mut(h)))
            .zip(xh.chunks_exact_mut(k_all));
        for (r, (((g, (cp, c)), (ct, h_row)), xh_row)) in rows.enumerate() {
            let (bi, rest) = addend.row(r, 4 * h).split_at(h);
            let (bf, rest) = rest.split_at(h);
            let (bg, bo) = rest.split_at(h);
            let (gi, rest) = g.split_at_mut(h);
            let (gf, rest) = rest.split_at_mut(h);
            let (gg, go) = rest.split_at_mut(h);
            let next = &mut xh_row[k_all - h..];
            cell_row::<F>(gi, gf, gg, go, bi, bf, bg, bo, cp, c, ct, h_row, next);
        }
    }

    /// One row of a step: gates `[i, f, g, o]` (activated in place) with their addends, the
    /// previous cell, and the outputs `[cell, tanh cell, h, h again for the next step]`.
    /// A function of its own, each array a parameter: that is what tells the compiler the
    /// thirteen arrays do not overlap, which it needs to vectorise the loop.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn cell_row<const F: bool>(
        gi: &mut [f32],
        gf: &mut [f32],
        gg: &mut [f32],
        go: &mut [f32],
        bi: &[f32],
        bf: &[f32],
        bg: &[f32],
        bo: &[f32],
        cp: &[f32],
        c: &mut [f32],
        ct: &mut [f32],
        h_row: &mut [f32],
        next: &mut [f32],
    ) {
        let h = cp.len();
        // Equal lengths, stated once, so the loop has no bounds checks.
        let (gi, gf, gg, go) = (&mut gi[..h], &mut gf[..h], &mut gg[..h], &mut go[..h]);
        let (bi, bf, bg, bo) = (&bi[..h], &bf[..h], &bg[..h], &bo[..h]);
        let (c, ct, h_row, next) = (&mut c[..h], &mut ct[..h], &mut h_row[..h], &mut next[..h]);
        for j in 0..h {
            let i = sigmoid::<F>(gi[j] + bi[j]);
            let f = sigmoid::<F>(gf[j] + bf[j]);
            let u = tanh::<F>(gg[j] + bg[j]);
            let o = sigmoid::<F>(go[j] + bo[j]);
            let c_new = mad::<F>(f, cp[j], i * u);
            let c_tanh = tanh::<F>(c_new);
            let h_new = o * c_tanh;
            (gi[j], gf[j], gg[j], go[j]) = (i, f, u, o);
            (c[j], ct[j], h_row[j], next[j]) = (c_new, c_tanh, h_new, h_new);
        }
    }

    #[inline(always)]
    fn backward_step_body(args: BackwardArgs<'_>) {
        let (x, dg, dc_next, h) = args;
        let rows = x
            .gates
            .chunks_exact(4 * h)
            .zip(dg.chunks_exact_mut(4 * h))
            .zip(x.cell_tanh.chunks_exact(h))
            .zip(x.cell_prev.chunks_exact(h))
            .zip(x.d_h.chunks_exact(h).zip(x.d_h_next.chunks_exact(h)))
            .zip(dc_next.chunks_exact_mut(h));
        for (((((g, dg), ct), cp), (dh_t, dh_n)), dc_n) in rows {
            let (i, rest) = g.split_at(h);
            let (f, rest) = rest.split_at(h);
            let (gg, o) = rest.split_at(h);
            let (di, rest) = dg.split_at_mut(h);
            let (df, rest) = rest.split_at_mut(h);
            let (dgg, d_o) = rest.split_at_mut(h);
            for j in 0..h {
                let dh = dh_t[j] + dh_n[j];
                let dc = dh * o[j] * (1.0 - ct[j] * ct[j]) + dc_n[j];
                d_o[j] = dh * ct[j] * o[j] * (1.0 - o[j]);
                di[j] = dc * gg[j] * i[j] * (1.0 - i[j]);
                df[j] = dc * cp[j] * f[j] * (1.0 - f[j]);
                dgg[j] = dc * i[j] * (1.0 - gg[j] * gg[j]);
                dc_n[j] = dc * f[j];
            }
        }
    }

    /// `a · b + c`, fused where the copy being compiled has FMA (`F`): one instruction and one
    /// rounding instead of two. Rust never fuses on its own, and without hardware FMA
    /// `mul_add` would be a slow library call.
    #[inline(always)]
    fn mad<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
        if F { a.mul_add(b, c) } else { a * b + c }
    }

    #[inline(always)]
    pub fn sigmoid<const F: bool>(x: f32) -> f32 {
        1.0 / (1.0 + exp::<F>(-x))
    }

    /// `eˣ` to about 2 ulp (Cephes' `expf` polynomial), branch-free so it vectorises. Inputs are
    /// clamped to the range where the result is a finite normal number.
    #[inline(always)]
    pub fn exp<const F: bool>(x: f32) -> f32 {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        // Adding and removing 1.5 · 2²³ rounds to the nearest integer without a rounding
        // instruction (SSE2 has none).
        const ROUND: f32 = 12_582_912.0;
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        let x = x.clamp(-87.3, 88.3);
        let shifted = mad::<F>(x, LOG2E, ROUND);
        let n = shifted - ROUND;
        let r = mad::<F>(-n, LN2_LO, mad::<F>(-n, LN2_HI, x));
        let p = 1.987_569_1e-4_f32;
        let p = mad::<F>(p, r, 1.398_199_9e-3);
        let p = mad::<F>(p, r, 8.333_452e-3);
        let p = mad::<F>(p, r, 4.166_579_6e-2);
        let p = mad::<F>(p, r, 0.166_666_65);
        let p = mad::<F>(p, r, 0.5);
        let y = mad::<F>(p * r, r, r + 1.0);
        // 2ⁿ built from its exponent bits; n ∈ [-126, 127] after the clamp. n is also the low
        // bits of `shifted`, read as an integer: no float-to-int conversion, which would not
        // vectorise (Rust's saturating `as` needs a NaN check per lane).
        let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
        y * f32::from_bits(n_bits.wrapping_add(127) << 23)
    }

    /// `tanh x`: Cephes' odd polynomial near zero (where `1 − 2/(e²ˣ+1)` would lose relative
    /// precision), the exponential form elsewhere; both computed, one selected, no branch.
    #[inline(always)]
    pub fn tanh<const F: bool>(x: f32) -> f32 {
        let a = x.abs();
        let z = x * x;
        let p = -5.704_988_7e-3_f32;
        let p = mad::<F>(p, z, 2.063_909e-2);
        let p = mad::<F>(p, z, -5.373_971_6e-2);
        let p = mad::<F>(p, z, 0.133_314_42);
        let p = mad::<F>(p, z, -0.333_332_8);
        let small = mad::<F>(p * z, x, x);
        let large = (1.0 - 2.0 / (exp::<F>(2.0 * a) + 1.0)).copysign(x);
        if a < 0.625 { small } else { large }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layer in f64 with the textbook formulas, for reference.
    fn reference(x: &[f32], w: Weights<'_>, d: Dims) -> Vec<f64> {
        let (h, b, n_in) = (d.hidden, d.batch, d.input);
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let mut hs = vec![0f64; d.steps * b * h];
        let mut c = vec![0f64; b * h];
        let mut prev = vec![0f64; b * h];
        for t in 0..d.steps {
            for r in 0..b {
                let mut g = vec![0f64; 4 * h];
                for (k, gk) in g.iter_mut().enumerate() {
                    let xin: f64 = (0..n_in)
                        .map(|m| {
                            f64::from(x[(t * b + r) * n_in + m]) * f64::from(w.w_ih[m * 4 * h + k])
                        })
                        .sum();
                    let rec: f64 = (0..h)
                        .map(|m| prev[r * h + m] * f64::from(w.w_hh[m * 4 * h + k]))
                        .sum();
                    *gk = xin + rec + f64::from(w.bias[k]);
                }
                for j in 0..h {
                    let (i, f) = (sig(g[j]), sig(g[h + j]));
                    let (gg, o) = (g[2 * h + j].tanh(), sig(g[3 * h + j]));
                    c[r * h + j] = f * c[r * h + j] + i * gg;
                    hs[(t * b + r) * h + j] = o * c[r * h + j].tanh();
                }
            }
            prev.copy_from_slice(&hs[t * b * h..(t + 1) * b * h]);
        }
        hs
    }

    fn values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    const D: Dims = Dims {
        steps: 4,
        batch: 3,
        input: 3,
        hidden: 5,
    };

    /// Random inputs and weights for `d`: `(x, w_ih, bias, w_hh)`.
    fn case(d: Dims, seed: u32) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
        let four_h = 4 * d.hidden;
        (
            values(d.steps * d.batch * d.input, seed, 1.5),
            values(d.input * four_h, seed + 1, 0.7),
            values(four_h, seed + 2, 0.5),
            values(d.hidden * four_h, seed + 3, 0.6),
        )
    }

    fn weights<'a>(c: &'a (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>)) -> Weights<'a> {
        Weights {
            w_ih: &c.1,
            bias: &c.2,
            w_hh: &c.3,
        }
    }

    /// Both copies of the activations: with fused multiply-adds (`F`) and without.
    fn activations_match_f64<const F: bool>() {
        let mut worst = (0f64, 0f64, 0f64);
        for k in -200_000..=200_000 {
            let x = k as f32 * 1e-4;
            let xd = f64::from(x);
            let sigmoid = 1.0 / (1.0 + (-xd).exp());
            worst.0 = worst
                .0
                .max((f64::from(simd::sigmoid::<F>(x)) - sigmoid).abs());
            worst.1 = worst
                .1
                .max((f64::from(simd::tanh::<F>(x)) - xd.tanh()).abs());
            if x.abs() < 10.0 {
                let rel = f64::from(simd::exp::<F>(x)) / xd.exp() - 1.0;
                worst.2 = worst.2.max(rel.abs());
            }
        }
        assert!(
            worst.0 < 2e-7 && worst.1 < 2e-7,
            "sigmoid/tanh abs error {worst:?}"
        );
        assert!(worst.2 < 5e-7, "exp rel error {worst:?}");
        assert_eq!(simd::tanh::<F>(1e-8), 1e-8, "tanh keeps tiny inputs exact");
        assert_eq!(simd::tanh::<F>(-100.0), -1.0);
        let s = [simd::sigmoid::<F>(-200.0), simd::sigmoid::<F>(200.0)];
        assert!(s[0] >= 0.0 && s[0] < 1e-30 && s[1] == 1.0, "{s:?}");
    }

    #[test]
    fn activations_match_f64_without_fma() {
        activations_match_f64::<false>();
    }

    #[test]
    fn activations_match_f64_with_fma() {
        activations_match_f64::<true>();
    }

    #[test]
    fn forward_matches_the_textbook_layer() {
        let c = case(D, 1);
        let (hs, saved) = forward(c.0.clone(), weights(&c), D, true);
        let want = reference(&c.0, weights(&c), D);
        for (a, b) in hs.iter().zip(&want) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{a} vs {b}");
        }
        let (plain, none) = forward(c.0.clone(), weights(&c), D, false);
        assert_eq!(plain, hs, "saving does not change the result");
        assert!(none.is_none() && saved.is_some());
    }

    /// Finite differences of `L = Σ d_hs ⊙ hs` (f64 reference) against the analytic gradients
    /// of all four inputs.
    #[test]
    fn backward_matches_finite_differences() {
        let c = case(D, 3);
        let d_hs = values(D.steps * D.batch * D.hidden, 9, 1.0);
        let (_, saved) = forward(c.0.clone(), weights(&c), D, true);
        let grads = backward(&d_hs, &saved.expect("saved"), weights(&c), D, true);
        let loss = |c: &(Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>)| -> f64 {
            let hs = reference(&c.0, weights(c), D);
            hs.iter().zip(&d_hs).map(|(h, g)| h * f64::from(*g)).sum()
        };
        let eps = 1e-3f32;
        let analytic = [
            grads.x.clone().expect("asked for dx"),
            grads.w_ih.clone(),
            grads.bias.clone(),
            grads.w_hh.clone(),
        ];
        for (which, values) in analytic.iter().enumerate() {
            for (k, &a) in values.iter().enumerate() {
                let nudged = |by: f32| {
                    let mut c2 = c.clone();
                    let v = match which {
                        0 => &mut c2.0,
                        1 => &mut c2.1,
                        2 => &mut c2.2,
                        _ => &mut c2.3,
                    };
                    v[k] += by;
                    loss(&c2)
                };
                let numeric = (nudged(eps) - nudged(-eps)) / (2.0 * f64::from(eps));
                assert!(
                    (numeric - f64::from(a)).abs() < 2e-3,
                    "input {which}[{k}]: {a} vs {numeric}"
                );
            }
        }
        let (_, saved) = forward(c.0.clone(), weights(&c), D, true);
        let without = backward(&d_hs, &saved.expect("saved"), weights(&c), D, false);
        assert!(without.x.is_none(), "no input gradient unless asked");
        assert_eq!(without.w_hh, grads.w_hh);
    }

    /// Indexed input is the dense input with rows repeated: `forward_indexed` must match
    /// `forward` on the gathered rows, and its row gradient must be the dense input gradient
    /// summed over the positions of each row.
    #[test]
    fn indexed_input_matches_the_gathered_dense_input() {
        let (u, d) = (4, Dims { batch: 17, ..D });
        let c = case(d, 21);
        let w = weights(&c);
        let rows = values(u * d.input, 23, 1.5);
        // Row 0 is used by most positions, as padding is; row 3 by none.
        let index: Vec<u32> = (0..d.steps * d.batch)
            .map(|k| [0, 0, 1, 0, 2][k % 5])
            .collect();
        let gathered: Vec<f32> = index
            .iter()
            .flat_map(|&i| rows[i as usize * d.input..][..d.input].to_vec())
            .collect();
        let input = Indexed {
            rows: rows.clone(),
            index: &index,
        };
        let (hs, saved) = forward_indexed(input, w, d, true);
        let (want, dense_saved) = forward(gathered, w, d, true);
        assert!(max_diff(&hs, &want) < 1e-6, "hidden states");
        let d_hs = values(hs.len(), 22, 1.0);
        let g = backward_indexed(&d_hs, &saved.expect("saved"), &index, w, d, true);
        let want = backward(&d_hs, &dense_saved.expect("saved"), w, d, true);
        let mut want_rows = vec![0f32; rows.len()];
        let dense_dx = want.x.expect("dense input gradient");
        for (&i, dx) in index.iter().zip(dense_dx.chunks_exact(d.input)) {
            for (acc, v) in want_rows[i as usize * d.input..].iter_mut().zip(dx) {
                *acc += v;
            }
        }
        let d_rows = g.x.expect("row gradient");
        assert!(max_diff(&d_rows, &want_rows) < 1e-5, "row gradient");
        assert!(
            d_rows[3 * d.input..].iter().all(|&v| v == 0.0),
            "unused row"
        );
        assert!(max_diff(&g.w_ih, &want.w_ih) < 1e-5, "w_ih gradient");
        assert!(max_diff(&g.bias, &want.bias) < 1e-5, "bias gradient");
        assert!(max_diff(&g.w_hh, &want.w_hh) < 1e-5, "w_hh gradient");
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn one_step_has_no_recurrent_gradient() {
        let d = Dims { steps: 1, ..D };
        let c = case(d, 6);
        let (hs, saved) = forward(c.0.clone(), weights(&c), d, true);
        let grads = backward(&hs, &saved.expect("saved"), weights(&c), d, false);
        assert!(grads.w_hh.iter().all(|&v| v == 0.0));
        assert!(grads.w_ih.iter().any(|&v| v != 0.0));
    }

    /// Splitting the batch across threads changes nothing but summation order.
    #[test]
    fn row_groups_on_threads_agree_with_one_group() {
        let d = Dims {
            steps: 4,
            batch: 27,
            input: 7,
            hidden: 6,
        };
        let c = case(d, 8);
        let d_hs = values(d.steps * d.batch * d.hidden, 10, 1.0);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            pool.install(|| {
                assert_eq!(row_groups(d.batch).len(), threads.min(d.batch / 8));
                let (hs, saved) = forward(c.0.clone(), weights(&c), d, true);
                (
                    hs,
                    backward(&d_hs, &saved.expect("saved"), weights(&c), d, true),
                )
            })
        };
        let (one, three) = (run(1), run(3));
        assert_eq!(one.0, three.0, "hidden states");
        let close = |a: &[f32], b: &[f32], what: &str| {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-5, "{what}: {x} vs {y}");
            }
        };
        close(&one.1.w_hh, &three.1.w_hh, "d w_hh");
        close(&one.1.w_ih, &three.1.w_ih, "d w_ih");
        close(&one.1.bias, &three.1.bias, "d bias");
        close(
            one.1.x.as_deref().unwrap_or_default(),
            three.1.x.as_deref().unwrap_or_default(),
            "d x",
        );
    }
}
