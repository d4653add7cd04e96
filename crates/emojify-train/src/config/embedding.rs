//! `[embedding]`: where word vectors come from, and whether they train; with the checks of its
//! own keys.

use serde::{Deserialize, Serialize};

use crate::config::error::{ConfigError, Fail};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// `glove-6b-50d` (registry package), a path to a GloVe `.txt`/`.txt.gz` or `.emjv` cache,
    /// or `none`: random initial vectors (`tokens-csv`) or no embedding (`sequence-csv`).
    #[serde(default = "default_embedding")]
    pub source: String,
    /// Whether training updates the embedding (only for `tokens-csv`; the Emojifier's pretrained
    /// embedding is frozen).
    #[serde(default)]
    pub trainable: bool,
    /// Vector size when `source = "none"` (tokens-csv); pretrained sources bring their own.
    #[serde(default = "default_embedding_dim")]
    pub dim: usize,
    /// Random start of a `source = "none"` embedding.
    #[serde(default)]
    pub init: EmbeddingInit,
}

/// How a trained-from-scratch embedding starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmbeddingInit {
    /// U(-0.05, 0.05), Keras' `Embedding` default.
    #[default]
    Uniform,
    /// N(0, 1), PyTorch's `nn.Embedding` default.
    Normal,
}

impl Default for EmbeddingConfig {
    fn default() -> Self {
        EmbeddingConfig {
            source: default_embedding(),
            trainable: false,
            dim: default_embedding_dim(),
            init: EmbeddingInit::default(),
        }
    }
}

impl EmbeddingConfig {
    /// Whether the config names no pretrained vectors.
    pub fn is_none(&self) -> bool {
        self.source == "none"
    }
}

fn default_embedding_dim() -> usize {
    32
}

fn default_embedding() -> String {
    "glove-6b-50d".into()
}

impl EmbeddingConfig {
    /// Checks of `[embedding]`'s own keys.
    pub(super) fn check(&self, fail: &Fail) -> Result<(), ConfigError> {
        if self.dim == 0 {
            return Err(fail.at(Some("embedding"), "dim", "must be at least 1".into()));
        }
        Ok(())
    }
}
