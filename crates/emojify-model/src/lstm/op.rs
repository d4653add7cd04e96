//! An LSTM layer as one burn operation: the [`LstmLayer`] backend extension, and the functions
//! models call ([`layer`], [`layer_indexed`]). The extension has an inference forward, a training
//! forward that also returns what the backward needs ([`LstmSaved`]), and that backward; the
//! autodiff node (`super::autodiff`) is written once over those, for any inner backend that
//! implements them: the CPU kernels ([`super::cpu`]) for flex and ndarray, the CubeCL kernels
//! ([`super::cube`]) for burn's Cube backend (wgpu here). [`set_enabled`]`(false)` runs the
//! composed layer ([`super::composed`]) everywhere, for comparison.

// ndarray is deprecated upstream but still one of this project's backends.
#![allow(deprecated)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DispatchDevice, ExtensionType, backend_extension};
use burn::prelude::*;

/// Backends that run a whole LSTM layer as one operation. Shapes: `x [T, B, in]` (or, with
/// `index`, the distinct input rows `[U, in]`), `w_ih [in, 4H]`, `bias [4H]`, `w_hh [H, 4H]`;
/// hidden states `[T, B, H]`, from a zero state. Gate order i, f, g, o.
#[backend_extension(Flex, NdArray, Cube, Fusion: cfg(feature = "fusion"), Autodiff)]
pub trait LstmLayer: Backend {
    /// Every step's hidden state, keeping nothing for a backward pass.
    #[fusion(meta = fusion_meta::layer)]
    fn lstm_layer(
        x: FloatTensor<Self>,
        index: Option<RowIndex>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// [`Self::lstm_layer`] for training: the hidden states and what
    /// [`Self::lstm_layer_backward`] needs.
    #[fusion(meta = fusion_meta::layer_forward)]
    fn lstm_layer_forward(
        x: FloatTensor<Self>,
        index: Option<RowIndex>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, LstmSaved<Self>);

    /// The gradients `(x, w_ih, bias, w_hh)` given the hidden states' gradient `d_hs [T, B, H]`;
    /// the input's only with `need_x` (a frozen embedding below needs none), else an empty `[0]`
    /// tensor (a fixed tuple of tensors is what burn's lazy fusion can describe). With an index,
    /// the input's gradient is per distinct row, `[U, in]`.
    #[fusion(meta = fusion_meta::layer_backward)]
    fn lstm_layer_backward(
        #[extension_type] saved: LstmSaved<Self>,
        d_hs: FloatTensor<Self>,
        need_x: bool,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );
}

/// The output shapes of the three methods, for burn's lazy fusion backend (which records an
/// operation before it runs, so it must know what comes out).
#[cfg(feature = "fusion")]
mod fusion_meta {
    use burn::backend::Shape;
    use burn::backend::fusion::custom::TensorSpec;

    use super::{LstmSavedMetadata, RowIndex};

    fn spec(like: &TensorSpec, shape: Vec<usize>) -> TensorSpec {
        TensorSpec::new(Shape::from(shape), like.dtype)
    }

    /// `[T, B, H]` of the hidden states.
    fn state(x: &TensorSpec, index: &Option<RowIndex>, w_hh: &TensorSpec) -> TensorSpec {
        let [steps, batch, _] = super::input_dims(&x.shape, index.as_ref());
        spec(x, vec![steps, batch, w_hh.shape[0]])
    }

    pub fn layer(
        x: &TensorSpec,
        index: &Option<RowIndex>,
        _w_ih: &TensorSpec,
        _bias: &TensorSpec,
        w_hh: &TensorSpec,
    ) -> TensorSpec {
        state(x, index, w_hh)
    }

    pub fn layer_forward(
        x: &TensorSpec,
        index: &Option<RowIndex>,
        w_ih: &TensorSpec,
        bias: &TensorSpec,
        w_hh: &TensorSpec,
    ) -> (TensorSpec, LstmSavedMetadata) {
        let hs = state(x, index, w_hh);
        let mut four = hs.shape.to_vec();
        four[2] *= 4;
        let saved = LstmSavedMetadata {
            x: x.clone(),
            w_ih: w_ih.clone(),
            bias: bias.clone(),
            w_hh: w_hh.clone(),
            hs: hs.clone(),
            gates: spec(x, four),
            cells: hs.clone(),
            cells_tanh: hs.clone(),
            index: index.clone(),
        };
        (hs, saved)
    }

    pub fn layer_backward(
        saved: &LstmSavedMetadata,
        _d_hs: &TensorSpec,
        need_x: &bool,
    ) -> (TensorSpec, TensorSpec, TensorSpec, TensorSpec) {
        let dx = if *need_x {
            saved.x.clone()
        } else {
            spec(&saved.x, vec![0])
        };
        (
            dx,
            saved.w_ih.clone(),
            saved.bias.clone(),
            saved.w_hh.clone(),
        )
    }
}

/// What a training forward keeps for the backward pass, as tensors of the backend that ran it
/// (host memory for the CPU kernels, device memory for a GPU kernel). All time-major.
#[derive(Debug, Clone, ExtensionType)]
#[extension_type(fusion: cfg(feature = "fusion"))]
pub struct LstmSaved<B: Backend> {
    /// The input as given: `[T, B, in]`, or the distinct rows `[U, in]` with `index`.
    pub x: FloatTensor<B>,
    pub w_ih: FloatTensor<B>,
    pub bias: FloatTensor<B>,
    pub w_hh: FloatTensor<B>,
    /// `[T, B, H]`.
    pub hs: FloatTensor<B>,
    /// `[T, B, 4H]`: σ(i), σ(f), tanh(g), σ(o).
    pub gates: FloatTensor<B>,
    /// `[T, B, H]`.
    pub cells: FloatTensor<B>,
    /// `[T, B, H]`: tanh of `cells`.
    pub cells_tanh: FloatTensor<B>,
    pub index: Option<RowIndex>,
}

impl<B: Backend> LstmSaved<B> {
    /// The same state with every tensor passed through `f` (onto another backend type, such
    /// as autodiff's inner one).
    pub fn map<C: Backend>(self, f: impl Fn(FloatTensor<B>) -> FloatTensor<C>) -> LstmSaved<C> {
        LstmSaved {
            x: f(self.x),
            w_ih: f(self.w_ih),
            bias: f(self.bias),
            w_hh: f(self.w_hh),
            hs: f(self.hs),
            gates: f(self.gates),
            cells: f(self.cells),
            cells_tanh: f(self.cells_tanh),
            index: self.index,
        }
    }
}

/// Which input row each position of a `[T, B]` batch is, time-major.
#[derive(Debug, Clone)]
pub struct RowIndex {
    pub ids: Arc<[u32]>,
    pub steps: usize,
    pub batch: usize,
}

/// `[steps, batch, input]` of a call whose input has shape `x`: `[T, B, in]`, or with an index
/// the distinct rows `[U, in]` and the steps and batch the index gives. (Every implementation
/// and the fusion metadata read the sizes this one way.)
pub(crate) fn input_dims(x: &[usize], index: Option<&RowIndex>) -> [usize; 3] {
    match index {
        None => [x[0], x[1], x[2]],
        Some(index) => [index.steps, index.batch, x[1]],
    }
}

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the one-op layer off (or back on) for this process, so benchmarks can measure the
/// composed tensor-op version on the same backend.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether [`layer`] can run on `device`: flex, ndarray or a CubeCL device (wgpu), with or
/// without autodiff.
pub fn available(device: &Device) -> bool {
    ENABLED.load(Ordering::Relaxed)
        && matches!(
            device.as_dispatch().clone().inner(),
            DispatchDevice::Flex(_) | DispatchDevice::NdArray(_) | DispatchDevice::Cube(_)
        )
}

/// Whether `device` computes on the host, where reading a batch's token ids back to index
/// distinct rows ([`layer_indexed`]) costs nothing; on a GPU it would wait for the device.
pub fn on_host(device: &Device) -> bool {
    matches!(
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
/// row's projection is computed once (see [`super::cpu::Indexed`]). Call only where [`available`] says so.
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

    /// The extension's two halves called by hand (through the dispatch, as a caller outside
    /// autodiff would) give the autodiff node's output and gradients.
    #[test]
    fn forward_and_backward_called_by_hand_match_the_autodiff_node() {
        use burn::backend::Dispatch;
        for device in [Device::flex(), Device::ndarray()] {
            let (t, b, n, h) = (4, 3, 5, 6);
            let mut rng = init::rng(17);
            let x = init::normal([t, b, n], 1.0, &mut rng, &device);
            let w_ih = init::normal([n, 4 * h], 0.5, &mut rng, &device);
            let bias = init::normal([4 * h], 0.5, &mut rng, &device);
            let w_hh = init::normal([h, 4 * h], 0.5, &mut rng, &device);
            let d_hs = init::normal([t, b, h], 1.0, &mut rng, &device);
            let (hs, saved) = <Dispatch as LstmLayer>::lstm_layer_forward(
                x.clone().into_dispatch(),
                None,
                w_ih.clone().into_dispatch(),
                bias.clone().into_dispatch(),
                w_hh.clone().into_dispatch(),
            );
            let (dx, d_w_ih, d_bias, d_w_hh) = <Dispatch as LstmLayer>::lstm_layer_backward(
                saved,
                d_hs.clone().into_dispatch(),
                true,
            );
            let by_hand = [
                vec(Tensor::<3>::from_dispatch(hs)),
                vec(Tensor::<3>::from_dispatch(dx)),
                vec(Tensor::<2>::from_dispatch(d_w_ih)),
                vec(Tensor::<1>::from_dispatch(d_bias)),
                vec(Tensor::<2>::from_dispatch(d_w_hh)),
            ];
            let ad = device.clone().autodiff();
            let track = |v: &Tensor<3>| Tensor::<3>::from_data(v.to_data(), &ad).require_grad();
            let (xa, da) = (track(&x), Tensor::<3>::from_data(d_hs.to_data(), &ad));
            let wa = Tensor::<2>::from_data(w_ih.to_data(), &ad).require_grad();
            let ba = Tensor::<1>::from_data(bias.to_data(), &ad).require_grad();
            let ha = Tensor::<2>::from_data(w_hh.to_data(), &ad).require_grad();
            let out = layer(xa.clone(), wa.clone(), ba.clone(), ha.clone());
            let grads = (out.clone() * da).sum().backward();
            let node = [
                vec(out),
                xa.grad(&grads).map(vec).unwrap_or_default(),
                wa.grad(&grads).map(vec).unwrap_or_default(),
                ba.grad(&grads).map(vec).unwrap_or_default(),
                ha.grad(&grads).map(vec).unwrap_or_default(),
            ];
            let names = ["hidden states", "d x", "d w_ih", "d bias", "d w_hh"];
            for ((a, b), name) in by_hand.iter().zip(&node).zip(names) {
                assert_close(a, b, name);
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
