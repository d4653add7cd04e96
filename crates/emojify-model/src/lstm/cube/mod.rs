//! The [`LstmLayer`] extension for burn's Cube backend: one CubeCL source for every runtime
//! (wgpu here, cuda and rocm where built), beside the CPU kernels in [`super::cpu`].
//!
//! Forward: one matmul projects the input (`x · w_ih`, or each distinct row once with an index),
//! then the time loop runs on the device (`kernels`). Backward: the gate gradients come from
//! the reverse time loop, then ordinary matmuls give `dW_ih`, `dW_hh`, `dx` and a sum `db`.
//! Two designs of the time loop ([`Design`]): **persistent** — the whole loop is one launch, a
//! cube per slice of the batch with `h` (and in the backward the gate gradients) in shared
//! memory; and **per step** — a recurrent matmul and one fused cell kernel per step. By default
//! small batches run persistently and large ones per step (measured, docs/benchmarks.md); per
//! step also serves hidden sizes whose state does not fit in a cube's shared memory.

mod kernels;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::{FloatTensorOps, IntTensorOps};
use burn::backend::tensor::{FloatTensor, IndexingUpdateOp};
use burn::backend::{Shape, Slice, TensorData, TensorMetadata};
use burn::tensor::FloatDType;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::{CubeCount, CubeDim};

use crate::lstm::op::{LstmLayer, LstmSaved, RowIndex, input_dims};

/// How the time loop runs on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    /// Persistent for batches up to [`AUTO_PERSISTENT_BATCH`] rows, per step above.
    Auto,
    /// One launch per layer and direction of the pass, the loop inside the kernel.
    Persistent,
    /// A recurrent matmul and a fused cell kernel per time step.
    PerStep,
}

/// The largest batch [`Design::Auto`] runs persistently. On lavapipe the persistent kernels win
/// at batch 1 (7 against 11 ms for a V2 prediction: fewer launches), draw at 32 (training) and
/// lose at 512 (burn's tiled matmul does the products faster than the kernel's own loop);
/// docs/benchmarks.md has the figures. A GPU will want its own threshold.
pub const AUTO_PERSISTENT_BATCH: usize = 8;

impl Design {
    /// Whether a batch of `batch` rows runs persistently.
    fn persistent(self, batch: usize) -> bool {
        match self {
            Design::Auto => batch <= AUTO_PERSISTENT_BATCH,
            Design::Persistent => true,
            Design::PerStep => false,
        }
    }
}

static DESIGN: AtomicU8 = AtomicU8::new(0);
static LAUNCHES: AtomicUsize = AtomicUsize::new(0);

/// Chooses the design for this process (benchmarks compare them).
pub fn set_design(design: Design) {
    let code = match design {
        Design::Auto => 0,
        Design::Persistent => 1,
        Design::PerStep => 2,
    };
    DESIGN.store(code, Ordering::Relaxed);
}

/// The design [`set_design`] chose ([`Design::Auto`] unless told otherwise).
pub fn design() -> Design {
    match DESIGN.load(Ordering::Relaxed) {
        0 => Design::Auto,
        1 => Design::Persistent,
        _ => Design::PerStep,
    }
}

/// How many of this module's own kernels have been launched in this process: tests read it to
/// prove the layer ran on the device, benchmarks to count.
pub fn kernel_launches() -> usize {
    LAUNCHES.load(Ordering::Relaxed)
}

/// Threads per cube: a portable bound (WebGPU guarantees 256 invocations per workgroup).
const CUBE_THREADS: usize = 256;

/// Shared memory one cube of the persistent kernels may use: well under the 16 KiB WebGPU
/// guarantees. The backward keeps `9 H` values per batch row, so H up to 455 fits one row.
const SHARED_BYTES: usize = 16 * 1024;

/// How one cube of a persistent kernel is cut: `rows` batch rows per cube, `units` hidden units
/// per thread (so each loaded weight serves `rows` products and each loaded state value
/// `units`). Measured on lavapipe (docs/benchmarks.md); a GPU wants its own figures.
#[derive(Debug, Clone, Copy)]
struct Tiling {
    rows: usize,
    units: usize,
}

const FORWARD_TILING: Tiling = Tiling { rows: 4, units: 2 };
/// Backward: up to 8 rows, as shared memory allows (3 at H = 128).
const BACKWARD_TILING: Tiling = Tiling { rows: 8, units: 4 };

/// The persistent kernels' launch for `hidden` units and `batch` rows: `(threads, tiling,
/// cubes)`, the rows per cube cut to the batch and to the shared memory a row takes
/// (`per_row · hidden` values); `None` when not even one row fits or the batch needs more
/// cubes than one axis holds.
fn persistent_shape(
    hidden: usize,
    batch: usize,
    per_row: usize,
    tiling: Tiling,
) -> Option<(u32, Tiling, u32)> {
    let row_bytes = per_row * hidden * size_of::<f32>();
    if row_bytes > SHARED_BYTES {
        return None;
    }
    let rows = tiling.rows.min(SHARED_BYTES / row_bytes).min(batch).max(1);
    let threads = hidden.div_ceil(tiling.units).min(CUBE_THREADS);
    let tiling = Tiling { rows, ..tiling };
    // One axis of cubes (WebGPU allows 65,535); beyond that the per-step design runs.
    let cubes = u32::try_from(batch.div_ceil(rows))
        .ok()
        .filter(|&c| c <= u32::from(u16::MAX))?;
    Some((threads as u32, tiling, cubes))
}

/// For the unfused backend: burn's `Cube` is this type without the `fusion` feature, and with it
/// `Fusion<CubeBackend>`, whose implementation the extension macro derives from this one.
impl LstmLayer for CubeBackend {
    fn lstm_layer(
        x: FloatTensor<Self>,
        index: Option<RowIndex>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        forward(x, index, w_ih, bias, w_hh, false).0
    }

    fn lstm_layer_forward(
        x: FloatTensor<Self>,
        index: Option<RowIndex>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, LstmSaved<Self>) {
        let (hs, saved) = forward(x, index, w_ih, bias, w_hh, true);
        (hs, saved.expect("the forward saves when asked to"))
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
        backward(saved, d_hs, need_x)
    }
}

/// The layer's sizes.
#[derive(Debug, Clone, Copy)]
struct Dims {
    steps: usize,
    batch: usize,
    input: usize,
    hidden: usize,
}

impl Dims {
    fn of(x: &CubeTensor, index: Option<&RowIndex>, w_hh: &CubeTensor) -> Self {
        let [steps, batch, input] = input_dims(&x.shape(), index);
        Dims {
            steps,
            batch,
            input,
            hidden: w_hh.shape()[0],
        }
    }

    fn positions(&self) -> usize {
        self.steps * self.batch
    }
}

fn empty(like: &CubeTensor, shape: &[usize]) -> CubeTensor {
    empty_device_dtype(
        like.client.clone(),
        like.device.clone(),
        Shape::from(shape.to_vec()),
        like.dtype,
    )
}

fn zeros(like: &CubeTensor, shape: &[usize]) -> CubeTensor {
    CubeBackend::float_zeros(
        Shape::from(shape.to_vec()),
        &like.device,
        FloatDType::from(like.dtype),
    )
}

fn reshape(tensor: CubeTensor, shape: &[usize]) -> CubeTensor {
    CubeBackend::float_reshape(tensor, Shape::from(shape.to_vec()))
}

fn matmul(lhs: CubeTensor, rhs: CubeTensor) -> CubeTensor {
    CubeBackend::float_matmul(lhs, rhs)
}

/// Rows `[start, end)` of a tensor's first axis.
fn rows(tensor: CubeTensor, start: usize, end: usize) -> CubeTensor {
    let dims = tensor.shape().num_dims();
    let mut slices = vec![Slice::new(start as isize, Some(end as isize), 1)];
    slices.extend((1..dims).map(|_| Slice::full()));
    CubeBackend::float_slice(tensor, &slices)
}

/// The index's ids as a device tensor, and a one-element stand-in without one (the kernels
/// take the argument either way; a comptime flag says whether they read it).
fn ids_tensor(index: Option<&RowIndex>, like: &CubeTensor) -> CubeTensor {
    let ids = index.map_or_else(|| vec![0u32], |index| index.ids.to_vec());
    let len = ids.len();
    CubeBackend::int_from_data(TensorData::new(ids, [len]), &like.device)
}

fn count_launch() {
    LAUNCHES.fetch_add(1, Ordering::Relaxed);
}

/// What either design of the forward time loop takes: the projected input (or distinct rows'
/// projections and their ids), the weights, the tensors it writes `[hs, gates, cells,
/// cells_tanh]` (the last three one-element stand-ins without `save`), and the sizes.
struct Forward<'a> {
    xw: &'a CubeTensor,
    ids: &'a CubeTensor,
    bias: &'a CubeTensor,
    w_hh: &'a CubeTensor,
    outputs: [CubeTensor; 4],
    d: Dims,
    indexed: bool,
    save: bool,
}

/// The forward on `x [T, B, in]` (or the distinct rows `[U, in]` with `index`); with `save`,
/// what the backward needs.
fn forward(
    x: CubeTensor,
    index: Option<RowIndex>,
    w_ih: CubeTensor,
    bias: CubeTensor,
    w_hh: CubeTensor,
    save: bool,
) -> (CubeTensor, Option<LstmSaved<CubeBackend>>) {
    let d = Dims::of(&x, index.as_ref(), &w_hh);
    if let Some(index) = &index {
        // The kernels read rows by these ids without bounds checks.
        let rows = x.shape()[0];
        assert!(
            index.ids.len() == d.positions() && index.ids.iter().all(|&i| (i as usize) < rows),
            "the row index must give {} positions, each below {rows}",
            d.positions()
        );
    }
    let four_h = 4 * d.hidden;
    let state = [d.steps, d.batch, d.hidden];
    let hs = empty(&x, &state);
    // Inference keeps only the hidden states; the kernels still take the arguments.
    let kept = |shape: &[usize]| {
        if save {
            empty(&x, shape)
        } else {
            empty(&x, &[1])
        }
    };
    let gates = kept(&[d.steps, d.batch, four_h]);
    let cells = kept(&state);
    let cells_tanh = kept(&state);
    if d.positions() > 0 && d.hidden > 0 {
        // Each position's (or distinct row's) input projection, once, by one matmul.
        let flat = match &index {
            None => reshape(x.clone(), &[d.positions(), d.input]),
            Some(_) => x.clone(),
        };
        let xw = into_contiguous(matmul(flat, w_ih.clone()));
        let ids = ids_tensor(index.as_ref(), &x);
        let bias_c = into_contiguous(bias.clone());
        let w_hh_c = into_contiguous(w_hh.clone());
        let run = Forward {
            xw: &xw,
            ids: &ids,
            bias: &bias_c,
            w_hh: &w_hh_c,
            outputs: [hs.clone(), gates.clone(), cells.clone(), cells_tanh.clone()],
            d,
            indexed: index.is_some(),
            save,
        };
        match persistent_shape(d.hidden, d.batch, 3, FORWARD_TILING)
            .filter(|_| design().persistent(d.batch))
        {
            Some(shape) => forward_persistent(run, shape),
            None => forward_per_step(run),
        }
    }
    let saved = save.then(|| LstmSaved {
        x,
        w_ih,
        bias,
        w_hh,
        hs: hs.clone(),
        gates,
        cells,
        cells_tanh,
        index,
    });
    (hs, saved)
}

fn forward_persistent(run: Forward<'_>, (threads, tiling, cubes): (u32, Tiling, u32)) {
    let (xw, ids, d) = (run.xw, run.ids, run.d);
    let [hs, gates, cells, cells_tanh] = run.outputs;
    let client = xw.client.clone();
    count_launch();
    // SAFETY: every index the kernel forms is below the shapes made or checked here: positions
    // `t · B + b` with `b < batch` guarded in the kernel, units `j < hidden`, rows `ids[p] < U`
    // (checked in `forward`).
    unsafe {
        kernels::forward_persistent::launch_unchecked(
            &client,
            CubeCount::Static(cubes, 1, 1),
            CubeDim::new_1d(threads),
            xw.clone().into_tensor_arg(),
            ids.clone().into_tensor_arg(),
            run.bias.clone().into_tensor_arg(),
            run.w_hh.clone().into_tensor_arg(),
            hs.into_tensor_arg(),
            gates.into_tensor_arg(),
            cells.into_tensor_arg(),
            cells_tanh.into_tensor_arg(),
            d.steps as u32,
            d.batch as u32,
            d.hidden,
            tiling.rows,
            tiling.units,
            run.indexed,
            run.save,
            [
                dtype_to_storage_type(xw.dtype),
                dtype_to_storage_type(ids.dtype),
            ],
        )
    };
}

/// The most cubes put on one dispatch axis, whatever the adapter advertises: WebGPU's guarantee,
/// and what NVIDIA's Vulkan driver runs although it advertises more (cubecl PR #1388, not in
/// cubecl 0.11.3, whose own spreading trusts the adapter). Tests lower it to reach the spread
/// launches with small tensors.
const MAX_CUBES_PER_AXIS: usize = 65_535;
static CUBES_PER_AXIS: AtomicUsize = AtomicUsize::new(MAX_CUBES_PER_AXIS);
/// Elementwise launches that took more than one axis (tests read it).
static SPREAD_LAUNCHES: AtomicUsize = AtomicUsize::new(0);

/// Lowers (or restores) the per-axis cap of the elementwise launches, to test the spread ones.
#[cfg(test)]
fn set_cubes_per_axis(max: usize) {
    CUBES_PER_AXIS.store(max.clamp(1, MAX_CUBES_PER_AXIS), Ordering::Relaxed);
}

/// `cubes` cubes on as few dispatch axes as a cap of `max` per axis allows (kernels index by
/// `ABSOLUTE_POS`, which counts across the axes, and bound-check the extra cubes).
fn spread(cubes: usize, max: usize) -> CubeCount {
    let axis = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    if cubes <= max {
        CubeCount::Static(axis(cubes.max(1)), 1, 1)
    } else if cubes.div_ceil(max) <= max {
        CubeCount::Static(axis(max), axis(cubes.div_ceil(max)), 1)
    } else {
        CubeCount::Static(axis(max), axis(max), axis(cubes.div_ceil(max * max)))
    }
}

/// Elementwise launch shape for `n` threads: spread over more than one axis past
/// [`MAX_CUBES_PER_AXIS`] cubes, so huge batches launch on every adapter.
fn elementwise(n: usize) -> (CubeCount, CubeDim) {
    let dim = CubeDim::new_1d(CUBE_THREADS as u32);
    let (cubes, max) = (
        n.div_ceil(CUBE_THREADS),
        CUBES_PER_AXIS.load(Ordering::Relaxed),
    );
    if cubes > max {
        SPREAD_LAUNCHES.fetch_add(1, Ordering::Relaxed);
    }
    (spread(cubes, max), dim)
}

fn forward_per_step(run: Forward<'_>) {
    let Forward {
        xw,
        ids,
        bias,
        w_hh,
        outputs: [hs, gates, cells, cells_tanh],
        d,
        indexed,
        save,
    } = run;
    let client = xw.client.clone();
    let c_state = empty(xw, &[d.batch, d.hidden]);
    let mut h_prev: Option<CubeTensor> = None;
    let (count, dim) = elementwise(d.batch * d.hidden);
    for t in 0..d.steps {
        // At t = 0 the state is zero and the kernel reads no product: any tensor stands in.
        let rec = match &h_prev {
            Some(h) => matmul(h.clone(), w_hh.clone()),
            None => w_hh.clone(),
        };
        let h_out = empty(xw, &[d.batch, d.hidden]);
        count_launch();
        // SAFETY: threads past `batch · hidden` return at once; the rest index `[B, H]`,
        // `[B, 4H]` and `[T, B, ·]` tensors made here.
        unsafe {
            kernels::forward_step::launch_unchecked(
                &client,
                count.clone(),
                dim,
                xw.clone().into_tensor_arg(),
                ids.clone().into_tensor_arg(),
                bias.clone().into_tensor_arg(),
                rec.into_tensor_arg(),
                c_state.clone().into_tensor_arg(),
                h_out.clone().into_tensor_arg(),
                hs.clone().into_tensor_arg(),
                gates.clone().into_tensor_arg(),
                cells.clone().into_tensor_arg(),
                cells_tanh.clone().into_tensor_arg(),
                t as u32,
                d.batch as u32,
                d.hidden,
                indexed,
                save,
                [
                    dtype_to_storage_type(xw.dtype),
                    dtype_to_storage_type(ids.dtype),
                ],
            )
        };
        h_prev = Some(h_out);
    }
}

/// The backward on what [`forward`] saved.
#[allow(clippy::type_complexity)]
fn backward(
    s: LstmSaved<CubeBackend>,
    d_hs: CubeTensor,
    need_x: bool,
) -> (CubeTensor, CubeTensor, CubeTensor, CubeTensor) {
    let d = Dims::of(&s.x, s.index.as_ref(), &s.w_hh);
    let four_h = 4 * d.hidden;
    if d.positions() == 0 || d.hidden == 0 {
        let dx = match need_x {
            true => zeros(&s.x, &s.x.shape().to_vec()),
            false => zeros(&s.x, &[0]),
        };
        return (
            dx,
            zeros(&s.w_ih, &[d.input, four_h]),
            zeros(&s.bias, &[four_h]),
            zeros(&s.w_hh, &[d.hidden, four_h]),
        );
    }
    let d_hs = into_contiguous(d_hs);
    let dz = empty(&d_hs, &[d.positions(), four_h]);
    let w_hh_t = into_contiguous(CubeBackend::float_transpose(s.w_hh.clone()));
    // Made contiguous by the forward; this is a no-op unless something reshaped them since.
    let saved = [s.gates.clone(), s.cells.clone(), s.cells_tanh.clone()].map(into_contiguous);
    match persistent_shape(d.hidden, d.batch, 9, BACKWARD_TILING)
        .filter(|_| design().persistent(d.batch))
    {
        Some(shape) => backward_persistent(&d_hs, saved, &w_hh_t, &dz, d, shape),
        None => backward_per_step(&d_hs, saved, &w_hh_t, &dz, d),
    }
    let d_bias = reshape(CubeBackend::float_sum_dim(dz.clone(), 0), &[four_h]);
    // h_{t−1} for every position with t ≥ 1 against that position's gate gradients (h_{−1} = 0).
    let d_w_hh = if d.steps > 1 {
        let h_prev = reshape(
            rows(s.hs, 0, d.steps - 1),
            &[(d.steps - 1) * d.batch, d.hidden],
        );
        let dz_next = rows(dz.clone(), d.batch, d.positions());
        matmul(CubeBackend::float_transpose(h_prev), dz_next)
    } else {
        zeros(&s.w_hh, &[d.hidden, four_h])
    };
    let (d_x, d_w_ih) = match &s.index {
        None => {
            let x = reshape(s.x, &[d.positions(), d.input]);
            let d_w_ih = matmul(CubeBackend::float_transpose(x), dz.clone());
            let d_x = need_x.then(|| {
                let dx = matmul(dz, CubeBackend::float_transpose(s.w_ih));
                reshape(dx, &[d.steps, d.batch, d.input])
            });
            (d_x, d_w_ih)
        }
        Some(index) => {
            // Each distinct row's gate gradient is the sum over the positions that read it.
            let count = s.x.shape()[0];
            let ids = ids_tensor(Some(index), &s.x);
            let dz_rows = CubeBackend::float_select_assign(
                zeros(&dz, &[count, four_h]),
                0,
                ids,
                dz,
                IndexingUpdateOp::Add,
            );
            let d_w_ih = matmul(CubeBackend::float_transpose(s.x), dz_rows.clone());
            let d_x = need_x.then(|| matmul(dz_rows, CubeBackend::float_transpose(s.w_ih)));
            (d_x, d_w_ih)
        }
    };
    let d_x = d_x.unwrap_or_else(|| zeros(&d_bias, &[0]));
    (d_x, d_w_ih, d_bias, d_w_hh)
}

fn backward_persistent(
    d_hs: &CubeTensor,
    [gates, cells, cells_tanh]: [CubeTensor; 3],
    w_hh_t: &CubeTensor,
    dz: &CubeTensor,
    d: Dims,
    (threads, tiling, cubes): (u32, Tiling, u32),
) {
    count_launch();
    // SAFETY: as for the forward; `dz`, the saved tensors and `d_hs` are `[T, B, ·]` by
    // construction.
    unsafe {
        kernels::backward_persistent::launch_unchecked(
            &d_hs.client,
            CubeCount::Static(cubes, 1, 1),
            CubeDim::new_1d(threads),
            d_hs.clone().into_tensor_arg(),
            gates.into_tensor_arg(),
            cells.into_tensor_arg(),
            cells_tanh.into_tensor_arg(),
            w_hh_t.clone().into_tensor_arg(),
            dz.clone().into_tensor_arg(),
            d.steps as u32,
            d.batch as u32,
            d.hidden,
            tiling.rows,
            tiling.units,
            dtype_to_storage_type(d_hs.dtype),
        )
    };
}

fn backward_per_step(
    d_hs: &CubeTensor,
    [gates, cells, cells_tanh]: [CubeTensor; 3],
    w_hh_t: &CubeTensor,
    dz: &CubeTensor,
    d: Dims,
) {
    let dc_state = empty(d_hs, &[d.batch, d.hidden]);
    let mut dz_next: Option<CubeTensor> = None;
    let (count, dim) = elementwise(d.batch * d.hidden);
    for t in (0..d.steps).rev() {
        // At the last step nothing comes back from the future: any tensor stands in.
        let rec = match &dz_next {
            Some(dz_next) => matmul(dz_next.clone(), w_hh_t.clone()),
            None => w_hh_t.clone(),
        };
        let dz_step = empty(d_hs, &[d.batch, 4 * d.hidden]);
        count_launch();
        // SAFETY: as for the forward step.
        unsafe {
            kernels::backward_step::launch_unchecked(
                &d_hs.client,
                count.clone(),
                dim,
                d_hs.clone().into_tensor_arg(),
                gates.clone().into_tensor_arg(),
                cells.clone().into_tensor_arg(),
                cells_tanh.clone().into_tensor_arg(),
                rec.into_tensor_arg(),
                dc_state.clone().into_tensor_arg(),
                dz.clone().into_tensor_arg(),
                dz_step.clone().into_tensor_arg(),
                t as u32,
                d.steps as u32,
                d.batch as u32,
                d.hidden,
                dtype_to_storage_type(d_hs.dtype),
            )
        };
        dz_next = Some(dz_step);
    }
}
