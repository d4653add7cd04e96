//! Seeded host-side initialisation, so a seed gives the same weights on every backend.

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// `n` standard normal samples from a seeded generator (Box–Muller).
pub fn normal_values(n: usize, rng: &mut StdRng) -> Vec<f64> {
    let mut values = Vec::with_capacity(n + 1);
    while values.len() < n {
        let u1: f64 = rng.random_range(f64::EPSILON..1.0);
        let u2: f64 = rng.random();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        values.push(r * theta.cos());
        values.push(r * theta.sin());
    }
    values.truncate(n);
    values
}

/// A tensor of `N(0, 1) · scale` samples from a seeded generator.
pub fn normal<const D: usize>(
    shape: [usize; D],
    scale: f64,
    rng: &mut StdRng,
    device: &Device,
) -> Tensor<D> {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = normal_values(n, rng)
        .into_iter()
        .map(|v| (v * scale) as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A tensor of `U(-limit, limit)` samples from a seeded generator.
pub fn uniform<const D: usize>(
    shape: [usize; D],
    limit: f64,
    rng: &mut StdRng,
    device: &Device,
) -> Tensor<D> {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|_| rng.random_range(-limit..limit) as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// The generator every model's `init` draws from.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A linear layer with the given `[in, out]` weight and a zero bias, so each model states only
/// its weight initialisation.
pub fn linear(weight: Tensor<2>, device: &Device) -> burn::nn::Linear {
    let [input, output] = weight.dims();
    let mut layer = burn::nn::LinearConfig::new(input, output).init(device);
    layer.weight = burn::module::Param::from_tensor(weight);
    layer.bias = Some(burn::module::Param::from_tensor(Tensor::zeros(
        [output],
        device,
    )));
    layer
}
