//! The CPU kernels as the [`LstmLayer`] extension of flex and ndarray: tensors are read back as
//! `Vec<f32>`, run through [`super::forward`] / [`super::backward`], and written back.

// ndarray is deprecated upstream but still one of this project's backends.
#![allow(deprecated)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, NdArray, TensorMetadata};
use burn::prelude::*;

use super::{Dims, Indexed, Saved, Weights};
use crate::lstm::op::{LstmLayer, LstmSaved, RowIndex, input_dims};

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
                forward::<Self>([x, w_ih, bias, w_hh], index, false).0
            }

            fn lstm_layer_forward(
                x: FloatTensor<Self>,
                index: Option<RowIndex>,
                w_ih: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
            ) -> (FloatTensor<Self>, LstmSaved<Self>) {
                let (hs, saved) = forward::<Self>([x, w_ih, bias, w_hh], index, true);
                (hs, saved.expect("the kernel saves when asked to"))
            }

            fn lstm_layer_backward(
                saved: LstmSaved<Self>,
                d_hs: FloatTensor<Self>,
                need_x: bool,
            ) -> (
                FloatTensor<Self>,
                FloatTensor<Self>,
                FloatTensor<Self>,
                FloatTensor<Self>,
            ) {
                backward::<Self>(saved, d_hs, need_x)
            }
        }
    )*};
}

cpu_lstm_layer!(Flex, NdArray);

/// The layer's weights read back from their tensors.
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

/// The kernel's forward on `[x, w_ih, bias, w_hh]`, for either form of input; with `save`, the
/// saved arrays go back into tensors for [`backward`].
fn forward<B: ReadBack>(
    inputs: [FloatTensor<B>; 4],
    index: Option<RowIndex>,
    save: bool,
) -> (FloatTensor<B>, Option<LstmSaved<B>>) {
    let device = inputs[0].device();
    let (x, d, weights) = read_inputs::<B>(inputs, index.as_ref());
    let (hs, saved) = match &index {
        None => super::forward(x, weights.view(), d, save),
        Some(index) => {
            let rows = Indexed {
                rows: x,
                index: &index.ids,
            };
            super::forward_indexed(rows, weights.view(), d, save)
        }
    };
    let hs = write::<B>(hs, &[d.steps, d.batch, d.hidden], &device);
    let saved = saved.map(|s| {
        let x_shape = match &index {
            None => vec![d.steps, d.batch, d.input],
            Some(_) => vec![s.input_rows(d), d.input],
        };
        let four_h = 4 * d.hidden;
        let state = [d.steps, d.batch, d.hidden];
        LstmSaved {
            x: write::<B>(s.x, &x_shape, &device),
            w_ih: write::<B>(weights.w_ih, &[d.input, four_h], &device),
            bias: write::<B>(weights.bias, &[four_h], &device),
            w_hh: write::<B>(weights.w_hh, &[d.hidden, four_h], &device),
            hs: write::<B>(s.hs, &state, &device),
            gates: write::<B>(s.gates, &[d.steps, d.batch, four_h], &device),
            cells: write::<B>(s.cells, &state, &device),
            cells_tanh: write::<B>(s.cells_tanh, &state, &device),
            index,
        }
    });
    (hs, saved)
}

/// The kernel's backward on what [`forward`] saved.
#[allow(clippy::type_complexity)]
fn backward<B: ReadBack>(
    s: LstmSaved<B>,
    d_hs: FloatTensor<B>,
    need_x: bool,
) -> (
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
) {
    let device = d_hs.device();
    let (d_hs, _) = read::<B>(d_hs);
    // The saved tensors were made by `forward` and are held only here: read without a copy.
    let (x, x_shape) = read_own::<B>(s.x);
    let (w_ih, w_shape) = read_own::<B>(s.w_ih);
    let (hs, hs_shape) = read_own::<B>(s.hs);
    let d = Dims {
        steps: hs_shape[0],
        batch: hs_shape[1],
        input: w_shape[0],
        hidden: hs_shape[2],
    };
    let weights = OwnedWeights {
        w_ih,
        bias: read_own::<B>(s.bias).0,
        w_hh: read_own::<B>(s.w_hh).0,
    };
    let saved = Saved {
        x,
        hs,
        gates: read_own::<B>(s.gates).0,
        cells: read_own::<B>(s.cells).0,
        cells_tanh: read_own::<B>(s.cells_tanh).0,
    };
    let g = match &s.index {
        None => super::backward(&d_hs, &saved, weights.view(), d, need_x),
        Some(index) => {
            super::backward_indexed(&d_hs, &saved, &index.ids, weights.view(), d, need_x)
        }
    };
    let four_h = 4 * d.hidden;
    (
        match g.x {
            Some(dx) => write::<B>(dx, &x_shape, &device),
            None => write::<B>(Vec::new(), &[0], &device),
        },
        write::<B>(g.w_ih, &[d.input, four_h], &device),
        write::<B>(g.bias, &[four_h], &device),
        write::<B>(g.w_hh, &[d.hidden, four_h], &device),
    )
}

/// Reads `[x, w_ih, bias, w_hh]` (`x` as `[T, B, in]`, or `[U, in]` rows with `index`);
/// [`crate::lstm::op::layer`] and [`crate::lstm::op::layer_indexed`] have checked that their
/// shapes fit.
fn read_inputs<B: ReadBack>(
    inputs: [FloatTensor<B>; 4],
    index: Option<&RowIndex>,
) -> (Vec<f32>, Dims, OwnedWeights) {
    let [x, w_ih, bias, w_hh] = inputs;
    let (x, shape) = read::<B>(x);
    let (w_hh, w_shape) = read::<B>(w_hh);
    let [steps, batch, input] = input_dims(&shape, index);
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

/// A tensor's values and shape, made cheap to read first ([`ReadBack::unshared`]).
fn read<B: ReadBack>(tensor: FloatTensor<B>) -> (Vec<f32>, Vec<usize>) {
    read_own::<B>(B::unshared(tensor))
}

/// A tensor's values and shape as they come.
fn read_own<B: Backend>(tensor: FloatTensor<B>) -> (Vec<f32>, Vec<usize>) {
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
