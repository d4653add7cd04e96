//! The input vocabulary and vectors of a run: GloVe (or another pretrained source) from the data
//! crate, or one built from the training file's tokens; and the matrix as the tensor the model's
//! embedding layer holds. (A trained run's own saved vocabulary is read where runs are opened.)

use anyhow::Context;
use burn::prelude::*;
use emojify_data::vocab::OOV_TOKEN;
use emojify_data::{DataDir, Embeddings, Observer, SequenceCsv};
use rand::SeedableRng;

use crate::config::{DataKind, EmbeddingInit, RunConfig};
use crate::inputs::files::read_sequence;

/// The input vocabulary and vectors the config names: the pretrained embedding (emojiset), one
/// built from the training file's tokens (tokens-csv), or none (numbers: sequences, pixels).
pub fn load_embeddings(config: &RunConfig, obs: &dyn Observer) -> anyhow::Result<Embeddings> {
    match config.data.kind {
        DataKind::Emojiset | DataKind::TextLabels => load_pretrained(config, obs),
        DataKind::SequenceCsv | DataKind::PixelsCsv => Ok(Embeddings::from_rows(
            Vec::new(),
            &[],
            1,
            "none (numeric input)".into(),
            "none".into(),
        )),
        DataKind::TokensCsv => {
            let train = read_sequence(config, &config.data.train)?;
            embeddings_for_vocabulary(config, training_vocabulary(&train), obs)
        }
    }
}

/// Every token of the training file, plus the out-of-vocabulary token, sorted and unique.
pub(crate) fn training_vocabulary(train: &SequenceCsv) -> Vec<String> {
    let mut words: Vec<String> = train
        .examples
        .iter()
        .flat_map(|e| e.tokens.iter().cloned())
        .collect();
    words.push(OOV_TOKEN.into());
    words.sort_unstable();
    words.dedup();
    words
}

fn load_pretrained(config: &RunConfig, obs: &dyn Observer) -> anyhow::Result<Embeddings> {
    let dir = DataDir::new(config.data_dir.as_deref());
    emojify_data::fetch::load_embeddings(&config.embedding.source, &dir, obs)
        .with_context(|| format!("loading embedding `{}`", config.embedding.source))
}

/// Initial vectors for a training-set vocabulary: random (`embedding.init`: Keras' U(±0.05) or
/// PyTorch's N(0, 1)), or GloVe's vector for every word GloVe knows and N(0, σ²) with GloVe's own σ for the rest.
/// The identity (SHA-256) covers the words and, when used, the GloVe source, so a run is only
/// reloaded with the vocabulary it was trained with.
pub fn embeddings_for_vocabulary(
    config: &RunConfig,
    words: Vec<String>,
    obs: &dyn Observer,
) -> anyhow::Result<Embeddings> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed ^ 0xE3B0_C442);
    let mut identity = words.join("\n");
    let (dim, rows, source) = if config.embedding.is_none() {
        use rand::RngExt as _;
        let dim = config.embedding.dim;
        let n = words.len() * dim;
        let (rows, how): (Vec<f32>, _) = match config.embedding.init {
            EmbeddingInit::Normal => (
                emojify_model::init::normal_values(n, &mut rng)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect(),
                "N(0, 1)",
            ),
            EmbeddingInit::Uniform => (
                (0..n).map(|_| rng.random_range(-0.05f32..0.05)).collect(),
                "U(-0.05, 0.05)",
            ),
        };
        (
            dim,
            rows,
            format!("{} training words, random {how}", words.len()),
        )
    } else {
        let glove = load_pretrained(config, obs)?;
        let m = glove.matrix();
        let sigma =
            (m.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / m.len().max(1) as f64).sqrt();
        let noise = emojify_model::init::normal_values(words.len() * glove.dim, &mut rng);
        let mut rows = Vec::with_capacity(words.len() * glove.dim);
        let mut known = 0;
        for (i, w) in words.iter().enumerate() {
            match glove.word_vector(w) {
                Some(v) => {
                    known += 1;
                    rows.extend_from_slice(v);
                }
                None => rows.extend(
                    noise[i * glove.dim..(i + 1) * glove.dim]
                        .iter()
                        .map(|v| (v * sigma) as f32),
                ),
            }
        }
        identity.push_str(&glove.sha256);
        let source = format!(
            "{} training words, {known} initialised from {}",
            words.len(),
            glove.source
        );
        (glove.dim, rows, source)
    };
    let sha = emojify_data::hash::sha256_hex(identity.as_bytes());
    Ok(Embeddings::from_rows(words, &rows, dim, source, sha))
}

/// Whether the run's weights include the embedding: a vocabulary built from the training data
/// has no outside source to be reloaded from, frozen or not.
pub fn stores_embedding(config: &RunConfig) -> bool {
    config.data.kind == DataKind::TokensCsv
}

/// The embedding matrix as a tensor, with the extra zero "unknown" row when OOV words map to it.
pub fn embedding_tensor(config: &RunConfig, embeddings: &Embeddings, device: &Device) -> Tensor<2> {
    let (values, rows) = match config.data.oov {
        emojify_data::OovPolicy::Skip | emojify_data::OovPolicy::OovToken => {
            (embeddings.matrix().to_vec(), embeddings.rows())
        }
        emojify_data::OovPolicy::Unk => (embeddings.matrix_with_unk_row(), embeddings.rows() + 1),
    };
    Tensor::from_data(TensorData::new(values, [rows, embeddings.dim]), device)
}
