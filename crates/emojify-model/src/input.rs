//! What a classifier reads: token ids looked up in an embedding (frozen or trained), or numbers
//! fed to the network directly (numeric sequences, one feature per step).

use burn::module::Param;
use burn::nn::Embedding;
use burn::prelude::*;

use crate::LayerSummary;

/// A padded batch's contents.
#[derive(Debug, Clone)]
pub enum Input {
    /// Token ids `[batch, steps]`, 0 = padding.
    Ids(Tensor<2, Int>),
    /// Numbers `[batch, steps, features]`.
    Values(Tensor<3>),
}

/// A padded batch with each row's true length (steps before the padding).
#[derive(Debug, Clone)]
pub struct SeqBatch {
    pub input: Input,
    pub lengths: Vec<usize>,
}

impl SeqBatch {
    pub fn batch_size(&self) -> usize {
        self.lengths.len()
    }
}

/// How a model's input layer is built. (Built once per model, so the size difference between
/// the variants does not matter.)
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum InputLayer {
    /// An embedding initialised from `matrix` (`[rows, dim]`, row 0 = padding).
    Embedding { matrix: Tensor<2>, trainable: bool },
    /// No embedding: each step already holds `features` numbers.
    Values { features: usize },
}

impl InputLayer {
    /// The frozen, pretrained embedding of the Emojifier models.
    pub fn frozen(matrix: Tensor<2>) -> Self {
        InputLayer::Embedding {
            matrix,
            trainable: false,
        }
    }

    /// Numbers per step after this layer.
    pub fn features(&self) -> usize {
        match self {
            InputLayer::Embedding { matrix, .. } => matrix.dims()[1],
            InputLayer::Values { features } => *features,
        }
    }

    /// The embedding module, if any. A frozen one never gets a gradient.
    pub fn build(self, device: &Device) -> Option<Embedding> {
        match self {
            InputLayer::Embedding { matrix, trainable } => {
                Some(embedding_layer(matrix, trainable, device))
            }
            InputLayer::Values { .. } => None,
        }
    }

    /// Whether training updates this layer.
    pub fn trainable(&self) -> bool {
        matches!(
            self,
            InputLayer::Embedding {
                trainable: true,
                ..
            }
        )
    }
}

/// An embedding module holding `matrix` on `device`; a frozen one never gets a gradient.
pub fn embedding_layer(matrix: Tensor<2>, trainable: bool, device: &Device) -> Embedding {
    Embedding {
        weight: Param::from_tensor(matrix.to_device(device)).set_require_grad(trainable),
    }
}

/// The batch as `[batch, steps, features]`. Ids given to a model without an embedding are read as
/// numbers, so no pairing of model and input can fail here.
pub fn sequence(embedding: Option<&Embedding>, input: &Input) -> Tensor<3> {
    match (embedding, input) {
        (Some(e), Input::Ids(ids)) => e.forward(ids.clone()),
        (None, Input::Ids(ids)) => ids.clone().float().unsqueeze_dim(2),
        (_, Input::Values(v)) => v.clone(),
    }
}

/// The summary row of the input layer, if it has parameters.
/// (`trainable` is the module's own record of it: a parameter's flag is not readable back.)
pub fn summary_row(
    embedding: Option<&Embedding>,
    trainable: bool,
    steps: usize,
) -> Option<LayerSummary> {
    let e = embedding?;
    let [rows, dim] = e.weight.dims();
    Some(LayerSummary {
        name: "embedding".into(),
        kind: if trainable {
            "Embedding".into()
        } else {
            "Embedding, frozen".into()
        },
        output_shape: format!("(None, {steps}, {dim})"),
        params: rows * dim,
        trainable,
    })
}
