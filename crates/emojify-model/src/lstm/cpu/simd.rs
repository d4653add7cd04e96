//! The element-wise parts, written as plain loops over slices with branch-free activations so
//! the compiler vectorises them; on x86-64 copies are compiled for AVX-512 and for AVX2 + FMA,
//! and the widest the CPU has is chosen at run time.

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
        } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            Level::Avx2
        } else {
            Level::Baseline
        }
    })
}

/// The widest vector extension the element-wise steps dispatch to on this CPU, as a benchmark
/// table names it (the same detection the kernels use, so the label is what ran).
pub fn vector_extension() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        match level() {
            Level::Avx512 => "AVX-512",
            Level::Avx2 => "AVX2",
            Level::Baseline => "SSE (no AVX2)",
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        "NEON"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "unknown"
    }
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
