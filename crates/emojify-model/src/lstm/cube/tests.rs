//! The CubeCL layer on wgpu (lavapipe without a GPU) against the CPU kernel on flex: outputs
//! and every gradient over randomised shapes, both designs, dense and indexed input, and the
//! hidden-state gradients V2 produces (every step; the last step only; through dropout).

use std::sync::OnceLock;

use burn::backend::Dispatch;
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Design, SPREAD_LAUNCHES, kernel_launches, set_cubes_per_axis, set_design, spread};
use crate::lstm::op::{LstmLayer, RowIndex};

/// wgpu's runtime starts once per process; every test shares the device.
fn wgpu() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            Device::wgpu_options()
                .init()
                .expect("a wgpu adapter (lavapipe without a GPU: mesa-vulkan-drivers)")
        })
        .clone()
}

#[derive(Debug, Clone, Copy)]
struct Case {
    steps: usize,
    batch: usize,
    input: usize,
    hidden: usize,
    /// Distinct input rows (`Some`) or a dense `[T, B, in]` input.
    rows: Option<usize>,
}

/// Which hidden states the loss reads, as V2's two layers do.
#[derive(Debug, Clone, Copy)]
enum Upstream {
    /// Every step (the first layer, all steps returned).
    Every,
    /// The last step only (the second layer's final state).
    Last,
    /// Every step through dropout 0.5 (zeros and doubled values).
    Dropout,
}

fn values(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

/// `(hs, hs by the inference forward, dx, dw_ih, dbias, dw_hh)` of `case` on `device`, from the same numbers.
fn run(device: &Device, case: Case, upstream: Upstream, need_x: bool, seed: u64) -> Vec<Vec<f32>> {
    let Case {
        steps,
        batch,
        input,
        hidden,
        rows,
    } = case;
    let mut rng = StdRng::seed_from_u64(seed);
    let (x, index) = match rows {
        None => (
            tensor(
                device,
                values(&mut rng, steps * batch * input, 1.0),
                [steps, batch, input],
            )
            .into_dispatch(),
            None,
        ),
        Some(count) => {
            let ids: Vec<u32> = (0..steps * batch)
                .map(|_| rng.random_range(0..count as u32))
                .collect();
            let index = RowIndex {
                ids: ids.into(),
                steps,
                batch,
            };
            (
                tensor(device, values(&mut rng, count * input, 1.0), [count, input])
                    .into_dispatch(),
                Some(index),
            )
        }
    };
    let w_ih = tensor(
        device,
        values(&mut rng, input * 4 * hidden, 0.4),
        [input, 4 * hidden],
    );
    let bias = tensor(device, values(&mut rng, 4 * hidden, 0.4), [4 * hidden]);
    let w_hh = tensor(
        device,
        values(&mut rng, hidden * 4 * hidden, 0.4),
        [hidden, 4 * hidden],
    );
    let mut d_hs = values(&mut rng, steps * batch * hidden, 1.0);
    for (k, v) in d_hs.iter_mut().enumerate() {
        match upstream {
            Upstream::Every => {}
            Upstream::Last if k < (steps - 1) * batch * hidden => *v = 0.0,
            Upstream::Last => {}
            Upstream::Dropout => *v = if rng.random_bool(0.5) { 2.0 * *v } else { 0.0 },
        }
    }
    let d_hs = tensor(device, d_hs, [steps, batch, hidden]);
    // The inference forward (nothing saved) first, on the same tensors.
    let inferred = Tensor::<3>::from_dispatch(<Dispatch as LstmLayer>::lstm_layer(
        x.clone(),
        index.clone(),
        w_ih.clone().into_dispatch(),
        bias.clone().into_dispatch(),
        w_hh.clone().into_dispatch(),
    ));
    let (hs, saved) = <Dispatch as LstmLayer>::lstm_layer_forward(
        x,
        index,
        w_ih.into_dispatch(),
        bias.into_dispatch(),
        w_hh.into_dispatch(),
    );
    let (dx, dw_ih, dbias, dw_hh) =
        <Dispatch as LstmLayer>::lstm_layer_backward(saved, d_hs.into_dispatch(), need_x);
    let hs = Tensor::<3>::from_dispatch(hs);
    assert_eq!(
        &hs.device(),
        device,
        "the output stays on the device it ran on"
    );
    let dx = match (need_x, rows) {
        (true, Some(_)) => read(Tensor::<2>::from_dispatch(dx)),
        (true, None) => read(Tensor::<3>::from_dispatch(dx)),
        (false, _) => {
            let dx = Tensor::<1>::from_dispatch(dx);
            assert_eq!(dx.dims(), [0], "no input gradient unless asked for");
            Vec::new()
        }
    };
    vec![
        read(hs),
        read(inferred),
        dx,
        read(Tensor::<2>::from_dispatch(dw_ih)),
        read(Tensor::<1>::from_dispatch(dbias)),
        read(Tensor::<2>::from_dispatch(dw_hh)),
    ]
}

fn tensor<const D: usize>(device: &Device, values: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 after convert")
}

/// Within 1e-4, relative to the value where it exceeds one (the weight gradients sum over up to
/// 840 positions, in a different order on each side).
fn assert_close(gpu: &[f32], cpu: &[f32], what: &str) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    for (k, (a, b)) in gpu.iter().zip(cpu).enumerate() {
        let tolerance = 1e-4 * b.abs().max(1.0);
        assert!(
            (a - b).abs() <= tolerance && a.is_finite(),
            "{what}[{k}]: wgpu {a} against the CPU kernel's {b}"
        );
    }
}

fn check(case: Case, upstream: Upstream, need_x: bool, seed: u64) {
    let before = kernel_launches();
    let gpu = run(&wgpu(), case, upstream, need_x, seed);
    assert!(
        kernel_launches() > before,
        "{case:?}: the CubeCL kernels ran (no fallback)"
    );
    let cpu = run(&Device::flex(), case, upstream, need_x, seed);
    let names = [
        "hidden states",
        "hidden states, inference",
        "d x",
        "d w_ih",
        "d bias",
        "d w_hh",
    ];
    for ((a, b), name) in gpu.iter().zip(&cpu).zip(names) {
        assert_close(a, b, &format!("{case:?} {upstream:?} {name}"));
    }
    assert_eq!(gpu[2].is_empty(), !need_x, "dx only when asked for");
}

/// Sizes across the ranges V2 and the tests use, most not multiples of any workgroup size.
fn cases() -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(20261202);
    let mut cases = vec![
        Case {
            steps: 1,
            batch: 1,
            input: 1,
            hidden: 1,
            rows: None,
        },
        Case {
            steps: 12,
            batch: 70,
            input: 60,
            hidden: 130,
            rows: None,
        },
        Case {
            steps: 10,
            batch: 32,
            input: 50,
            hidden: 128,
            rows: Some(40),
        },
        Case {
            steps: 3,
            batch: 5,
            input: 7,
            hidden: 33,
            rows: Some(1),
        },
        // Past 455 units the backward's state leaves shared memory: the persistent design runs
        // its forward and the per-step backward.
        Case {
            steps: 3,
            batch: 2,
            input: 4,
            hidden: 460,
            rows: None,
        },
    ];
    for k in 0..8 {
        cases.push(Case {
            steps: rng.random_range(1..=12),
            batch: rng.random_range(1..=70),
            input: rng.random_range(1..=60),
            hidden: rng.random_range(1..=130),
            rows: (k % 3 == 0).then(|| rng.random_range(1..=50)),
        });
    }
    cases
}

/// Both designs in one test: the design is a process-wide setting.
#[test]
fn both_designs_match_the_cpu_kernel_over_random_shapes() {
    for design in [Design::PerStep, Design::Persistent] {
        set_design(design);
        for (k, case) in cases().into_iter().enumerate() {
            let upstream = [Upstream::Every, Upstream::Last, Upstream::Dropout][k % 3];
            check(case, upstream, k % 2 == 0, k as u64);
            check(case, Upstream::Every, k % 2 == 1, 100 + k as u64);
        }
    }
    set_design(Design::Auto);
}

#[test]
fn persistent_launches_fit_the_portable_limits() {
    use super::{BACKWARD_TILING, FORWARD_TILING, persistent_shape};
    // V2 at batch 32: 4 rows per cube forward; backward 3, not 8 (9 H floats a row in 16 KiB);
    // 64 and 32 threads per cube.
    let (threads, tiling, cubes) = persistent_shape(128, 32, 3, FORWARD_TILING).expect("fits");
    assert_eq!((threads, tiling.rows, cubes), (64, 4, 8));
    let (threads, tiling, cubes) = persistent_shape(128, 32, 9, BACKWARD_TILING).expect("fits");
    assert_eq!((threads, tiling.rows, cubes), (32, 3, 11));
    // A batch smaller than a cube's rows takes one cube of that many rows.
    let (_, tiling, cubes) = persistent_shape(32, 5, 9, BACKWARD_TILING).expect("fits");
    assert_eq!((tiling.rows, cubes), (5, 1));
    // Shared memory (16 KiB: 9 H floats a row backward) and one axis of cubes bound it.
    assert!(persistent_shape(455, 8, 9, BACKWARD_TILING).is_some());
    assert!(persistent_shape(456, 8, 9, BACKWARD_TILING).is_none());
    assert!(persistent_shape(128, 4 * 65_535, 3, FORWARD_TILING).is_some());
    assert!(persistent_shape(128, 4 * 65_535 + 1, 3, FORWARD_TILING).is_none());
    // Never more threads than a WebGPU workgroup holds.
    let (threads, _, _) = persistent_shape(4000, 1, 1, FORWARD_TILING).expect("fits");
    assert_eq!(threads, 256);
}

/// Elementwise launches never put more than 65,535 cubes on an axis, whatever the adapter
/// advertises; under a lowered cap (simulating a stricter driver with small tensors) the spread
/// launches give the CPU kernel's results. The cap is process-wide: other tests running beside
/// this one spread too, and must agree with the CPU all the same.
#[test]
fn spread_launches_respect_the_cube_cap_and_match_the_cpu_kernel() {
    use cubecl::prelude::CubeCount;
    let count = |c: CubeCount| match c {
        CubeCount::Static(x, y, z) => (x, y, z),
        CubeCount::Dynamic(_) => panic!("static counts only"),
    };
    assert_eq!(count(spread(65_535, 65_535)), (65_535, 1, 1));
    assert_eq!(count(spread(65_536, 65_535)), (65_535, 2, 1));
    assert_eq!(count(spread(100, 10)), (10, 10, 1));
    assert_eq!(count(spread(100, 7)), (7, 7, 3));
    assert_eq!(count(spread(100, 3)), (3, 3, 12));
    set_cubes_per_axis(2);
    // batch · hidden = 70 · 130 threads: 36 cubes, on 2 × 2 × 9 under the cap; a batch of 70
    // runs the per-step design, whose cell kernels are the elementwise launches.
    let case = Case {
        steps: 4,
        batch: 70,
        input: 20,
        hidden: 130,
        rows: Some(30),
    };
    let spread_before = SPREAD_LAUNCHES.load(std::sync::atomic::Ordering::Relaxed);
    check(case, Upstream::Dropout, true, 7);
    set_cubes_per_axis(usize::MAX);
    let spread_after = SPREAD_LAUNCHES.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        spread_after > spread_before,
        "the cell kernels took several axes"
    );
}

/// The kernels read rows by id without bounds checks, so a bad index stops before any launch.
#[test]
#[should_panic(expected = "the row index must give 2 positions, each below 3")]
fn an_index_past_the_rows_is_refused_before_launching() {
    let device = wgpu();
    let rows = tensor(&device, vec![0.5; 3 * 2], [3, 2]);
    let w_ih = tensor(&device, vec![0.1; 2 * 4], [2, 4]);
    let bias = tensor(&device, vec![0.0; 4], [4]);
    let w_hh = tensor(&device, vec![0.1; 4], [1, 4]);
    // Read back: under burn's lazy fusion the operation runs only then.
    read(crate::lstm::op::layer_indexed(
        rows,
        vec![0, 3],
        [1, 2],
        w_ih,
        bias,
        w_hh,
    ));
}
