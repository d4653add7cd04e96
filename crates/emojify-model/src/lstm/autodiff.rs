//! The LSTM layer under autodiff: one graph node whose forward and backward are the inner
//! backend's [`LstmLayer::lstm_layer_forward`] and [`LstmLayer::lstm_layer_backward`]. Written
//! once for any inner backend that implements them, so a GPU kernel trains as the CPU one does.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend};

use super::op::{LstmLayer, LstmSaved, RowIndex};

impl<B: LstmLayer, C: CheckpointStrategy> LstmLayer for Autodiff<B, C> {
    fn lstm_layer(
        x: FloatTensor<Self>,
        index: Option<RowIndex>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let inputs = [x, w_ih, bias, w_hh];
        let nodes = inputs.each_ref().map(|t| t.node());
        let [x, w_ih, bias, w_hh] = inputs.map(|t| t.into_primitive());
        match LayerBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (hs, saved) = B::lstm_layer_forward(x, index, w_ih, bias, w_hh);
                prep.finish(saved, hs)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::lstm_layer(x, index, w_ih, bias, w_hh)),
        }
    }

    /// The inner backend's training forward on the inner tensors, outside the graph (to run
    /// the kernels' two halves by hand, as the tests do).
    fn lstm_layer_forward(
        x: FloatTensor<Self>,
        index: Option<RowIndex>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, LstmSaved<Self>) {
        let [x, w_ih, bias, w_hh] = [x, w_ih, bias, w_hh].map(Self::inner);
        let (hs, saved) = B::lstm_layer_forward(x, index, w_ih, bias, w_hh);
        (Self::from_inner(hs), saved.map(Self::from_inner))
    }

    /// The inner backend's backward, outside the graph (see [`Self::lstm_layer_forward`]).
    fn lstm_layer_backward(
        s: LstmSaved<Self>,
        d_hs: FloatTensor<Self>,
        need_x: bool,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        let (dx, dw_ih, dbias, dw_hh) =
            B::lstm_layer_backward(s.map(Self::inner), Self::inner(d_hs), need_x);
        (
            Self::from_inner(dx),
            Self::from_inner(dw_ih),
            Self::from_inner(dbias),
            Self::from_inner(dw_hh),
        )
    }
}

/// The backward step of the layer's graph node.
#[derive(Debug)]
struct LayerBackward;

impl<B: LstmLayer> Backward<B, 4> for LayerBackward {
    type State = LstmSaved<B>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x, w_ih, bias, w_hh] = ops.parents;
        let d_hs = grads.consume::<B>(&ops.node);
        // A frozen embedding below the first layer needs no input gradient.
        let (dx, d_w_ih, d_bias, d_w_hh) = B::lstm_layer_backward(ops.state, d_hs, x.is_some());
        if let Some(node) = x {
            grads.register::<B>(node.id, dx);
        }
        for (node, grad) in [(w_ih, d_w_ih), (bias, d_bias), (w_hh, d_w_hh)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}
