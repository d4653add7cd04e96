//! Which LSTM layer to keep: the fused-gate [`FusedLstm`] (one input projection over all steps,
//! one `[B, H] × [H, 4H]` matmul per step) versus burn's `Lstm` (eight gate matmuls per step,
//! two biases per gate). Times one training step (forward, loss, backward) at Emojifier-V2's
//! shapes, and inference at a large batch, on the CPU backends.
//!
//! `cargo bench --bench lstm` (add `-- --reps N` for more repetitions, `-- --wgpu` to add the
//! wgpu backend on the machine's default adapter, `-- --check` to print a checksum of each
//! variant's output).

#![allow(clippy::unwrap_used)] // a measurement program: a failure should stop it loudly

use std::time::Instant;

use burn::nn::{LstmConfig, LstmState};
use burn::prelude::*;
use emojify_model::lstm::{FusedLstm, cube, op};
use rand::SeedableRng;

const INPUT: usize = 50;
const HIDDEN: usize = 128;
const STEPS: usize = 10;

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2] * 1e3
}

/// Median seconds of `f` over `reps` calls, after two warm-up calls.
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    f();
    median_ms(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// Reads a tensor's values, so the timing waits for the work behind them: `into_data` alone
/// hands back before an asynchronous backend (wgpu) has finished — dropped unread, it measured
/// a batch-1024 inference at 0.1 ms.
fn finish<const D: usize>(t: Tensor<D>) {
    let values: Vec<f32> = t.into_data().try_to_vec().unwrap();
    std::hint::black_box(values);
}

fn input(batch: usize, device: &Device) -> Tensor<3> {
    Tensor::random(
        [batch, STEPS, INPUT],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        device,
    )
}

fn main() {
    let reps = std::env::args()
        .skip_while(|a| a != "--reps")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let check = std::env::args().any(|a| a == "--check");
    println!(
        "| backend | layer | train step, batch 32 (ms) | inference, batch 1024 (ms) | parameters |"
    );
    println!("|---|---|---:|---:|---:|");
    #[allow(deprecated)] // burn 0.22 deprecates ndarray; it is measured as the users' choice.
    let mut backends = vec![("flex", Device::flex()), ("ndarray", Device::ndarray())];
    if std::env::args().any(|a| a == "--wgpu") {
        backends.push(("wgpu", Device::wgpu_options().init().unwrap()));
    }
    for (name, device) in backends {
        let train = device.clone().autodiff();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let fused = FusedLstm::init(INPUT, HIDDEN, &mut rng, &train);
        let burn_lstm = LstmConfig::new(INPUT, HIDDEN, true).init(&train);
        let x = input(32, &train);
        let big = input(1024, &device);

        // Reading a gradient back makes asynchronous backends (wgpu) finish the step.
        let burn_step = time(reps, || {
            let (h, _): (Tensor<3>, LstmState<2>) = burn_lstm.forward(x.clone(), None);
            let grads = h.sum().backward();
            let w = &burn_lstm.input_gate.input_transform.weight;
            finish(w.grad(&grads).unwrap());
        });
        let fused_inf = fused.valid();
        let burn_inf = burn_lstm.valid();
        let burn_big = time(reps / 3 + 1, || {
            finish(burn_inf.forward(big.clone(), None).0);
        });
        // The one-op layer as each way it can run on this device: on the CPU backends the CPU
        // kernel (no variants); on wgpu the CubeCL kernels' two designs and the composed layer.
        let variants: &[&str] = if name == "wgpu" {
            &["persistent", "per-step", "composed"]
        } else {
            &["one op"]
        };
        for variant in variants {
            op::set_enabled(*variant != "composed");
            cube::set_design(if *variant == "per-step" {
                cube::Design::PerStep
            } else {
                cube::Design::Persistent
            });
            // Each repetition gets a slightly different input, as training and serving do.
            let mut shift = 0.0f32;
            let step = time(reps, || {
                shift += 1e-3;
                let grads = fused.forward(x.clone() + shift).sum().backward();
                finish(fused.w_ih.grad(&grads).unwrap());
            });
            let big_ms = time(reps / 3 + 1, || {
                shift += 1e-3;
                finish(fused_inf.forward(big.clone() + shift));
            });
            if check {
                // The same inference on every variant gives the same numbers (to ~1e-4).
                let out: Vec<f32> = fused_inf
                    .forward(big.clone())
                    .into_data()
                    .try_to_vec()
                    .unwrap();
                let sum: f64 = out.iter().map(|v| f64::from(*v)).sum();
                eprintln!("{name} {variant}: sum of the batch-1024 output {sum:.4}");
            }
            let big = big_ms;
            println!(
                "| {name} | FusedLstm ({variant}) | {step:.2} | {big:.1} | {} |",
                fused.num_params()
            );
        }
        op::set_enabled(true);
        cube::set_design(cube::Design::Auto);
        println!(
            "| {name} | burn::nn::Lstm (two biases per gate) | {burn_step:.2} | {burn_big:.1} | {} |",
            burn_lstm.num_params()
        );
    }
}
