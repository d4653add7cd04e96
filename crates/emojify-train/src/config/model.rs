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
        }
    }

    /// The dropout rate (0 for a kind without dropout).
    pub fn dropout(&self) -> f64 {
        match self {
            ModelConfig::Lstm { dropout, .. } | ModelConfig::Mlp { dropout, .. } => *dropout,
            ModelConfig::MeanEmbedding {} => 0.0,
        }
    }

    /// Sets the dropout rate of a kind that has one (what cross-validation varies).
    pub fn set_dropout(&mut self, rate: f64) {
        if let ModelConfig::Lstm { dropout, .. } | ModelConfig::Mlp { dropout, .. } = self {
            *dropout = rate;
        }
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
