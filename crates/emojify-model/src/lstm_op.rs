//! An LSTM layer as one burn operation with a hand-written backward, on the CPU backends (flex,
//! ndarray): a backend extension whose kernels are [`crate::lstm_kernel`]. Under autodiff the
//! whole layer is one graph node instead of ~15 per time step. Other backends (wgpu) keep the
//! composed tensor-op version in [`crate::lstm::FusedLstm`].

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
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, Backend, DispatchDevice, Flex, NdArray, TensorMetadata, backend_extension,
};
use burn::prelude::*;

use crate::lstm_kernel::{self, Dims, Indexed, Saved, Weights};

/// Backends that run a whole LSTM layer as one operation.
#[backend_extension(Flex, NdArray, Autodiff)]
pub trait LstmLayer: Backend {
    /// `x [T, B, in]`, `w_ih [in, 4H]`, `bias [4H]`, `w_hh [H, 4H]` → every step's hidden state
    /// `[T, B, H]`, from a zero state. With `index`, `x` is instead the distinct input rows
    /// `[U, in]` and `index` says which of them each position is (see [`Indexed`]).
    fn lstm_layer(
        x: FloatTensor<Self>,
        index: Option<RowIndex>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// Which input row each position of a `[T, B]` batch is, time-major.
#[derive(Debug, Clone)]
pub struct RowIndex {
    pub ids: Arc<[u32]>,
    pub steps: usize,
    pub batch: usize,
}

/// The CPU backends run the kernels on their data read back as `Vec<f32>`.
macro_rules! cpu_lstm_layer {
    ($($backend:ty),*) => {$(
        impl LstmLayer for $backend {
            fn lstm_layer(
                x: FloatTensor<Self>,
                index: Option<RowIndex>,
                w_ih: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                forward_only::<Self>([x, w_ih, bias, w_hh], index)
            }
        }
    )*};
}

cpu_lstm_layer!(Flex, NdArray);

impl<B: ReadBack + LstmLayer, C: CheckpointStrategy> LstmLayer for Autodiff<B, C> {
    fn lstm_layer(
        x: FloatTensor<Self>,
        index: Option<RowIndex>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        tracked::<B, C>([x, w_ih, bias, w_hh], index)
    }
}

/// The layer under autodiff: one graph node whose backward is [`Layer`]'s.
fn tracked<B: ReadBack, C: CheckpointStrategy>(
    inputs: [FloatTensor<Autodiff<B, C>>; 4],
    index: Option<RowIndex>,
) -> FloatTensor<Autodiff<B, C>> {
    let nodes = inputs.each_ref().map(|t| t.node());
    let inputs = inputs.map(|t| t.into_primitive());
    match Layer.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let device = inputs[0].device();
            let (x, dims, weights) = read_inputs::<B>(inputs, index.as_ref());
            let (hs, saved) = run_forward(x, &weights, dims, index.as_ref(), true);
            let output = write::<B>(hs, &[dims.steps, dims.batch, dims.hidden], &device);
            let state = LayerState {
                forward: Arc::new((saved.unwrap_or_default(), weights)),
                index,
                dims,
                device,
            };
            prep.finish(state, output)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward_only::<B>(inputs, index)),
    }
}

/// The kernel's forward for either form of input.
fn run_forward(
    x: Vec<f32>,
    weights: &OwnedWeights,
    d: Dims,
    index: Option<&RowIndex>,
    save: bool,
) -> (Vec<f32>, Option<Saved>) {
    match index {
        None => lstm_kernel::forward(x, weights.view(), d, save),
        Some(index) => {
            let rows = Indexed {
                rows: x,
                index: &index.ids,
            };
            lstm_kernel::forward_indexed(rows, weights.view(), d, save)
        }
    }
}

/// The layer's weights read back from their tensors.
#[derive(Debug, Clone)]
struct OwnedWeights {
    w_ih: Vec<f32>,
    bias: Vec<f32>,
    w_hh: Vec<f32>,
}

impl OwnedWeights {
    fn view(&self) -> Weights<'_> {
        Weights {
            w_ih: &self.w_ih,
            bias: &self.bias,
            w_hh: &self.w_hh,
        }
    }
}

/// The backward node of the layer.
#[derive(Debug)]
struct Layer;

/// What the backward pass keeps from the forward pass, shared so the state's `Clone` is cheap.
#[derive(Debug, Clone)]
struct LayerState<D> {
    forward: Arc<(Saved, OwnedWeights)>,
    /// Present when the input came as distinct rows.
    index: Option<RowIndex>,
    dims: Dims,
    device: D,
}

impl<B: ReadBack> Backward<B, 4> for Layer {
    type State = LayerState<B::Device>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x, w_ih, bias, w_hh] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (d_hs, _) = read::<B>(grad);
        let state = ops.state;
        let (saved, weights) = &*state.forward;
        let d = state.dims;
        // A frozen embedding below the first layer needs no input gradient.
        let need_x = x.is_some();
        let (g, x_shape) = match &state.index {
            None => (
                lstm_kernel::backward(&d_hs, saved, weights.view(), d, need_x),
                vec![d.steps, d.batch, d.input],
            ),
            Some(index) => (
                lstm_kernel::backward_indexed(&d_hs, saved, &index.ids, weights.view(), d, need_x),
                vec![saved.input_rows(d), d.input],
            ),
        };
        let four_h = 4 * d.hidden;
        let device = &state.device;
        if let (Some(node), Some(dx)) = (x, g.x) {
            grads.register::<B>(node.id, write::<B>(dx, &x_shape, device));
        }
        for (node, values, shape) in [
            (w_ih, g.w_ih, vec![d.input, four_h]),
            (bias, g.bias, vec![four_h]),
            (w_hh, g.w_hh, vec![d.hidden, four_h]),
        ] {
            if let Some(node) = node {
                grads.register::<B>(node.id, write::<B>(values, &shape, device));
            }
        }
    }
}

fn forward_only<B: ReadBack>(
    inputs: [FloatTensor<B>; 4],
    index: Option<RowIndex>,
) -> FloatTensor<B> {
    let device = inputs[0].device();
    let (x, d, weights) = read_inputs::<B>(inputs, index.as_ref());
    let (hs, _) = run_forward(x, &weights, d, index.as_ref(), false);
    write::<B>(hs, &[d.steps, d.batch, d.hidden], &device)
}

/// Reads `[x, w_ih, bias, w_hh]` (`x` as `[T, B, in]`, or `[U, in]` rows with `index`);
/// [`layer`] and [`layer_indexed`] have checked that their shapes fit.
fn read_inputs<B: ReadBack>(
    inputs: [FloatTensor<B>; 4],
    index: Option<&RowIndex>,
) -> (Vec<f32>, Dims, OwnedWeights) {
    let [x, w_ih, bias, w_hh] = inputs;
    let (x, shape) = read::<B>(x);
    let (w_hh, w_shape) = read::<B>(w_hh);
    // Dense input is `[T, B, in]`; distinct rows are `[U, in]`, with T and B in the index.
    let (steps, batch, input) = match index {
        None => (shape[0], shape[1], shape[2]),
        Some(index) => (index.steps, index.batch, shape[1]),
    };
    let dims = Dims {
        steps,
        batch,
        input,
        hidden: w_shape[0],
    };
    let weights = OwnedWeights {
        w_ih: read::<B>(w_ih).0,
        bias: read::<B>(bias).0,
        w_hh,
    };
    (x, dims, weights)
}

/// How a CPU backend's tensor is best turned into its values.
pub trait ReadBack: Backend {
    /// A tensor with the same values that [`FloatTensorOps::float_into_data`] hands back quickly.
    fn unshared(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        tensor
    }
}

impl ReadBack for Flex {}

impl ReadBack for NdArray {
    /// ndarray returns an array whose storage is shared (every parameter's is) element by
    /// element through its N-dimensional iterator, ~25 % of a training step and most of a
    /// batch-1 prediction here. Multiplying by one (exact, keeps −0 and NaN) makes an unshared
    /// copy with one vectorised pass, which it then hands back without copying.
    fn unshared(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_mul_scalar(tensor, 1.0f32.into())
    }
}

fn read<B: ReadBack>(tensor: FloatTensor<B>) -> (Vec<f32>, Vec<usize>) {
    let shape = tensor.shape().to_vec();
    let data = block_on(B::float_into_data(B::unshared(tensor)))
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

/// Turns the one-op layer off (or back on) for this process, so benchmarks can measure the
/// composed tensor-op version on the same backend.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether [`layer`] can run on `device`: flex or ndarray, with or without autodiff.
pub fn available(device: &Device) -> bool {
    ENABLED.load(Ordering::Relaxed)
        && matches!(
            device.as_dispatch().clone().inner(),
            DispatchDevice::Flex(_) | DispatchDevice::NdArray(_)
        )
}

/// One LSTM layer as one operation: `x [T, B, in]`, `w_ih [in, 4H]`, `bias [4H]`,
/// `w_hh [H, 4H]` → hidden states `[T, B, H]`. Call only where [`available`] says so.
pub fn layer(x: Tensor<3>, w_ih: Tensor<2>, bias: Tensor<1>, w_hh: Tensor<2>) -> Tensor<3> {
    let [steps, batch, input] = x.dims();
    check_weights(
        &format!("x [{steps}, {batch}, {input}]"),
        input,
        &w_ih,
        &bias,
        &w_hh,
    );
    dispatch(x, None, w_ih, bias, w_hh)
}

/// Runs the extension on whichever backend the tensors live on.
fn dispatch<const D: usize>(
    x: Tensor<D>,
    index: Option<RowIndex>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
) -> Tensor<3> {
    Tensor::from_dispatch(<burn::backend::Dispatch as LstmLayer>::lstm_layer(
        x.into_dispatch(),
        index,
        w_ih.into_dispatch(),
        bias.into_dispatch(),
        w_hh.into_dispatch(),
    ))
}

/// Panics unless `w_ih [input, 4H]`, `bias [4H]` and `w_hh [H, 4H]` fit an input `input` wide
/// (`what` names it in the message).
fn check_weights(what: &str, input: usize, w_ih: &Tensor<2>, bias: &Tensor<1>, w_hh: &Tensor<2>) {
    let [w_in, four_h] = w_ih.dims();
    let [h, four_h_hh] = w_hh.dims();
    let [four_h_b] = bias.dims();
    assert!(
        w_in == input && four_h == 4 * h && four_h_hh == four_h && four_h_b == four_h,
        "{what} does not fit w_ih [{w_in}, {four_h}], bias [{four_h_b}], w_hh [{h}, {four_h_hh}]"
    );
}

/// [`layer`] with the input given as distinct rows `x_rows [U, in]` and `ids`, time-major
/// `[T · B]`, saying which row each position is (each < U) → `[T, B, H]`. Each distinct
/// row's projection is computed once (see [`Indexed`]). Call only where [`available`] says so.
pub fn layer_indexed(
    x_rows: Tensor<2>,
    ids: Vec<u32>,
    [steps, batch]: [usize; 2],
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
) -> Tensor<3> {
    let [count, input] = x_rows.dims();
    check_weights(
        &format!("rows [{count}, {input}]"),
        input,
        &w_ih,
        &bias,
        &w_hh,
    );
    // The kernel checks `ids` against `[steps, batch]` and the row count.
    let index = RowIndex {
        ids: ids.into(),
        steps,
        batch,
    };
    dispatch(x_rows, Some(index), w_ih, bias, w_hh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init;
    use crate::lstm::composed_layer;

    type Run = fn(Tensor<3>, Tensor<2>, Tensor<1>, Tensor<2>) -> Tensor<3>;

    fn vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap_or_default()
    }

    /// Output and the gradients of `Σ hs ⊙ weights` for `[x, w_ih, bias, w_hh]` (x's only when
    /// `x_grad`), by `run`.
    fn outcome(device: &Device, run: Run, x_grad: bool) -> Vec<Vec<f32>> {
        let (t, b, n, h) = (5, 3, 6, 4);
        let mut rng = init::rng(11);
        let mut x = init::normal([t, b, n], 1.0, &mut rng, device);
        if x_grad {
            x = x.require_grad();
        }
        let w_ih = init::normal([n, 4 * h], 0.5, &mut rng, device).require_grad();
        let bias = init::normal([4 * h], 0.5, &mut rng, device).require_grad();
        let w_hh = init::normal([h, 4 * h], 0.5, &mut rng, device).require_grad();
        let weights = init::normal([t, b, h], 1.0, &mut rng, device);
        let hs = run(x.clone(), w_ih.clone(), bias.clone(), w_hh.clone());
        let grads = (hs.clone() * weights).sum().backward();
        vec![
            vec(hs),
            x.grad(&grads).map(vec).unwrap_or_default(),
            w_ih.grad(&grads).map(vec).unwrap_or_default(),
            bias.grad(&grads).map(vec).unwrap_or_default(),
            w_hh.grad(&grads).map(vec).unwrap_or_default(),
        ]
    }

    fn assert_close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(
            worst < 1e-5,
            "{what}: one op and composed differ by {worst}"
        );
    }

    #[test]
    fn one_op_layer_matches_the_composed_one_with_gradients() {
        for device in [Device::flex().autodiff(), Device::ndarray().autodiff()] {
            assert!(available(&device));
            for x_grad in [true, false] {
                let fused = outcome(&device, layer, x_grad);
                let composed = outcome(&device, composed_layer, x_grad);
                let names = ["hidden states", "d x", "d w_ih", "d bias", "d w_hh"];
                for ((a, b), name) in fused.iter().zip(&composed).zip(names) {
                    assert_close(a, b, name);
                }
                assert_eq!(
                    fused[1].is_empty(),
                    !x_grad,
                    "x's gradient only when tracked"
                );
                assert!(!fused[4].is_empty());
            }
        }
    }

    #[test]
    fn one_op_layer_runs_without_autodiff() {
        let device = Device::flex();
        let mut rng = init::rng(5);
        let x = init::normal([3, 2, 5], 1.0, &mut rng, &device);
        let w_ih = init::normal([5, 8], 0.5, &mut rng, &device);
        let bias = init::normal([8], 0.5, &mut rng, &device);
        let w_hh = init::normal([2, 8], 0.5, &mut rng, &device);
        let a = vec(layer(x.clone(), w_ih.clone(), bias.clone(), w_hh.clone()));
        let b = vec(composed_layer(x, w_ih, bias, w_hh));
        assert!(!a.is_empty());
        assert_close(&a, &b, "inference");
    }
}
