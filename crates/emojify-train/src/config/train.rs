//! `[train]`: the optimizer and its schedule, checkpoints, augmentation, weight averaging,
//! calibration and ensembles; with the checks of its own keys.

use serde::{Deserialize, Serialize};

use crate::config::error::{ConfigError, Fail};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    Sgd,
    Adam,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub optimizer: OptimizerKind,
    pub learning_rate: f64,
    pub epochs: usize,
    /// 1 = per-example SGD, as the course trains V1.
    pub batch_size: usize,
    /// Reshuffle the training set every epoch (from the run's seed).
    #[serde(default = "default_true")]
    pub shuffle: bool,
    /// Print loss and accuracy every this many epochs.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    /// Adam's ε; Keras uses 1e-7 (burn's default is 1e-5).
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    /// Write a checkpoint (weights, optimizer state, position) every N epochs; 0 = never.
    /// `emojify train --resume RUN_DIR` continues from it.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
    /// Rescale each step's gradients to at most this global L2 norm (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_grad_norm: Option<f64>,
    /// Training only: each token of each batch becomes padding with this probability (word
    /// dropout, a regulariser for small text sets); 0 = off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub word_dropout: f64,
    /// Stochastic weight averaging: from the end of this epoch on, the model evaluated, saved
    /// and exported is the mean of the weights at the end of every epoch so far (none = off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_from: Option<usize>,
    /// Temperature scaling: after training, this many models are trained on folds of the
    /// training split, and the temperature that best fits their held-out predictions (least
    /// negative log-likelihood) is stored in the run and applied by every command that opens it
    /// (none = off; at least 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrate_folds: Option<usize>,
    /// Train this many networks (seeds drawn from `seed`, each with its own pretraining) and
    /// answer with the mean of their probabilities: averaging independent mistakes is what
    /// a network trained on a few hundred sentences most lacks (1 = one network).
    #[serde(default = "default_ensemble", skip_serializing_if = "is_one")]
    pub ensemble: usize,
    /// Training only: each token of each batch is replaced, with this probability, by one of its
    /// `neighbours` nearest words in the pretrained embedding (cosine) — lexical variety the
    /// 132 sentences lack; 0 = off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub neighbour_swap: f64,
    /// How many nearest words `neighbour_swap` draws from.
    #[serde(default = "default_neighbours")]
    pub neighbours: usize,
    /// Negation the 132 sentences hardly show: with this probability per batch, a sentence whose
    /// label `negation_labels` maps is negated — "not" after its first copula (is, am, are,
    /// was, were, be, feel, feeling), else "do not" before its first of love, like, adore,
    /// enjoy — and takes the mapped label; 0 = off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub negate: f64,
    /// `[from, to]` label pairs for `negate` (e.g. `["😊", "😞"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub negation_labels: Vec<[String; 2]>,
}

fn default_neighbours() -> usize {
    5
}

/// The most networks `train.ensemble` trains: each costs a full training.
pub const MAX_ENSEMBLE: usize = 16;

fn default_ensemble() -> usize {
    1
}

/// Serde's "leave it out" test for counts whose default is 1.
pub(super) fn is_one(v: &usize) -> bool {
    *v == 1
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn default_checkpoint_every() -> usize {
    10
}

fn default_true() -> bool {
    true
}
fn default_log_every() -> usize {
    50
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_epsilon() -> f64 {
    1e-7
}

impl TrainConfig {
    /// Range checks of `[train]`'s own keys.
    pub(super) fn check(&self, fail: &Fail) -> Result<(), ConfigError> {
        let fail = |key: &str, reason: String| fail.at(Some("train"), key, reason);
        let t = self;
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            return Err(fail(
                "learning_rate",
                format!("must be a positive number, got {}", t.learning_rate),
            ));
        }
        if t.epochs == 0 {
            return Err(fail("epochs", "must be at least 1".into()));
        }
        if t.batch_size == 0 {
            return Err(fail("batch_size", "must be at least 1".into()));
        }
        if t.log_every == 0 {
            return Err(fail("log_every", "must be at least 1".into()));
        }
        for (key, v) in [
            ("beta1", t.beta1),
            ("beta2", t.beta2),
            ("word_dropout", t.word_dropout),
            ("neighbour_swap", t.neighbour_swap),
            ("negate", t.negate),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(fail(key, format!("must be in [0, 1), got {v}")));
            }
        }
        if let Some(n) = t.clip_grad_norm
            && !(n.is_finite() && n > 0.0)
        {
            return Err(fail(
                "clip_grad_norm",
                format!("must be a positive number, got {n}"),
            ));
        }
        if !(1..=MAX_ENSEMBLE).contains(&t.ensemble) {
            return Err(fail(
                "ensemble",
                format!(
                    "must be from 1 to {MAX_ENSEMBLE} networks, got {}",
                    t.ensemble
                ),
            ));
        }
        if let Some(k) = t.calibrate_folds
            && k < 2
        {
            return Err(fail(
                "calibrate_folds",
                format!("must be at least 2 folds, got {k}"),
            ));
        }
        if let Some(e) = t.average_from
            && !(1..=t.epochs).contains(&e)
        {
            return Err(fail(
                "average_from",
                format!(
                    "must be an epoch from 1 to `epochs` ({}), got {e}",
                    t.epochs
                ),
            ));
        }
        if !(t.epsilon.is_finite() && t.epsilon > 0.0) {
            return Err(fail(
                "epsilon",
                format!("must be positive, got {}", t.epsilon),
            ));
        }
        if t.neighbour_swap > 0.0 && t.neighbours == 0 {
            return Err(fail(
                "neighbours",
                "must be at least 1 when neighbour_swap is on".into(),
            ));
        }
        Ok(())
    }
}
