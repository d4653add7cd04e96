//! A freshly initialised model for a config: the config's model section mapped onto the model
//! crate's builders, with the input layer (embedding or numeric steps) the data kind needs. The
//! one place in this crate that knows which model kinds exist; a new kind is one more arm of
//! [`build_model_from`]. Also the embedding matrix that several networks share
//! ([`SharedMatrix`]).

use burn::prelude::*;
use emojify_data::Embeddings;
use emojify_model::{
    Classifier, CnnConfig, InputLayer, LstmClassifierConfig, MeanEmbeddingConfig, MlpConfig,
};

use crate::config::{ModelConfig, RunConfig};
use crate::inputs::embedding::embedding_tensor;

/// A freshly initialised model for the config.
pub fn build_model(config: &RunConfig, embeddings: &Embeddings, device: &Device) -> Classifier {
    build_model_from(
        config,
        &|| embedding_tensor(config, embeddings, device),
        device,
    )
}

/// [`build_model`] with the embedding matrix from `matrix` (asked only by models that look
/// words up). Networks given clones of one tensor share its memory — burn counts references —
/// which is how an opened ensemble holds one 80 MB GloVe matrix instead of one per network.
pub fn build_model_from(
    config: &RunConfig,
    matrix: &dyn Fn() -> Tensor<2>,
    device: &Device,
) -> Classifier {
    let classes = config.num_classes();
    let input = || {
        if config.data.kind.numeric() {
            InputLayer::Values { features: 1 }
        } else {
            InputLayer::Embedding {
                matrix: matrix(),
                trainable: config.embedding.trainable,
            }
        }
    };
    match &config.model {
        ModelConfig::MeanEmbedding {} => Classifier::MeanEmbedding(
            MeanEmbeddingConfig::new(classes).init(matrix(), config.seed, device),
        ),
        ModelConfig::Lstm {
            hidden,
            layers,
            dropout,
            state,
            bidirectional,
            word_mean,
        } => Classifier::Lstm(
            LstmClassifierConfig::new(classes)
                .with_hidden(*hidden)
                .with_layers(*layers)
                .with_dropout(*dropout)
                .with_state(*state)
                .with_bidirectional(*bidirectional)
                .with_word_mean(*word_mean)
                .init(input(), config.seed, device),
        ),
        ModelConfig::Mlp { hidden, dropout } => Classifier::Mlp(
            MlpConfig::new(classes, config.data.max_len)
                .with_hidden(*hidden)
                .with_dropout(*dropout)
                .init(input(), config.seed, device),
        ),
        ModelConfig::Cnn {
            channels,
            kernels,
            pools,
            dropout,
        } => Classifier::Cnn(
            // The config check guarantees pixels-csv's height and width (1 otherwise).
            CnnConfig::new(
                classes,
                config.data.height.unwrap_or(1),
                config.data.width.unwrap_or(1),
                channels.clone(),
                kernels.clone(),
                pools.clone(),
            )
            .with_dropout(*dropout)
            .init(config.seed, device),
        ),
    }
}

/// The embedding matrix of a run's networks. A frozen one is built on first use and handed out
/// as clones: burn counts references, so every network given one shares the same 80 MB of
/// GloVe. A trainable one is built anew for each network, which trains its own.
pub struct SharedMatrix<'a> {
    cell: std::cell::OnceCell<Tensor<2>>,
    config: &'a RunConfig,
    embeddings: &'a Embeddings,
    device: Device,
}

impl<'a> SharedMatrix<'a> {
    /// The matrix `config` builds from `embeddings` on `device`, not built yet.
    pub fn new(config: &'a RunConfig, embeddings: &'a Embeddings, device: &Device) -> Self {
        SharedMatrix {
            cell: std::cell::OnceCell::new(),
            config,
            embeddings,
            device: device.clone(),
        }
    }

    /// The matrix for one more network: a clone of the shared one (built now if this is the
    /// first), or a fresh copy for a trainable embedding.
    pub fn get(&self) -> Tensor<2> {
        let build = || embedding_tensor(self.config, self.embeddings, &self.device);
        if self.config.embedding.trainable {
            return build();
        }
        self.cell.get_or_init(build).clone()
    }
}
