//! Emojifier-V2 on wgpu (lavapipe in CI) runs its LSTM layers as the CubeCL operation, and
//! `--composed-lstm` (`op::set_enabled(false)`) still selects the composed layer there: the
//! kernels' launch counter moves for one and not the other, and both give the same logits and
//! gradients through dropout and both layers. One test in its own process, because the choice is
//! process-wide.

mod common;

use burn::prelude::*;
use emojify_data::Silent;
use emojify_data::fetch::{cache_dir, load_glove};
use emojify_model::Classifier;
use emojify_model::lstm::{cube, op};
use emojify_train::backend::{BackendKind, WgpuChoice};
use emojify_train::fit::model::build_model;
use emojify_train::inputs::batcher::model_batch;
use emojify_train::inputs::splits::encode;

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().expect("f32")
}

#[test]
fn v2_on_wgpu_runs_the_cubecl_layer_and_composed_on_request() {
    let out = tempfile::tempdir().expect("tmp");
    let config = common::config("emojify_v2.toml", out.path());
    let glove = load_glove(&cache_dir().expect("cache"), &Silent).expect("glove");
    let device = BackendKind::Wgpu
        .device(WgpuChoice::Default)
        .expect("a wgpu adapter")
        .autodiff();
    let model = build_model(&config, &glove, &device);
    let sentences = [
        "i love you",
        "lets play baseball tonight",
        "food is ready",
        "i am sad",
    ];
    let encoded: Vec<_> = sentences
        .iter()
        .map(|t| encode(&config, &glove, t).expect("encodes"))
        .collect();
    let refs: Vec<_> = encoded.iter().collect();
    let batch = model_batch(&refs, &device);
    // Logits and the gradients of both LSTM layers' weights, through dropout (same masks).
    let step = || {
        let mut rng = emojify_model::init::rng(3);
        let logits = model.forward_train(&batch, &mut rng);
        let grads = (logits.clone() * logits.clone()).sum().backward();
        let Classifier::Lstm(m) = &model else {
            panic!("V2 is the LSTM model")
        };
        let mut out = vec![values(logits)];
        for lstm in &m.lstms {
            for param in [lstm.w_ih.val(), lstm.w_hh.val()] {
                out.push(values(param.grad(&grads).expect("a trained weight")));
            }
            out.push(values(
                lstm.bias.val().grad(&grads).expect("a trained bias"),
            ));
        }
        out
    };
    let before = cube::kernel_launches();
    let one_op = step();
    let after = cube::kernel_launches();
    // Two layers, a forward and a backward each (per-step designs launch more).
    assert!(
        after >= before + 4,
        "the CubeCL kernels ran: {before} -> {after}"
    );

    op::set_enabled(false);
    let composed = step();
    op::set_enabled(true);
    assert_eq!(
        cube::kernel_launches(),
        after,
        "--composed-lstm keeps the composed layer on wgpu"
    );
    for (k, (a, b)) in one_op.iter().zip(&composed).enumerate() {
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
            .fold(0f32, f32::max);
        assert!(
            worst <= 1e-4,
            "output {k}: one-op and composed differ by {worst}"
        );
    }
}
