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
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, Backend, DispatchDevice, Flex, NdArray, TensorMetadata, backend_extension,
};
use burn::prelude::*;

use crate::lstm_kernel::{self, Dims, Saved, Table, Weights};

/// Backends that run a whole LSTM layer as one operation.
#[backend_extension(Flex, NdArray, Autodiff)]
pub trait LstmLayer: Backend {
    /// `x [T, B, in]`, `w_ih [in, 4H]`, `bias [4H]`, `w_hh [H, 4H]` → every step's hidden state
    /// `[T, B, H]`, from a zero state.
    fn lstm_layer(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The same layer with its input pre-activations looked up: step `t`, row `b` adds row
    /// `index.ids[t·B + b]` of `rows [U, 4H]` (see [`Table`]).
    fn lstm_layer_table(
        rows: FloatTensor<Self>,
        index: TableIndex,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// Which table row each position of a `[T, B]` batch reads, time-major.
#[derive(Debug, Clone)]
pub struct TableIndex {
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
                w_ih: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                forward_only::<Self>([x, w_ih, bias, w_hh])
            }

            fn lstm_layer_table(
                rows: FloatTensor<Self>,
                index: TableIndex,
                bias: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                table_forward_only::<Self>([rows, bias, w_hh], &index)
            }
        }
    )*};
}

cpu_lstm_layer!(Flex, NdArray);

impl<B: Backend + LstmLayer, C: CheckpointStrategy> LstmLayer for Autodiff<B, C> {
    fn lstm_layer(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), w_ih.node(), bias.node(), w_hh.node()];
        let inputs = [x, w_ih, bias, w_hh].map(|t| t.into_primitive());
        match Layer.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let device = inputs[0].device();
                let (x, dims, weights) = read_inputs::<B>(inputs);
                let (hs, saved) = lstm_kernel::forward(x, weights.view(), dims, true);
                let output = write::<B>(hs, &[dims.steps, dims.batch, dims.hidden], &device);
                let state = LayerState {
                    forward: Arc::new((saved.unwrap_or_default(), weights)),
                    dims,
                    device,
                };
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward_only::<B>(inputs)),
        }
    }

    fn lstm_layer_table(
        rows: FloatTensor<Self>,
        index: TableIndex,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [rows.node(), bias.node(), w_hh.node()];
        let inputs = [rows, bias, w_hh].map(|t| t.into_primitive());
        match TableLayer.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let device = inputs[0].device();
                let (table, dims, bias, w_hh) = read_table_inputs::<B>(inputs, &index);
                let view = Table {
                    rows: &table,
                    index: &index.ids,
                };
                let (hs, saved) = lstm_kernel::forward_table(view, &bias, &w_hh, dims, true);
                let output = write::<B>(hs, &[dims.steps, dims.batch, dims.hidden], &device);
                let state = TableState {
                    forward: Arc::new(TableSaved {
                        saved: saved.unwrap_or_default(),
                        table,
                        bias,
                        w_hh,
                    }),
                    index,
                    dims,
                    device,
                };
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(table_forward_only::<B>(inputs, &index)),
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
    dims: Dims,
    device: D,
}

impl<B: Backend> Backward<B, 4> for Layer {
    type State = LayerState<B::Device>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x, w_ih, bias, w_hh] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (d_hs, _) = read::<B>(grad);
        let state = ops.state;
        let (saved, weights) = &*state.forward;
        let d = state.dims;
        // A frozen embedding below the first layer needs no input gradient.
        let g = lstm_kernel::backward(&d_hs, saved, weights.view(), d, x.is_some());
        let four_h = 4 * d.hidden;
        let device = &state.device;
        if let (Some(node), Some(dx)) = (x, g.x) {
            let dx = write::<B>(dx, &[d.steps, d.batch, d.input], device);
            grads.register::<B>(node.id, dx);
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

/// The backward node of the table-input layer.
#[derive(Debug)]
struct TableLayer;

/// The table-input layer's forward values, shared so the state's `Clone` is cheap.
#[derive(Debug)]
struct TableSaved {
    saved: Saved,
    table: Vec<f32>,
    bias: Vec<f32>,
    w_hh: Vec<f32>,
}

#[derive(Debug, Clone)]
struct TableState<D> {
    forward: Arc<TableSaved>,
    index: TableIndex,
    dims: Dims,
    device: D,
}

impl<B: Backend> Backward<B, 3> for TableLayer {
    type State = TableState<B::Device>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [rows, bias, w_hh] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (d_hs, _) = read::<B>(grad);
        let state = ops.state;
        let f = &*state.forward;
        let d = state.dims;
        let table = Table {
            rows: &f.table,
            index: &state.index.ids,
        };
        let g = lstm_kernel::backward_table(&d_hs, &f.saved, table, &f.bias, &f.w_hh, d);
        let four_h = 4 * d.hidden;
        let device = &state.device;
        let d_table = g.table.unwrap_or_default();
        for (node, values, shape) in [
            (rows, d_table, vec![f.table.len() / four_h, four_h]),
            (bias, g.bias, vec![four_h]),
            (w_hh, g.w_hh, vec![d.hidden, four_h]),
        ] {
            if let Some(node) = node {
                grads.register::<B>(node.id, write::<B>(values, &shape, device));
            }
        }
    }
}

/// Reads `[rows, bias, w_hh]`; [`layer_table`] has checked that their shapes fit `index`.
fn read_table_inputs<B: Backend>(
    inputs: [FloatTensor<B>; 3],
    index: &TableIndex,
) -> (Vec<f32>, Dims, Vec<f32>, Vec<f32>) {
    let [rows, bias, w_hh] = inputs;
    let (w_hh, w_shape) = read::<B>(w_hh);
    let dims = Dims {
        steps: index.steps,
        batch: index.batch,
        input: 0,
        hidden: w_shape[0],
    };
    (read::<B>(rows).0, dims, read::<B>(bias).0, w_hh)
}

fn table_forward_only<B: Backend>(
    inputs: [FloatTensor<B>; 3],
    index: &TableIndex,
) -> FloatTensor<B> {
    let device = inputs[0].device();
    let (table, d, bias, w_hh) = read_table_inputs::<B>(inputs, index);
    let view = Table {
        rows: &table,
        index: &index.ids,
    };
    let (hs, _) = lstm_kernel::forward_table(view, &bias, &w_hh, d, false);
    write::<B>(hs, &[d.steps, d.batch, d.hidden], &device)
}

fn forward_only<B: Backend>(inputs: [FloatTensor<B>; 4]) -> FloatTensor<B> {
    let device = inputs[0].device();
    let (x, d, weights) = read_inputs::<B>(inputs);
    let (hs, _) = lstm_kernel::forward(x, weights.view(), d, false);
    write::<B>(hs, &[d.steps, d.batch, d.hidden], &device)
}

/// Reads `[x, w_ih, bias, w_hh]`; [`layer`] has checked that their shapes fit.
fn read_inputs<B: Backend>(inputs: [FloatTensor<B>; 4]) -> (Vec<f32>, Dims, OwnedWeights) {
    let [x, w_ih, bias, w_hh] = inputs;
    let (x, shape) = read::<B>(x);
    let (w_hh, w_shape) = read::<B>(w_hh);
    let dims = Dims {
        steps: shape[0],
        batch: shape[1],
        input: shape[2],
        hidden: w_shape[0],
    };
    let weights = OwnedWeights {
        w_ih: read::<B>(w_ih).0,
        bias: read::<B>(bias).0,
        w_hh,
    };
    (x, dims, weights)
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
    let [_, _, input] = x.dims();
    let [w_in, four_h] = w_ih.dims();
    let [h, four_h_hh] = w_hh.dims();
    let [four_h_b] = bias.dims();
    assert!(
        w_in == input && four_h == 4 * h && four_h_hh == four_h && four_h_b == four_h,
        "x [T, B, {input}] does not fit w_ih [{w_in}, {four_h}], bias [{four_h_b}], w_hh [{h}, {four_h_hh}]"
    );
    Tensor::from_dispatch(<burn::backend::Dispatch as LstmLayer>::lstm_layer(
        x.into_dispatch(),
        w_ih.into_dispatch(),
        bias.into_dispatch(),
        w_hh.into_dispatch(),
    ))
}

/// [`layer`] with the input pre-activations looked up: `rows [U, 4H]`, `ids` time-major
/// `[T · B]` (each < U), `bias [4H]`, `w_hh [H, 4H]` → `[T, B, H]`. Call only where
/// [`available`] says so.
pub fn layer_table(
    rows: Tensor<2>,
    ids: Vec<u32>,
    [steps, batch]: [usize; 2],
    bias: Tensor<1>,
    w_hh: Tensor<2>,
) -> Tensor<3> {
    let [count, four_h] = rows.dims();
    let [h, four_h_hh] = w_hh.dims();
    let [four_h_b] = bias.dims();
    assert!(
        four_h == 4 * h && four_h_hh == four_h && four_h_b == four_h,
        "rows [{count}, {four_h}] do not fit bias [{four_h_b}], w_hh [{h}, {four_h_hh}]"
    );
    assert_eq!(ids.len(), steps * batch, "ids are [T, B]");
    assert!(
        ids.iter().all(|&i| (i as usize) < count),
        "an id points past the table's {count} rows"
    );
    let index = TableIndex {
        ids: ids.into(),
        steps,
        batch,
    };
    Tensor::from_dispatch(<burn::backend::Dispatch as LstmLayer>::lstm_layer_table(
        rows.into_dispatch(),
        index,
        bias.into_dispatch(),
        w_hh.into_dispatch(),
    ))
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
