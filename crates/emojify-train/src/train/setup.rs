//! What training is made of, assembled in one place for `train`, `cv` and `bench` alike: the
//! model, the configured optimizer and the weight averaging ([`Training::new`]).

use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use emojify_data::Embeddings;
use emojify_model::Classifier;
use emojify_model::average::WeightMean;

use crate::checkpoint;
use crate::config::{OptimizerKind, RunConfig, TrainConfig};
use crate::embedding::embedding_tensor;
use crate::model::build_model_from;
use crate::pretrain::Pretrained;
use crate::weights::weights_bytes;

/// A model being trained, its optimizer and its weight averaging.
pub struct Training {
    pub model: Classifier,
    pub optim: ModuleOptimizer,
    pub averaging: Averaging,
}

impl Training {
    /// A fresh model for `config` on `device` (an autodiff device) — its recurrent layers taken
    /// from `start` when pretrained — the configured optimizer and averaging as
    /// `train.average_from` asks.
    pub fn new(
        config: &RunConfig,
        embeddings: &Embeddings,
        device: &Device,
        start: Option<&Pretrained>,
    ) -> anyhow::Result<Self> {
        Self::new_from(
            config,
            &|| embedding_tensor(config, embeddings, device),
            device,
            start,
        )
    }

    /// [`Training::new`] with the embedding matrix from `matrix` ([`build_model_from`]).
    pub fn new_from(
        config: &RunConfig,
        matrix: &dyn Fn() -> Tensor<2>,
        device: &Device,
        start: Option<&Pretrained>,
    ) -> anyhow::Result<Self> {
        let mut model = build_model_from(config, matrix, device);
        if let Some(start) = start {
            match (&mut model, &start.model) {
                (Classifier::Lstm(m), Classifier::Lstm(from)) => {
                    m.take_encoder(from)?;
                    if config.pretrain.as_ref().is_some_and(|p| p.freeze) {
                        m.freeze_encoder();
                    }
                }
                _ => anyhow::bail!("pretraining transfers LSTM layers; this model has none"),
            }
        }
        Ok(Training {
            model,
            optim: optimizer(&config.train),
            averaging: Averaging::new(&config.train),
        })
    }
}

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

/// Stochastic weight averaging as configured by `train.average_from`.
#[derive(Debug, Clone, Default)]
pub struct Averaging {
    from: Option<usize>,
    pub(crate) mean: Option<WeightMean>,
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
    pub fn checkpoint(&self, with_embedding: bool) -> anyhow::Result<Option<checkpoint::Average>> {
        self.mean
            .as_ref()
            .map(|mean| {
                Ok(checkpoint::Average {
                    weights: weights_bytes(mean.model(), with_embedding)?,
                    points: mean.count(),
                })
            })
            .transpose()
    }

    /// The model to evaluate and keep: the mean once averaging has started, else `model`.
    pub fn evaluated(&self, model: &Classifier) -> Classifier {
        match &self.mean {
            Some(mean) => mean.model().clone(),
            None => model.valid(),
        }
    }
}
