//! The kernels against an f64 textbook layer, finite differences, the gathered dense input and
//! one thread against several.

use super::rows::row_groups;
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
