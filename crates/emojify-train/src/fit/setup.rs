//! What fitting one network starts from, assembled in one place for runs, strategies and
//! experiments alike: the model (its encoder taken from a pretrained start when there is one),
//! the configured optimizer and the weight averaging ([`Training::new`]).

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use emojify_data::Embeddings;
use emojify_model::Classifier;

use crate::config::RunConfig;
use crate::fit::model::build_model_from;
use crate::fit::optim::{Averaging, optimizer};
use crate::inputs::embedding::embedding_tensor;

/// A model being trained, its optimizer and its weight averaging.
pub struct Training {
    pub model: Classifier,
    pub optim: ModuleOptimizer,
    pub averaging: Averaging,
}

impl Training {
    /// A fresh model for `config` on `device` (an autodiff device) — its encoder taken from
    /// `start`, a network pretrained on another corpus, when there is one — the configured
    /// optimizer and averaging as `train.average_from` asks.
    pub fn new(
        config: &RunConfig,
        embeddings: &Embeddings,
        device: &Device,
        start: Option<&Classifier>,
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
        start: Option<&Classifier>,
    ) -> anyhow::Result<Self> {
        let mut model = build_model_from(config, matrix, device);
        if let Some(start) = start {
            let freeze = config.pretrain.as_ref().is_some_and(|p| p.freeze);
            model.take_encoder(start, freeze)?;
        }
        Ok(Training {
            model,
            optim: optimizer(&config.train),
            averaging: Averaging::new(&config.train),
        })
    }
}
