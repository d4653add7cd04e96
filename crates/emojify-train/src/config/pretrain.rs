//! `[pretrain]`: the corpus and schedule a run's network is first trained on; with the checks
//! of its own keys (which run it may start is checked with the rest of the config).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::error::{ConfigError, Fail};

/// `[pretrain]`: the run's network, with a head for the corpus' classes, is first trained on
/// a `class,0,…,N` token file (SST-2's reviews); its LSTM layers (and pooling) start the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PretrainConfig {
    /// The corpus, found through the data-directory lookup.
    pub train: PathBuf,
    /// The corpus' classes, as its first column spells them.
    pub labels: Vec<String>,
    /// Tokens read per review (SST-2's run to 55).
    #[serde(default = "default_pretrain_max_len")]
    pub max_len: usize,
    pub epochs: usize,
    #[serde(default = "default_pretrain_learning_rate")]
    pub learning_rate: f64,
    #[serde(default = "default_pretrain_batch_size")]
    pub batch_size: usize,
    /// Keep the pretrained layers as they are: the run trains its head only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub freeze: bool,
}

fn default_pretrain_max_len() -> usize {
    30
}
fn default_pretrain_learning_rate() -> f64 {
    0.001
}
fn default_pretrain_batch_size() -> usize {
    32
}

impl PretrainConfig {
    /// Checks of `[pretrain]`'s own keys.
    pub(super) fn check(&self, fail: &Fail) -> Result<(), ConfigError> {
        let fail = |key: &str, reason: &str| Err(fail.at(Some("pretrain"), key, reason.into()));
        if self.labels.len() < 2 {
            return fail("labels", "must name at least two classes");
        }
        if self.epochs == 0 {
            return fail("epochs", "must be at least 1");
        }
        if self.batch_size == 0 {
            return fail("batch_size", "must be at least 1");
        }
        if self.max_len == 0 {
            return fail("max_len", "must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return fail("learning_rate", "must be positive");
        }
        Ok(())
    }
}
