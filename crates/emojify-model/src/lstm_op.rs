//! The LSTM recurrence as one burn operation with a hand-written backward, on the CPU backends
//! (flex, ndarray): a backend extension whose kernels are [`crate::lstm_kernel`]. Under autodiff
//! the whole recurrence is one graph node instead of ~15 per time step. Other backends (wgpu)
//! keep the composed tensor-op version in [`crate::lstm::FusedLstm`].

// ndarray is deprecated upstream but still one of this project's backends.
#![allow(deprecated)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, Backend, DispatchDevice, Flex, NdArray, TensorMetadata, backend_extension,
};
use burn::prelude::*;

use crate::lstm_kernel::{self, Dims, Saved};

/// Backends that run a whole LSTM recurrence as one operation.
#[backend_extension(Flex, NdArray, Autodiff)]
pub trait LstmRecurrence: Backend {
    /// `projected [T, B, 4H]` (input projection plus bias), `w_hh [H, 4H]` → every step's hidden
    /// state `[T, B, H]`, from a zero state.
    fn lstm_recurrence(projected: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl LstmRecurrence for Flex {
    fn lstm_recurrence(projected: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self> {
        forward_only::<Self>(projected, w_hh)
    }
}

impl LstmRecurrence for NdArray {
    fn lstm_recurrence(projected: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self> {
        forward_only::<Self>(projected, w_hh)
    }
}

impl<B: Backend + LstmRecurrence, C: CheckpointStrategy> LstmRecurrence for Autodiff<B, C> {
    fn lstm_recurrence(projected: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self> {
        match Recurrence
            .prepare::<C>([projected.node(), w_hh.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let device = projected.primitive().device();
                let (p, p_shape) = read::<B>(projected.into_primitive());
                let (w, _) = read::<B>(w_hh.into_primitive());
                let d = dims(&p_shape);
                let (hs, saved) = lstm_kernel::forward(p, &w, d, true);
                let output = write::<B>(hs, &[d.steps, d.batch, d.hidden], &device);
                let state = RecurrenceState {
                    forward: Arc::new((saved.unwrap_or_default(), w)),
                    dims: d,
                    device,
                };
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward_only::<B>(
                projected.into_primitive(),
                w_hh.into_primitive(),
            )),
        }
    }
}

/// The backward node of the recurrence.
#[derive(Debug)]
struct Recurrence;

/// What the backward pass keeps from the forward pass: `(saved, w_hh)`, shared so the state's
/// `Clone` is cheap.
#[derive(Debug, Clone)]
struct RecurrenceState<D> {
    forward: Arc<(Saved, Vec<f32>)>,
    dims: Dims,
    device: D,
}

impl<B: Backend> Backward<B, 2> for Recurrence {
    type State = RecurrenceState<B::Device>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [projected, w_hh] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (d_hs, _) = read::<B>(grad);
        let state = ops.state;
        let (saved, w) = &*state.forward;
        let d = state.dims;
        let (d_projected, d_w_hh) = lstm_kernel::backward(&d_hs, saved, w, d);
        if let Some(node) = projected {
            let shape = [d.steps, d.batch, 4 * d.hidden];
            grads.register::<B>(node.id, write::<B>(d_projected, &shape, &state.device));
        }
        if let Some(node) = w_hh {
            let shape = [d.hidden, 4 * d.hidden];
            grads.register::<B>(node.id, write::<B>(d_w_hh, &shape, &state.device));
        }
    }
}

fn forward_only<B: Backend>(projected: FloatTensor<B>, w_hh: FloatTensor<B>) -> FloatTensor<B> {
    let device = projected.device();
    let (p, p_shape) = read::<B>(projected);
    let (w, _) = read::<B>(w_hh);
    let d = dims(&p_shape);
    let (hs, _) = lstm_kernel::forward(p, &w, d, false);
    write::<B>(hs, &[d.steps, d.batch, d.hidden], &device)
}

/// Sizes from `projected [T, B, 4H]`; [`recurrence`] has checked the shapes agree.
fn dims(projected: &[usize]) -> Dims {
    Dims {
        steps: projected[0],
        batch: projected[1],
        hidden: projected[2] / 4,
    }
}

fn read<B: Backend>(tensor: FloatTensor<B>) -> (Vec<f32>, Vec<usize>) {
    let shape = tensor.shape().to_vec();
    let data = block_on(B::float_into_data(tensor))
        .expect("reading a CPU tensor cannot fail")
        .convert::<f32>();
    let values = data
        .try_into_vec::<f32>()
        .expect("converted to f32 just above");
    (values, shape)
}

fn write<B: Backend>(values: Vec<f32>, shape: &[usize], device: &B::Device) -> FloatTensor<B> {
    B::float_from_data(TensorData::new(values, shape.to_vec()), device)
}

/// CPU backends hand their data back at once; this polls until they do.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::yield_now();
    }
}

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the fused recurrence off (or back on) for this process, so benchmarks can measure the
/// composed tensor-op version on the same backend.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether [`recurrence`] can run on `device`: flex or ndarray, with or without autodiff.
pub fn available(device: &Device) -> bool {
    ENABLED.load(Ordering::Relaxed)
        && matches!(
            device.as_dispatch().clone().inner(),
            DispatchDevice::Flex(_) | DispatchDevice::NdArray(_)
        )
}

/// `projected [T, B, 4H]`, `w_hh [H, 4H]` → hidden states `[T, B, H]` as one operation. Call only
/// where [`available`] says so.
pub fn recurrence(projected: Tensor<3>, w_hh: Tensor<2>) -> Tensor<3> {
    let [_, _, four_h] = projected.dims();
    let [h, four_h_w] = w_hh.dims();
    assert!(
        four_h == 4 * h && four_h_w == four_h,
        "projected [T, B, {four_h}] does not fit w_hh [{h}, {four_h_w}]"
    );
    Tensor::from_dispatch(
        <burn::backend::Dispatch as LstmRecurrence>::lstm_recurrence(
            projected.into_dispatch(),
            w_hh.into_dispatch(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init;
    use crate::lstm::composed_recurrence;

    /// Output and both gradients of `Σ hs ⊙ weights`, by `run`.
    fn outcome(
        device: &Device,
        run: fn(Tensor<3>, Tensor<2>) -> Tensor<3>,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (t, b, h) = (5, 3, 4);
        let mut rng = init::rng(11);
        let p = init::normal([t, b, 4 * h], 1.0, &mut rng, device).require_grad();
        let w = init::normal([h, 4 * h], 0.5, &mut rng, device).require_grad();
        let weights = init::normal([t, b, h], 1.0, &mut rng, device);
        let hs = run(p.clone(), w.clone());
        let grads = (hs.clone() * weights).sum().backward();
        let vec = |x: Tensor<3>| x.into_data().to_vec::<f32>().unwrap_or_default();
        let dp = p.grad(&grads).map(vec).unwrap_or_default();
        let dw = w
            .grad(&grads)
            .map(|x| x.into_data().to_vec::<f32>().unwrap_or_default())
            .unwrap_or_default();
        (vec(hs), dp, dw)
    }

    fn assert_close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        assert!(!a.is_empty(), "{what}: empty");
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-5, "{what}: fused and composed differ by {worst}");
    }

    #[test]
    fn fused_recurrence_matches_the_composed_one_with_gradients() {
        for device in [Device::flex().autodiff(), Device::ndarray().autodiff()] {
            assert!(available(&device));
            let fused = outcome(&device, recurrence);
            let composed = outcome(&device, composed_recurrence);
            assert_close(&fused.0, &composed.0, "hidden states");
            assert_close(&fused.1, &composed.1, "d projected");
            assert_close(&fused.2, &composed.2, "d w_hh");
        }
    }

    #[test]
    fn fused_recurrence_runs_without_autodiff() {
        let device = Device::flex();
        let mut rng = init::rng(5);
        let p = init::normal([3, 2, 8], 1.0, &mut rng, &device);
        let w = init::normal([2, 8], 0.5, &mut rng, &device);
        let a = recurrence(p.clone(), w.clone()).into_data().to_vec::<f32>();
        let b = composed_recurrence(p, w).into_data().to_vec::<f32>();
        assert_close(&a.unwrap_or_default(), &b.unwrap_or_default(), "inference");
    }
}
