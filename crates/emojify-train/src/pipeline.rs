//! From a config to encoded splits and a model: the parts training and prediction share.

use anyhow::Context;
use burn::prelude::*;
use burn::store::{BurnpackStore, ModuleSnapshot, PathFilter};
use emojify_data::{DataDir, Embeddings, Encoded, Example, LabelledCsv, tokenize};
use emojify_model::{Classifier, LstmClassifierConfig, MeanEmbeddingConfig, TokenBatch};

use crate::config::{ModelConfig, RunConfig};

/// One split, tokenized and encoded, with what was lost on the way.
#[derive(Debug, Clone)]
pub struct Split {
    pub name: &'static str,
    pub examples: Vec<Example>,
    pub encoded: Vec<Encoded>,
    pub labels: Vec<usize>,
    pub skipped_rows: usize,
}

impl Split {
    pub fn oov_tokens(&self) -> usize {
        self.encoded.iter().map(|e| e.oov).sum()
    }
    pub fn truncated(&self) -> usize {
        self.encoded.iter().filter(|e| e.truncated > 0).count()
    }
    pub fn empty(&self) -> usize {
        self.encoded.iter().filter(|e| e.length == 0).count()
    }

    /// One line on what the tokenizer and vocabulary did to this split.
    pub fn report(&self) -> String {
        format!(
            "{}: {} sentences, {} out-of-vocabulary tokens, {} truncated, {} with no known word{}",
            self.name,
            self.examples.len(),
            self.oov_tokens(),
            self.truncated(),
            self.empty(),
            if self.skipped_rows > 0 {
                format!(", {} bad rows skipped", self.skipped_rows)
            } else {
                String::new()
            }
        )
    }
}

/// Encodes one sentence as the run's vocabulary and OOV policy dictate.
pub fn encode(config: &RunConfig, embeddings: &Embeddings, text: &str) -> Encoded {
    embeddings
        .vocab
        .encode(&tokenize(text), config.data.max_len, config.data.oov)
}

fn split(
    name: &'static str,
    csv: LabelledCsv,
    config: &RunConfig,
    embeddings: &Embeddings,
) -> Split {
    for row in &csv.skipped {
        eprintln!(
            "warning: {}:{}: skipped: {}",
            csv.file.display(),
            row.line,
            row.reason
        );
    }
    let encoded = csv
        .examples
        .iter()
        .map(|e| encode(config, embeddings, &e.text))
        .collect();
    Split {
        name,
        labels: csv.examples.iter().map(|e| e.label).collect(),
        examples: csv.examples,
        encoded,
        skipped_rows: csv.skipped.len(),
    }
}

/// Reads both splits of the config's data set.
pub fn load_splits(config: &RunConfig, embeddings: &Embeddings) -> anyhow::Result<(Split, Split)> {
    let dir = DataDir::new(config.data_dir.as_deref());
    let classes = config.num_classes();
    let read = |p: &std::path::Path| -> anyhow::Result<LabelledCsv> {
        let path = dir.resolve(p)?;
        Ok(emojify_data::read_labelled_csv(
            &path,
            classes,
            config.data.bad_rows,
        )?)
    };
    let train = split("train", read(&config.data.train)?, config, embeddings);
    let test = split("test", read(&config.data.test)?, config, embeddings);
    Ok((train, test))
}

/// Loads the embedding the config names.
pub fn load_embeddings(config: &RunConfig) -> anyhow::Result<Embeddings> {
    let dir = DataDir::new(config.data_dir.as_deref());
    emojify_data::fetch::load_embeddings(&config.embedding.source, &dir)
        .with_context(|| format!("loading embedding `{}`", config.embedding.source))
}

/// The embedding matrix as a tensor, with the extra zero "unknown" row when OOV words map to it.
pub fn embedding_tensor(config: &RunConfig, embeddings: &Embeddings, device: &Device) -> Tensor<2> {
    let (values, rows) = match config.data.oov {
        emojify_data::OovPolicy::Skip => (embeddings.matrix().to_vec(), embeddings.rows()),
        emojify_data::OovPolicy::Unk => (embeddings.matrix_with_unk_row(), embeddings.rows() + 1),
    };
    Tensor::from_data(TensorData::new(values, [rows, embeddings.dim]), device)
}

/// A freshly initialised model for the config.
pub fn build_model(config: &RunConfig, embeddings: &Embeddings, device: &Device) -> Classifier {
    let matrix = embedding_tensor(config, embeddings, device);
    match &config.model {
        ModelConfig::MeanEmbedding {} => Classifier::MeanEmbedding(
            MeanEmbeddingConfig::new(config.num_classes()).init(matrix, config.seed, device),
        ),
        ModelConfig::Lstm {
            hidden,
            layers,
            dropout,
            state,
        } => Classifier::Lstm(
            LstmClassifierConfig::new(config.num_classes())
                .with_hidden(*hidden)
                .with_layers(*layers)
                .with_dropout(*dropout)
                .with_state(*state)
                .init(matrix, config.seed, device),
        ),
    }
}

/// Turns encoded sentences into a model batch on `device`.
pub fn token_batch(encoded: &[&Encoded], device: &Device) -> TokenBatch {
    let max_len = encoded.first().map_or(1, |e| e.ids.len());
    let ids: Vec<i64> = encoded
        .iter()
        .flat_map(|e| e.ids.iter().map(|&i| i64::from(i)))
        .collect();
    TokenBatch {
        ids: Tensor::from_data(TensorData::new(ids, [encoded.len(), max_len]), device),
        lengths: encoded.iter().map(|e| e.length).collect(),
    }
}

/// Keeps trainable parameters only: the frozen embedding is identified by source and SHA-256
/// in the run's summary instead of being copied into every checkpoint.
fn trainable_only(path: &str, _container: &str) -> bool {
    !path.ends_with("embedding.weight")
}

/// The model's trainable weights as burnpack bytes.
pub fn weights_bytes(model: &Classifier) -> anyhow::Result<Vec<u8>> {
    let mut store =
        BurnpackStore::from_bytes(None).filter(PathFilter::new().with_predicate(trainable_only));
    model
        .save_into(&mut store)
        .map_err(|e| anyhow::anyhow!("serialising weights: {e}"))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| anyhow::anyhow!("serialising weights: {e}"))?;
    Ok(bytes.to_vec())
}

/// Loads trainable weights saved by [`weights_bytes`] into `model`.
pub fn load_weights(model: &mut Classifier, path: &std::path::Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    load_weights_bytes(model, bytes, &path.display().to_string())
}

/// [`load_weights`] from bytes; `what` names them in errors. Parameter ids are restored too,
/// which is what lets a checkpoint's optimizer state find its parameters again.
pub fn load_weights_bytes(
    model: &mut Classifier,
    bytes: Vec<u8>,
    what: &str,
) -> anyhow::Result<()> {
    let path = std::path::Path::new(what);
    let mut store = BurnpackStore::from_bytes(Some(burn::tensor::Bytes::from_bytes_vec(bytes)))
        .filter(PathFilter::new().with_predicate(trainable_only))
        .allow_partial(true);
    let result = model
        .load_from(&mut store)
        .map_err(|e| anyhow::anyhow!("{}: not a valid weights file: {e}", path.display()))?;
    anyhow::ensure!(
        result.errors.is_empty(),
        "{}: weights do not fit this model ({:?})",
        path.display(),
        result.errors
    );
    let missing: Vec<_> = result
        .missing
        .iter()
        .filter(|(p, _)| trainable_only(p, ""))
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "{}: weights file lacks {:?} (was it written for another model?)",
        path.display(),
        missing
    );
    Ok(())
}
