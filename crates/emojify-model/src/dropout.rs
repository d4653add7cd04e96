//! Inverted dropout whose mask comes from a caller-owned RNG rather than the backend's global
//! one: a run is then reproducible even when other trainings share the process, and a resumed
//! run can recreate the exact masks from (seed, epoch, batch).

use burn::prelude::*;
use rand::Rng;
use rand::rngs::StdRng;

/// Zeroes each element with probability `p` and scales the rest by `1 / (1 − p)`.
pub fn dropout<const D: usize>(x: Tensor<D>, p: f64, rng: &mut StdRng) -> Tensor<D> {
    if p <= 0.0 {
        return x;
    }
    let dims = x.dims();
    let n = dims.iter().product();
    // Keep when a 32-bit uniform falls below keep · 2³²: two draws per `u64`, so the mask costs
    // half the generator calls of one `f64` per element (it was a visible share of training).
    let threshold = ((1.0 - p) * 4_294_967_296.0) as u64;
    let scale = (1.0 / (1.0 - p)) as f32;
    let pick = |bits: u64| {
        if bits < threshold { scale } else { 0.0 }
    };
    let mut mask = Vec::with_capacity(n + 1);
    while mask.len() < n {
        let r = rng.next_u64();
        mask.push(pick(r & 0xFFFF_FFFF));
        mask.push(pick(r >> 32));
    }
    mask.truncate(n);
    let device = x.device();
    x * Tensor::from_data(TensorData::new(mask, dims), &device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_about_p_and_rescales_the_rest() {
        let device = Device::flex();
        let x = Tensor::<2>::ones([100, 100], &device);
        let y: Vec<f32> = dropout(x, 0.5, &mut crate::init::rng(1))
            .into_data()
            .try_into_vec_as()
            .unwrap_or_default();
        let zeros = y.iter().filter(|&&v| v == 0.0).count();
        assert!((4_500..5_500).contains(&zeros), "{zeros} of 10000 dropped");
        assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
        // Same RNG state, same mask.
        let again: Vec<f32> = dropout(
            Tensor::<2>::ones([100, 100], &device),
            0.5,
            &mut crate::init::rng(1),
        )
        .into_data()
        .try_into_vec_as()
        .unwrap_or_default();
        assert_eq!(y, again);
    }
}
