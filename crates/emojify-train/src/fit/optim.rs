//! The optimizer a config asks for, and stochastic weight averaging (`train.average_from`).

use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use emojify_model::Classifier;
use emojify_model::average::WeightMean;

use crate::config::{OptimizerKind, TrainConfig};
use crate::fit::weights::weights_bytes;

/// The configured optimizer (Adam with Keras' ε by default), with gradient-norm clipping when
/// the config asks for it.
pub fn optimizer(t: &TrainConfig) -> ModuleOptimizer {
    let clip = t
        .clip_grad_norm
        .map(|n| burn::optim::grad_clipping::GradientClippingConfig::Norm(n as f32));
    match t.optimizer {
        OptimizerKind::Sgd => SgdConfig::new().with_gradient_clipping(clip).init(),
        OptimizerKind::Adam => AdamConfig::new()
            .with_beta_1(t.beta1 as f32)
            .with_beta_2(t.beta2 as f32)
            .with_epsilon(t.epsilon as f32)
            .with_grad_clipping(clip)
            .init(),
    }
}

/// The running weight mean as bytes: its weights and how many epochs' weights it holds (what a
/// checkpoint keeps of [`Averaging`]).
pub struct Average {
    pub weights: Vec<u8>,
    pub points: usize,
}

/// Stochastic weight averaging as configured by `train.average_from`.
#[derive(Debug, Clone, Default)]
pub struct Averaging {
    from: Option<usize>,
    mean: Option<WeightMean>,
}

impl Averaging {
    pub fn new(t: &TrainConfig) -> Self {
        Self::from_epoch(t.average_from)
    }

    /// Averaging from the end of epoch `from` on (none: never).
    pub fn from_epoch(from: Option<usize>) -> Self {
        Self { from, mean: None }
    }

    /// Takes `model` into the mean if `epoch` (just finished) is one of the averaged ones.
    pub fn end_of_epoch(&mut self, model: &Classifier, epoch: usize) {
        if self.from.is_some_and(|from| epoch >= from) {
            match &mut self.mean {
                Some(mean) => mean.add(model),
                None => self.mean = Some(WeightMean::new(model)),
            }
        }
    }

    /// The mean as a checkpoint keeps it, once averaging has started.
    pub fn saved(&self, with_embedding: bool) -> anyhow::Result<Option<Average>> {
        self.mean
            .as_ref()
            .map(|mean| {
                Ok(Average {
                    weights: weights_bytes(mean.model(), with_embedding)?,
                    points: mean.count(),
                })
            })
            .transpose()
    }

    /// Continues from a saved mean (`mean` holding its weights) of `points` epochs.
    pub fn resume(&mut self, mean: Classifier, points: usize) {
        self.mean = Some(WeightMean::resume(mean, points));
    }

    /// The model to evaluate and keep: the mean once averaging has started, else `model`.
    pub fn evaluated(&self, model: &Classifier) -> Classifier {
        match &self.mean {
            Some(mean) => mean.model().clone(),
            None => model.valid(),
        }
    }
}
