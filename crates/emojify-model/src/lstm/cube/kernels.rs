//! The CubeCL kernels of the LSTM layer: the time loop of the forward and of the backward, each
//! one launch per layer ("persistent"), and the fused cell steps of the per-step design.
//!
//! Layout (all time-major, row-major): a position is `p = t · B + b`; the projected input `xw`
//! is `[rows, 4H]` (the position itself, or with an index the distinct row `ids[p]`); gates are
//! stored activated, `σ(i), σ(f), tanh(g), σ(o)`. A persistent cube carries `rows` batch rows,
//! its threads striding the hidden units; each unit owns its four gates, so one thread computes a
//! unit's whole cell without sharing gates — only `h` (forward) and the gate gradients
//! (backward) go through shared memory, double-buffered so one barrier per step suffices.

use cubecl::prelude::*;

#[cube]
fn sigmoid<F: Float>(z: F) -> F {
    F::new(1.0) / (F::new(1.0) + (F::new(0.0) - z).exp())
}

/// `tanh` from one `exp`, finite at both ends (`exp` overflowing to ∞ gives 1, underflowing to 0
/// gives −1): runtimes may implement `tanh` as `(e^{2z} − 1)/(e^{2z} + 1)`, which is NaN there.
#[cube]
fn tanh_finite<F: Float>(z: F) -> F {
    F::new(1.0) - F::new(2.0) / ((F::new(2.0) * z).exp() + F::new(1.0))
}

/// The cell of unit `j` at position `p` from its four pre-activations; writes the state (and,
/// with `save`, what the backward needs) and returns the new cell and hidden state.
#[cube]
#[allow(clippy::too_many_arguments)]
fn cell<F: Float>(
    z: Line4<F>,
    c_prev: F,
    p: usize,
    j: usize,
    hs: &mut Tensor<F>,
    gates: &mut Tensor<F>,
    cells: &mut Tensor<F>,
    cells_tanh: &mut Tensor<F>,
    #[comptime] hidden: usize,
    #[comptime] save: bool,
) -> CellOut<F> {
    let gi = sigmoid::<F>(z.i);
    let gf = sigmoid::<F>(z.f);
    let gg = tanh_finite::<F>(z.g);
    let go = sigmoid::<F>(z.o);
    let c = gf * c_prev + gi * gg;
    let tc = tanh_finite::<F>(c);
    let h = go * tc;
    hs[p * hidden + j] = h;
    if save {
        let g = p * 4 * hidden;
        gates[g + j] = gi;
        gates[g + hidden + j] = gf;
        gates[g + 2 * hidden + j] = gg;
        gates[g + 3 * hidden + j] = go;
        cells[p * hidden + j] = c;
        cells_tanh[p * hidden + j] = tc;
    }
    CellOut::<F> { c, h }
}

/// A unit's new cell and hidden state.
#[derive(CubeType, Clone, Copy)]
pub struct CellOut<F: Float> {
    pub c: F,
    pub h: F,
}

/// A unit's four gate values.
#[derive(CubeType, Clone, Copy)]
pub struct Line4<F: Float> {
    pub i: F,
    pub f: F,
    pub g: F,
    pub o: F,
}

/// The input projection of unit `j` at position `p`, bias added.
#[cube]
fn projected<F: Float, I: Numeric>(
    xw: &Tensor<F>,
    ids: &Tensor<I>,
    bias: &Tensor<F>,
    p: usize,
    j: usize,
    #[comptime] hidden: usize,
    #[comptime] indexed: bool,
) -> Line4<F> {
    let mut row = p;
    if indexed {
        row = u32::cast_from(ids[p]) as usize;
    }
    let base = row * 4 * hidden;
    Line4::<F> {
        i: xw[base + j] + bias[j],
        f: xw[base + hidden + j] + bias[hidden + j],
        g: xw[base + 2 * hidden + j] + bias[2 * hidden + j],
        o: xw[base + 3 * hidden + j] + bias[3 * hidden + j],
    }
}

/// The whole forward time loop of one layer. Launch: one cube per `rows` batch rows; each
/// thread takes `units` hidden units spaced a cube's width apart (so a cube's loads of a `w_hh`
/// row stay contiguous). A thread keeps the four pre-activations of its units for all its rows
/// in registers: each `w_hh` value it loads serves `rows` rows and each `h` value `4 · units`
/// products — the loop is bound by loads (measured on lavapipe, docs/benchmarks.md), not by
/// arithmetic. Shared memory: the rows' `h` twice (read one, write the other, swapped each
/// step) and their `c`.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn forward_persistent<F: Float, I: Numeric>(
    xw: &Tensor<F>,
    ids: &Tensor<I>,
    bias: &Tensor<F>,
    w_hh: &Tensor<F>,
    hs: &mut Tensor<F>,
    gates: &mut Tensor<F>,
    cells: &mut Tensor<F>,
    cells_tanh: &mut Tensor<F>,
    steps: u32,
    batch: u32,
    #[comptime] hidden: usize,
    #[comptime] rows: usize,
    #[comptime] units: usize,
    #[comptime] indexed: bool,
    #[comptime] save: bool,
    #[define(F, I)] _dtypes: [ElemType; 2],
) {
    let four_h = 4 * hidden;
    let first = CUBE_POS_X as usize * rows;
    let batch = batch as usize;
    let steps = steps as usize;
    let width = CUBE_DIM_X as usize;
    let block = rows * hidden;
    let mut state = Shared::<[F]>::new_slice(3 * rows * hidden);
    for t in 0..steps {
        let read = (t % 2) * block;
        let write = block - read;
        let mut j0 = UNIT_POS_X as usize;
        while j0 < hidden {
            // z[(g · units + u) · rows + r]: gate g of unit j0 + u · width, row first + r.
            let mut z = Array::<F>::new(4 * units * rows);
            #[unroll]
            for u in 0..units {
                let j = j0 + u * width;
                #[unroll]
                for r in 0..rows {
                    z[u * rows + r] = F::new(0.0);
                    z[(units + u) * rows + r] = F::new(0.0);
                    z[(2 * units + u) * rows + r] = F::new(0.0);
                    z[(3 * units + u) * rows + r] = F::new(0.0);
                    if j < hidden && first + r < batch {
                        let p = t * batch + first + r;
                        let zr = projected::<F, I>(xw, ids, bias, p, j, hidden, indexed);
                        z[u * rows + r] = zr.i;
                        z[(units + u) * rows + r] = zr.f;
                        z[(2 * units + u) * rows + r] = zr.g;
                        z[(3 * units + u) * rows + r] = zr.o;
                    }
                }
            }
            if t > 0 {
                for k in 0..hidden {
                    let mut w = Array::<F>::new(4 * units);
                    #[unroll]
                    for u in 0..units {
                        // Past the last unit, read the last one: in bounds, result unused.
                        let mut j = j0 + u * width;
                        if j >= hidden {
                            j = hidden - 1;
                        }
                        #[unroll]
                        for g in 0..4 {
                            w[g * units + u] = w_hh[k * four_h + g * hidden + j];
                        }
                    }
                    #[unroll]
                    for r in 0..rows {
                        let hk = state[read + r * hidden + k];
                        #[unroll]
                        for q in 0..4 * units {
                            z[q * rows + r] += hk * w[q];
                        }
                    }
                }
            }
            #[unroll]
            for u in 0..units {
                let j = j0 + u * width;
                #[unroll]
                for r in 0..rows {
                    if j < hidden && first + r < batch {
                        let mut c_prev = F::new(0.0);
                        if t > 0 {
                            c_prev = state[2 * block + r * hidden + j];
                        }
                        let zr = Line4::<F> {
                            i: z[u * rows + r],
                            f: z[(units + u) * rows + r],
                            g: z[(2 * units + u) * rows + r],
                            o: z[(3 * units + u) * rows + r],
                        };
                        let p = t * batch + first + r;
                        let out =
                            cell::<F>(zr, c_prev, p, j, hs, gates, cells, cells_tanh, hidden, save);
                        state[2 * block + r * hidden + j] = out.c;
                        state[write + r * hidden + j] = out.h;
                    }
                }
            }
            j0 += width * units;
        }
        sync_cube();
    }
}

/// The whole backward time loop of one layer: the gate pre-activation gradients `dz [T·B, 4H]`
/// from the hidden states' gradient, step T−1 down to 0, cubes and threads as in
/// [`forward_persistent`]. `w_hh_t` is `w_hh` transposed, `[4H, H]`, so a cube's threads read
/// it contiguously. Shared memory: the rows' gate gradients twice (the step after's, and this
/// step's) and their `dc`.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn backward_persistent<F: Float>(
    d_hs: &Tensor<F>,
    gates: &Tensor<F>,
    cells: &Tensor<F>,
    cells_tanh: &Tensor<F>,
    w_hh_t: &Tensor<F>,
    dz: &mut Tensor<F>,
    steps: u32,
    batch: u32,
    #[comptime] hidden: usize,
    #[comptime] rows: usize,
    #[comptime] units: usize,
    #[define(F)] _dtype: ElemType,
) {
    let four_h = 4 * hidden;
    let first = CUBE_POS_X as usize * rows;
    let batch = batch as usize;
    let steps = steps as usize;
    let width = CUBE_DIM_X as usize;
    let block = rows * four_h;
    let mut state = Shared::<[F]>::new_slice(2 * rows * four_h + rows * hidden);
    let dc_at = 2 * block;
    for step in 0..steps {
        let t = steps - 1 - step;
        let write = (step % 2) * block;
        let read = block - write;
        let mut j0 = UNIT_POS_X as usize;
        while j0 < hidden {
            // dh[u · rows + r]: unit j0 + u · width, row first + r.
            let mut dh = Array::<F>::new(units * rows);
            #[unroll]
            for u in 0..units {
                let j = j0 + u * width;
                #[unroll]
                for r in 0..rows {
                    dh[u * rows + r] = F::new(0.0);
                    if j < hidden && first + r < batch {
                        dh[u * rows + r] = d_hs[(t * batch + first + r) * hidden + j];
                    }
                }
            }
            if step > 0 {
                for m in 0..four_h {
                    let mut w = Array::<F>::new(units);
                    #[unroll]
                    for u in 0..units {
                        let mut j = j0 + u * width;
                        if j >= hidden {
                            j = hidden - 1;
                        }
                        w[u] = w_hh_t[m * hidden + j];
                    }
                    #[unroll]
                    for r in 0..rows {
                        let dzm = state[read + r * four_h + m];
                        #[unroll]
                        for u in 0..units {
                            dh[u * rows + r] += dzm * w[u];
                        }
                    }
                }
            }
            #[unroll]
            for u in 0..units {
                let j = j0 + u * width;
                #[unroll]
                for r in 0..rows {
                    if j < hidden && first + r < batch {
                        let p = t * batch + first + r;
                        let mut dc_next = F::new(0.0);
                        if step > 0 {
                            dc_next = state[dc_at + r * hidden + j]
                                * gates[(p + batch) * four_h + hidden + j];
                        }
                        let dz_p = cell_grads::<F>(
                            gates,
                            cells,
                            cells_tanh,
                            dz,
                            dh[u * rows + r],
                            dc_next,
                            p,
                            j,
                            t > 0,
                            batch,
                            hidden,
                        );
                        let s = write + r * four_h;
                        state[s + j] = dz_p.i;
                        state[s + hidden + j] = dz_p.f;
                        state[s + 2 * hidden + j] = dz_p.g;
                        state[s + 3 * hidden + j] = dz_p.o;
                        state[dc_at + r * hidden + j] = dz_p.dc;
                    }
                }
            }
            j0 += width * units;
        }
        sync_cube();
    }
}

/// The gate pre-activation gradients of unit `j` at position `p`, written to `dz`, and the
/// cell's gradient, given the hidden state's gradient `dh` and the cell gradient carried back
/// from the next step (`dc_next`, already through its forget gate); the previous cell is read
/// from `cells` (`batch` positions back) unless this is the first step.
#[cube]
#[allow(clippy::too_many_arguments)]
fn cell_grads<F: Float>(
    gates: &Tensor<F>,
    cells: &Tensor<F>,
    cells_tanh: &Tensor<F>,
    dz: &mut Tensor<F>,
    dh: F,
    dc_next: F,
    p: usize,
    j: usize,
    has_prev: bool,
    batch: usize,
    #[comptime] hidden: usize,
) -> GateGrads<F> {
    let mut c_prev = F::new(0.0);
    if has_prev {
        c_prev = cells[(p - batch) * hidden + j];
    }
    let g = p * 4 * hidden;
    let gi = gates[g + j];
    let gf = gates[g + hidden + j];
    let gg = gates[g + 2 * hidden + j];
    let go = gates[g + 3 * hidden + j];
    let tc = cells_tanh[p * hidden + j];
    let one = F::new(1.0);
    let dc = dh * go * (one - tc * tc) + dc_next;
    let grads = GateGrads::<F> {
        i: dc * gg * gi * (one - gi),
        f: dc * c_prev * gf * (one - gf),
        g: dc * gi * (one - gg * gg),
        o: dh * tc * go * (one - go),
        dc,
    };
    dz[g + j] = grads.i;
    dz[g + hidden + j] = grads.f;
    dz[g + 2 * hidden + j] = grads.g;
    dz[g + 3 * hidden + j] = grads.o;
    grads
}

/// A unit's gate pre-activation gradients and its cell's gradient.
#[derive(CubeType, Clone, Copy)]
pub struct GateGrads<F: Float> {
    pub i: F,
    pub f: F,
    pub g: F,
    pub o: F,
    pub dc: F,
}

/// One forward step of the per-step design: `rec [B, 4H]` is this step's recurrent product
/// `h_{t−1} · w_hh` (a matmul launched before it; ignored at `t = 0`), `c_state [B, H]` carries
/// the cell from step to step and `h_out [B, H]` is the state the next product reads. One
/// thread per (row, unit).
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn forward_step<F: Float, I: Numeric>(
    xw: &Tensor<F>,
    ids: &Tensor<I>,
    bias: &Tensor<F>,
    rec: &Tensor<F>,
    c_state: &mut Tensor<F>,
    h_out: &mut Tensor<F>,
    hs: &mut Tensor<F>,
    gates: &mut Tensor<F>,
    cells: &mut Tensor<F>,
    cells_tanh: &mut Tensor<F>,
    t: u32,
    batch: u32,
    #[comptime] hidden: usize,
    #[comptime] indexed: bool,
    #[comptime] save: bool,
    #[define(F, I)] _dtypes: [ElemType; 2],
) {
    let id = ABSOLUTE_POS;
    let batch = batch as usize;
    let t = t as usize;
    if id < batch * hidden {
        let b = id / hidden;
        let j = id % hidden;
        let p = t * batch + b;
        let mut z = projected::<F, I>(xw, ids, bias, p, j, hidden, indexed);
        let mut c_prev = F::new(0.0);
        if t > 0 {
            let q = b * 4 * hidden + j;
            z.i += rec[q];
            z.f += rec[q + hidden];
            z.g += rec[q + 2 * hidden];
            z.o += rec[q + 3 * hidden];
            c_prev = c_state[b * hidden + j];
        }
        let out = cell::<F>(z, c_prev, p, j, hs, gates, cells, cells_tanh, hidden, save);
        c_state[b * hidden + j] = out.c;
        h_out[b * hidden + j] = out.h;
    }
}

/// One backward step of the per-step design: `rec [B, H]` is `dz_{t+1} · w_hhᵀ` (a matmul
/// launched before it; ignored at the last step), `dc_state [B, H]` carries the cell's gradient,
/// and this step's gate gradients go to `dz` and to `dz_step [B, 4H]` for the next product.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn backward_step<F: Float>(
    d_hs: &Tensor<F>,
    gates: &Tensor<F>,
    cells: &Tensor<F>,
    cells_tanh: &Tensor<F>,
    rec: &Tensor<F>,
    dc_state: &mut Tensor<F>,
    dz: &mut Tensor<F>,
    dz_step: &mut Tensor<F>,
    t: u32,
    steps: u32,
    batch: u32,
    #[comptime] hidden: usize,
    #[define(F)] _dtype: ElemType,
) {
    let id = ABSOLUTE_POS;
    let batch = batch as usize;
    let t = t as usize;
    let steps = steps as usize;
    if id < batch * hidden {
        let four_h = 4 * hidden;
        let b = id / hidden;
        let j = id % hidden;
        let p = t * batch + b;
        let mut dh = d_hs[p * hidden + j];
        let mut dc_next = F::new(0.0);
        if t + 1 < steps {
            dh += rec[b * hidden + j];
            dc_next = dc_state[b * hidden + j] * gates[(p + batch) * four_h + hidden + j];
        }
        let dz_p = cell_grads::<F>(
            gates,
            cells,
            cells_tanh,
            dz,
            dh,
            dc_next,
            p,
            j,
            t > 0,
            batch,
            hidden,
        );
        let s = b * four_h + j;
        dz_step[s] = dz_p.i;
        dz_step[s + hidden] = dz_p.f;
        dz_step[s + 2 * hidden] = dz_p.g;
        dz_step[s + 3 * hidden] = dz_p.o;
        dc_state[b * hidden + j] = dz_p.dc;
    }
}
