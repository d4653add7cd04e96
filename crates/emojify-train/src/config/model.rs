//! `[model]`: which kind of network, and its sizes; with the checks of its own keys. A new
//! model kind is one more variant here (its keys, [`ModelConfig::kind_name`], and its checks),
//! one arm of the builder `crate::fit::model::build_model_from`, and its module in the model
//! crate.

use serde::{Deserialize, Serialize};

use crate::config::error::{ConfigError, Fail};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ModelConfig {
    /// Emojifier-V1: mean of word vectors → linear.
    MeanEmbedding {},
    /// Emojifier-V2: stacked LSTMs over the frozen embedding → dropout → dense.
    Lstm {
        #[serde(default = "default_hidden")]
        hidden: usize,
        #[serde(default = "default_layers")]
        layers: usize,
        #[serde(default = "default_dropout")]
        dropout: f64,
        #[serde(default)]
        state: emojify_model::StateChoice,
        /// The first layer reads each sentence both ways.
        #[serde(default)]
        bidirectional: bool,
        /// The classifier also reads the mean word vector (V1's input) beside the state.
        /// Not written when off, so configs without it serialize as before.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        word_mean: bool,
    },
    /// Baseline that ignores order: the flattened sequence → dense + ReLU → dense.
    Mlp {
        #[serde(default = "default_mlp_hidden")]
        hidden: usize,
        #[serde(default)]
        dropout: f64,
    },
    /// Convolutional network over `pixels-csv` images: per layer a square `kernels[i]` convolution
    /// with `channels[i]` filters (stride 1, no padding, as Keras' `Conv2D` by default) and ReLU,
    /// then max-pooling over square `pools[i]` windows (1, or `pools` left out: none); flattened
    /// → dropout → dense.
    Cnn {
        channels: Vec<usize>,
        kernels: Vec<usize>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pools: Vec<usize>,
        #[serde(default)]
        dropout: f64,
    },
}

fn default_mlp_hidden() -> usize {
    64
}

fn default_hidden() -> usize {
    128
}
fn default_layers() -> usize {
    2
}
fn default_dropout() -> f64 {
    0.5
}

impl ModelConfig {
    /// The kind as `model.kind` spells it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            ModelConfig::MeanEmbedding {} => "mean-embedding",
            ModelConfig::Lstm { .. } => "lstm",
            ModelConfig::Mlp { .. } => "mlp",
            ModelConfig::Cnn { .. } => "cnn",
        }
    }

    /// The dropout rate (0 for a kind without dropout).
    pub fn dropout(&self) -> f64 {
        match self {
            ModelConfig::Lstm { dropout, .. }
            | ModelConfig::Mlp { dropout, .. }
            | ModelConfig::Cnn { dropout, .. } => *dropout,
            ModelConfig::MeanEmbedding {} => 0.0,
        }
    }

    /// Sets the dropout rate of a kind that has one (what cross-validation varies).
    pub fn set_dropout(&mut self, rate: f64) {
        if let ModelConfig::Lstm { dropout, .. }
        | ModelConfig::Mlp { dropout, .. }
        | ModelConfig::Cnn { dropout, .. } = self
        {
            *dropout = rate;
        }
    }

    /// A CNN's output height, width and channels for a `height × width` image, or why its
    /// kernels and pools do not fit the image. `Ok(None)` for other kinds.
    pub fn cnn_output(&self, height: usize, width: usize) -> Result<Option<[usize; 3]>, String> {
        let ModelConfig::Cnn {
            channels,
            kernels,
            pools,
            ..
        } = self
        else {
            return Ok(None);
        };
        let shapes = emojify_model::cnn::layer_shapes(height, width, kernels, pools)?;
        Ok(shapes
            .last()
            .zip(channels.last())
            .map(|((_, [h, w]), &c)| [*h, *w, c]))
    }

    /// Checks of `[model]`'s own keys.
    pub(super) fn check(&self, fail: &Fail) -> Result<(), ConfigError> {
        let fail = |key: &str, reason: String| fail.at(Some("model"), key, reason);
        let (hidden, layers, dropout) = match *self {
            ModelConfig::MeanEmbedding {} => (1, 1, 0.0),
            ModelConfig::Lstm {
                hidden,
                layers,
                dropout,
                ..
            } => (hidden, layers, dropout),
            ModelConfig::Mlp { hidden, dropout } => (hidden, 1, dropout),
            ModelConfig::Cnn {
                ref channels,
                ref kernels,
                ref pools,
                dropout,
            } => {
                if channels.is_empty() || channels.len() != kernels.len() {
                    return Err(fail(
                        "kernels",
                        format!(
                            "needs one kernel size per convolution: {} channels, {} kernels",
                            channels.len(),
                            kernels.len()
                        ),
                    ));
                }
                if !pools.is_empty() && pools.len() != channels.len() {
                    return Err(fail(
                        "pools",
                        format!(
                            "needs one pooling size per convolution (1: none), got {} for {}",
                            pools.len(),
                            channels.len()
                        ),
                    ));
                }
                for (key, sizes) in [
                    ("channels", channels),
                    ("kernels", kernels),
                    ("pools", pools),
                ] {
                    if sizes.contains(&0) {
                        return Err(fail(key, "must all be at least 1".into()));
                    }
                }
                (1, 1, dropout)
            }
        };
        if hidden == 0 {
            return Err(fail("hidden", "must be at least 1".into()));
        }
        if layers == 0 {
            return Err(fail("layers", "must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&dropout) {
            return Err(fail("dropout", format!("must be in [0, 1), got {dropout}")));
        }
        Ok(())
    }
}
