//! From a config to encoded splits and a model: the parts training and prediction share.

use anyhow::Context;
use burn::prelude::*;
use burn::store::{BurnpackStore, ModuleSnapshot, PathFilter};
use emojify_data::vocab::OOV_TOKEN;
use emojify_data::{
    DataDir, Embeddings, Encoded, Example, LabelledCsv, SequenceCsv, StepKind, read_sequence_csv,
    tokenize,
};
use emojify_model::{
    Classifier, Input, InputLayer, LstmClassifierConfig, MeanEmbeddingConfig, MlpConfig, SeqBatch,
};
use rand::SeedableRng;

use crate::config::{DataKind, EmbeddingInit, ModelConfig, RunConfig};

/// One split, tokenized and encoded, with what was lost on the way.
#[derive(Debug, Clone)]
pub struct Split {
    pub name: &'static str,
    pub examples: Vec<Example>,
    pub encoded: Vec<Encoded>,
    pub labels: Vec<usize>,
    pub skipped_rows: usize,
    /// For `train.neighbour_swap`: each training token's nearest words in the embedding.
    pub neighbours: Option<std::sync::Arc<Neighbours>>,
}

/// A token id's nearest words (ids), most similar first.
pub type Neighbours = std::collections::HashMap<u32, Vec<u32>>;

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

/// Encodes one input as the model sees it: a sentence through the tokenizer and vocabulary, or
/// (numeric sequences) exactly `max_len` numbers separated by commas or spaces.
pub fn encode(config: &RunConfig, embeddings: &Embeddings, text: &str) -> anyhow::Result<Encoded> {
    if config.data.kind == DataKind::SequenceCsv {
        let values = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .map(|f| match f.parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(anyhow::anyhow!("`{f}` is not a finite number")),
            })
            .collect::<anyhow::Result<Vec<f32>>>()?;
        anyhow::ensure!(
            values.len() == config.data.max_len,
            "expected {} numbers (one per step), got {}",
            config.data.max_len,
            values.len()
        );
        return Ok(Encoded {
            length: values.len(),
            values,
            ..Encoded::default()
        });
    }
    Ok(embeddings
        .vocab
        .encode(&tokenize(text), config.data.max_len, config.data.oov))
}

fn split(
    name: &'static str,
    csv: LabelledCsv,
    config: &RunConfig,
    embeddings: &Embeddings,
) -> anyhow::Result<Split> {
    warn_skipped(&csv.file, &csv.skipped);
    let encoded = csv
        .examples
        .iter()
        .map(|e| encode(config, embeddings, &e.text))
        .collect::<anyhow::Result<_>>()?;
    Ok(Split {
        name,
        labels: csv.examples.iter().map(|e| e.label).collect(),
        examples: csv.examples,
        encoded,
        skipped_rows: csv.skipped.len(),
        neighbours: None,
    })
}

fn warn_skipped(file: &std::path::Path, skipped: &[emojify_data::RowError]) {
    for row in skipped {
        eprintln!(
            "warning: {}:{}: skipped: {}",
            file.display(),
            row.line,
            row.reason
        );
    }
}

/// A `class,0,…,N` file as a split: numbers as they are, tokens through the run's vocabulary
/// (the file's own tokenisation is kept; free text at prediction goes through the tokenizer).
fn sequence_split(
    name: &'static str,
    csv: SequenceCsv,
    config: &RunConfig,
    embeddings: &Embeddings,
) -> anyhow::Result<Split> {
    warn_skipped(&csv.file, &csv.skipped);
    let max_len = config.data.max_len;
    let numbers = config.data.kind == DataKind::SequenceCsv;
    anyhow::ensure!(
        !numbers || csv.steps == max_len,
        "{}: has {} steps per row but the config's data.max_len is {max_len}; set max_len = {}",
        csv.file.display(),
        csv.steps,
        csv.steps
    );
    let mut examples = Vec::with_capacity(csv.examples.len());
    let mut encoded = Vec::with_capacity(csv.examples.len());
    for e in csv.examples {
        if numbers {
            let text = e.values.iter().map(f32::to_string).collect::<Vec<_>>();
            examples.push(Example {
                text: text.join(","),
                label: e.label,
                line: e.line,
            });
            encoded.push(Encoded {
                length: e.values.len(),
                values: e.values,
                ..Encoded::default()
            });
        } else {
            encoded.push(embeddings.vocab.encode(&e.tokens, max_len, config.data.oov));
            examples.push(Example {
                text: e.tokens.join(" "),
                label: e.label,
                line: e.line,
            });
        }
    }
    Ok(Split {
        name,
        labels: examples.iter().map(|e| e.label).collect(),
        examples,
        encoded,
        skipped_rows: csv.skipped.len(),
        neighbours: None,
    })
}

fn step_kind(config: &RunConfig) -> StepKind {
    if config.data.kind == DataKind::SequenceCsv {
        StepKind::Numbers
    } else {
        StepKind::Tokens
    }
}

fn read_sequence(config: &RunConfig, path: &std::path::Path) -> anyhow::Result<SequenceCsv> {
    let dir = DataDir::new(config.data_dir.as_deref());
    let path = dir.resolve(path)?;
    Ok(read_sequence_csv(
        &path,
        step_kind(config),
        &config.data.labels,
        config.data.bad_rows,
    )?)
}

/// Reads both splits of the config's data set.
pub fn load_splits(config: &RunConfig, embeddings: &Embeddings) -> anyhow::Result<(Split, Split)> {
    if config.data.kind != DataKind::Emojiset {
        let train = sequence_split(
            "train",
            read_sequence(config, &config.data.train)?,
            config,
            embeddings,
        )?;
        let test = sequence_split(
            "test",
            read_sequence(config, &config.data.test)?,
            config,
            embeddings,
        )?;
        return Ok((train, test));
    }
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
    let train = split("train", read(&config.data.train)?, config, embeddings)?;
    let test = split("test", read(&config.data.test)?, config, embeddings)?;
    Ok((train, test))
}

/// The input vocabulary and vectors the config names: the pretrained embedding (emojiset), one
/// built from the training file's tokens (tokens-csv), or none (numeric sequences).
pub fn load_embeddings(config: &RunConfig) -> anyhow::Result<Embeddings> {
    match config.data.kind {
        DataKind::Emojiset => load_pretrained(config),
        DataKind::SequenceCsv => Ok(Embeddings::from_rows(
            Vec::new(),
            &[],
            1,
            "none (numeric input)".into(),
            "none".into(),
        )),
        DataKind::TokensCsv => {
            let train = read_sequence(config, &config.data.train)?;
            embeddings_for_vocabulary(config, training_vocabulary(&train))
        }
    }
}

/// The embeddings and both splits, each data file read once: a tokens-csv vocabulary is built
/// from the same read of the training file that becomes the training split.
pub fn load_data(config: &RunConfig) -> anyhow::Result<(Embeddings, Split, Split)> {
    if config.data.kind != DataKind::TokensCsv {
        let embeddings = load_embeddings(config)?;
        let (mut train, test) = load_splits(config, &embeddings)?;
        if config.train.neighbour_swap > 0.0 {
            train.neighbours = Some(std::sync::Arc::new(neighbour_table(
                &train,
                &embeddings,
                config.train.neighbours,
            )));
        }
        return Ok((embeddings, train, test));
    }
    let train_csv = read_sequence(config, &config.data.train)?;
    let embeddings = embeddings_for_vocabulary(config, training_vocabulary(&train_csv))?;
    let train = sequence_split("train", train_csv, config, &embeddings)?;
    let test_csv = read_sequence(config, &config.data.test)?;
    let test = sequence_split("test", test_csv, config, &embeddings)?;
    Ok((embeddings, train, test))
}

/// The `k` nearest words of every word in `train` (what `train.neighbour_swap` draws from).
fn neighbour_table(train: &Split, embeddings: &Embeddings, k: usize) -> Neighbours {
    let mut ids: Vec<u32> = train
        .encoded
        .iter()
        .flat_map(|e| e.ids.iter().copied())
        .filter(|&i| i != 0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let near = emojify_data::wordvec::nearest_ids(embeddings, &ids, k);
    ids.into_iter().zip(near).collect()
}

/// Every token of the training file, plus the out-of-vocabulary token, sorted and unique.
fn training_vocabulary(train: &SequenceCsv) -> Vec<String> {
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

fn load_pretrained(config: &RunConfig) -> anyhow::Result<Embeddings> {
    let dir = DataDir::new(config.data_dir.as_deref());
    emojify_data::fetch::load_embeddings(&config.embedding.source, &dir)
        .with_context(|| format!("loading embedding `{}`", config.embedding.source))
}

/// Initial vectors for a training-set vocabulary: random (`embedding.init`: Keras' U(±0.05) or
/// PyTorch's N(0, 1)), or GloVe's vector for every word GloVe knows and N(0, σ²) with GloVe's own σ for the rest.
/// The identity (SHA-256) covers the words and, when used, the GloVe source, so a run is only
/// reloaded with the vocabulary it was trained with.
pub fn embeddings_for_vocabulary(
    config: &RunConfig,
    words: Vec<String>,
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
        let glove = load_pretrained(config)?;
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
    let sha = crate::train::sha256_hex(identity.as_bytes());
    Ok(Embeddings::from_rows(words, &rows, dim, source, sha))
}

/// The vocabulary and vectors of a trained run: its own saved vocabulary when it built one from
/// its training data (so the data need not be present to use the run), else the config's.
pub fn run_embeddings(
    run: &crate::run_dir::RunDir,
    config: &RunConfig,
) -> anyhow::Result<Embeddings> {
    if !stores_embedding(config) {
        return load_embeddings(config);
    }
    let path = run.file(crate::run_dir::VOCAB_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let words: Vec<String> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a JSON list of words", path.display()))?;
    embeddings_for_vocabulary(config, words)
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

/// A freshly initialised model for the config.
pub fn build_model(config: &RunConfig, embeddings: &Embeddings, device: &Device) -> Classifier {
    let classes = config.num_classes();
    let input = || match config.data.kind {
        DataKind::SequenceCsv => InputLayer::Values { features: 1 },
        DataKind::Emojiset | DataKind::TokensCsv => InputLayer::Embedding {
            matrix: embedding_tensor(config, embeddings, device),
            trainable: config.embedding.trainable,
        },
    };
    match &config.model {
        ModelConfig::MeanEmbedding {} => {
            Classifier::MeanEmbedding(MeanEmbeddingConfig::new(classes).init(
                embedding_tensor(config, embeddings, device),
                config.seed,
                device,
            ))
        }
        ModelConfig::Lstm {
            hidden,
            layers,
            dropout,
            state,
        } => Classifier::Lstm(
            LstmClassifierConfig::new(classes)
                .with_hidden(*hidden)
                .with_layers(*layers)
                .with_dropout(*dropout)
                .with_state(*state)
                .init(input(), config.seed, device),
        ),
        ModelConfig::Mlp { hidden, dropout } => Classifier::Mlp(
            MlpConfig::new(classes, config.data.max_len)
                .with_hidden(*hidden)
                .with_dropout(*dropout)
                .init(input(), config.seed, device),
        ),
    }
}

/// Turns encoded examples (all of one kind and length) into a model batch on `device`.
pub fn model_batch(encoded: &[&Encoded], device: &Device) -> SeqBatch {
    let lengths = encoded.iter().map(|e| e.length).collect();
    let b = encoded.len();
    let input = match encoded.first() {
        Some(first) if !first.values.is_empty() => {
            let steps = first.values.len();
            let values: Vec<f32> = encoded
                .iter()
                .flat_map(|e| e.values.iter().copied())
                .collect();
            Input::Values(Tensor::from_data(
                TensorData::new(values, [b, steps, 1]),
                device,
            ))
        }
        first => {
            let max_len = first.map_or(1, |e| e.ids.len());
            let ids: Vec<i64> = encoded
                .iter()
                .flat_map(|e| e.ids.iter().map(|&i| i64::from(i)))
                .collect();
            Input::Ids(Tensor::from_data(
                TensorData::new(ids, [b, max_len]),
                device,
            ))
        }
    };
    SeqBatch { input, lengths }
}

/// Keeps trainable parameters only: the frozen embedding is identified by source and SHA-256
/// in the run's summary instead of being copied into every checkpoint.
fn trainable_only(path: &str, _container: &str) -> bool {
    !path.ends_with("embedding.weight")
}

fn everything(_path: &str, _container: &str) -> bool {
    true
}

/// What a weights file holds: everything but a pretrained embedding (see [`stores_embedding`]).
fn weights_filter(with_embedding: bool) -> fn(&str, &str) -> bool {
    if with_embedding {
        everything
    } else {
        trainable_only
    }
}

/// The model's weights as burnpack bytes; the embedding only `with_embedding`.
pub fn weights_bytes(model: &Classifier, with_embedding: bool) -> anyhow::Result<Vec<u8>> {
    let mut store = BurnpackStore::from_bytes(None)
        .filter(PathFilter::new().with_predicate(weights_filter(with_embedding)));
    model
        .save_into(&mut store)
        .map_err(|e| anyhow::anyhow!("serialising weights: {e}"))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| anyhow::anyhow!("serialising weights: {e}"))?;
    Ok(bytes.to_vec())
}

/// Loads trainable weights saved by [`weights_bytes`] into `model`.
pub fn load_weights(
    model: &mut Classifier,
    path: &std::path::Path,
    with_embedding: bool,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    load_weights_bytes(model, bytes, &path.display().to_string(), with_embedding)
}

/// [`load_weights`] from bytes; `what` names them in errors. Parameter ids are restored too,
/// which is what lets a checkpoint's optimizer state find its parameters again.
pub fn load_weights_bytes(
    model: &mut Classifier,
    bytes: Vec<u8>,
    what: &str,
    with_embedding: bool,
) -> anyhow::Result<()> {
    let path = std::path::Path::new(what);
    let keep = weights_filter(with_embedding);
    let mut store = BurnpackStore::from_bytes(Some(burn::tensor::Bytes::from_bytes_vec(bytes)))
        .filter(PathFilter::new().with_predicate(keep))
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
    let missing: Vec<_> = result.missing.iter().filter(|(p, _)| keep(p, "")).collect();
    anyhow::ensure!(
        missing.is_empty(),
        "{}: weights file lacks {:?} (was it written for another model?)",
        path.display(),
        missing
    );
    Ok(())
}
