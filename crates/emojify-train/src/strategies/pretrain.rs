//! Transfer learning (`[pretrain]`): the run's network, with a head for a larger corpus'
//! classes (SST-2's negative/positive reviews), is trained on that corpus first; its LSTM
//! layers and pooling then start the run, whose own head starts fresh. Sentiment and negation
//! are what the 132 EMOJISET sentences hardly show and 6,920 reviews do.
//!
//! Pretrained weights are cached in `<cache>/pretrained/<key>.bpk`, the key a SHA-256 of all
//! that produced them: the corpus' bytes, the embedding's SHA-256, the network, the
//! pretraining schedule, normalization, seed, backend, and a hash of the training code itself
//! (the train, model and data crates' sources and Cargo.lock, `build.rs`). A changed input
//! or changed code is a different key, never a stale hit.

use std::path::PathBuf;

use burn::prelude::*;
use emojify_data::{DataDir, Embeddings, Event, Example, Observer, StepKind, read_sequence_csv};
use emojify_model::Classifier;

use crate::config::{ModelConfig, PretrainConfig, RunConfig, TrainConfig};
use crate::fit::epoch::train_epoch;
use crate::fit::model::build_model;
use crate::fit::probabilities::{predicted, probabilities};
use crate::fit::scores::accuracy;
use crate::fit::setup::Training;
use crate::fit::weights::{load_weights_bytes, weights_bytes};
use crate::inputs::splits::{Split, encode, warn_skipped};

/// SST-2's marker of a word its authors dropped: no GloVe word, so not looked up.
const CORPUS_OOV: &str = "OOV";

/// Pretrained layers ready to start a run.
#[derive(Debug, Clone)]
pub struct Pretrained {
    /// The network trained on the corpus (its head has the corpus' classes).
    pub model: Classifier,
    /// The cache key: what produced these weights.
    pub key: String,
    /// Whether the weights came from the cache.
    pub cached: bool,
}

/// The config the corpus is trained under: the run's network, embedding and normalization;
/// the corpus' classes and length; the pretraining schedule with the run's optimizer; no
/// augmentation, averaging or calibration (those belong to the run).
pub fn corpus_config(config: &RunConfig, p: &PretrainConfig) -> RunConfig {
    let mut c = config.clone();
    c.pretrain = None;
    c.data.labels = p.labels.clone();
    c.data.label_names = Vec::new();
    c.data.max_len = p.max_len;
    c.data.train_copies = 1;
    // Only the LSTMs are carried over: they learn the corpus alone, without the mean word
    // vector beside them, and share their cache with the config that lacks it.
    if let ModelConfig::Lstm { word_mean, .. } = &mut c.model {
        *word_mean = false;
    }
    c.train = TrainConfig {
        learning_rate: p.learning_rate,
        epochs: p.epochs,
        batch_size: p.batch_size,
        shuffle: true,
        // Fixed, so that how often a run logs does not change the cache key.
        log_every: 1,
        checkpoint_every: 0,
        word_dropout: 0.0,
        average_from: None,
        calibrate_folds: None,
        ensemble: 1,
        neighbour_swap: 0.0,
        negate: 0.0,
        negation_labels: Vec::new(),
        ..config.train.clone()
    };
    c
}

/// The cache key of `c` (a [`corpus_config`]) trained on a corpus with SHA-256 `corpus`.
fn cache_key(c: &RunConfig, p: &PretrainConfig, corpus: &str, embeddings: &Embeddings) -> String {
    let what = serde_json::json!({
        "emojify": env!("CARGO_PKG_VERSION"),
        // The code that trains (build.rs): earlier caches came from code that trained differently.
        "source_sha256": env!("EMOJIFY_SOURCE_SHA256"),
        "corpus_sha256": corpus,
        "labels": p.labels,
        "max_len": c.data.max_len,
        "normalize": c.data.normalize,
        "oov": c.data.oov,
        "embedding": c.embedding,
        "embedding_sha256": embeddings.sha256,
        "model": c.model,
        "train": c.train,
        "seed": c.seed,
        "backend": c.backend.to_string(),
    });
    emojify_data::hash::sha256_hex(what.to_string().as_bytes())
}

/// The corpus at `path` as a split encoded like the run's sentences (tokenizer,
/// normalization, vocabulary).
fn corpus_split(
    c: &RunConfig,
    p: &PretrainConfig,
    path: &std::path::Path,
    embeddings: &Embeddings,
    obs: &dyn Observer,
) -> anyhow::Result<Split> {
    let csv = read_sequence_csv(path, StepKind::Tokens, &p.labels, c.data.bad_rows)?;
    warn_skipped(path, &csv.skipped, obs);
    let mut examples = Vec::with_capacity(csv.examples.len());
    let mut encoded = Vec::with_capacity(csv.examples.len());
    for e in csv.examples {
        let words: Vec<&str> = e
            .tokens
            .iter()
            .map(String::as_str)
            .filter(|t| *t != CORPUS_OOV)
            .collect();
        let text = words.join(" ");
        encoded.push(encode(c, embeddings, &text)?);
        examples.push(Example {
            text,
            label: e.label,
            line: e.line,
        });
    }
    anyhow::ensure!(
        !examples.is_empty(),
        "{}: no reviews to pretrain on",
        path.display()
    );
    Ok(Split::new("pretrain", examples, encoded, csv.skipped.len()))
}

fn cache_file(key: &str) -> anyhow::Result<PathBuf> {
    Ok(emojify_data::fetch::cache_dir()?
        .join("pretrained")
        .join(format!("{key}.bpk")))
}

/// The pretrained start of `config`'s run, from the cache or trained now on `device` (and
/// cached); its model lives on `device`'s autodiff device. `None` without `[pretrain]`.
pub fn start(
    config: &RunConfig,
    embeddings: &Embeddings,
    device: &Device,
    obs: &dyn Observer,
) -> anyhow::Result<Option<Pretrained>> {
    let Some(p) = &config.pretrain else {
        return Ok(None);
    };
    let c = corpus_config(config, p);
    let inner = device;
    let device = &device.clone().autodiff();
    // The key needs only the corpus' hash: reading and encoding its reviews waits for a miss.
    let path = DataDir::new(c.data_dir.as_deref()).resolve(&p.train)?;
    let sha = emojify_data::hash::sha256_file(&path)?;
    let key = cache_key(&c, p, &sha, embeddings);
    let file = cache_file(&key)?;
    if file.is_file() {
        let mut model = build_model(&c, embeddings, device);
        let loaded = std::fs::read(&file)
            .map_err(anyhow::Error::from)
            .and_then(|bytes| {
                load_weights_bytes(&mut model, bytes, &file.display().to_string(), false)
            });
        match loaded {
            Ok(()) => {
                obs.event(Event::Note(format!(
                    "pretrained layers from the cache: {}",
                    file.display()
                )));
                return Ok(Some(Pretrained {
                    model,
                    key,
                    cached: true,
                }));
            }
            Err(e) => obs.event(Event::Warning(format!("{e:#}; pretraining again"))),
        }
    }
    let corpus = corpus_split(&c, p, &path, embeddings, obs)?;
    let Training {
        mut model,
        mut optim,
        ..
    } = Training::new(&c, embeddings, device, None)?;
    let label = format!(
        "pretraining on {} ({} reviews, {} epochs)",
        p.train.display(),
        corpus.encoded.len(),
        p.epochs
    );
    obs.event(Event::Begin(&label));
    for epoch in 1..=p.epochs {
        (model, _) = train_epoch(model, &mut optim, &corpus, &c, epoch, device);
        obs.event(Event::Progress {
            done: epoch as u64,
            total: p.epochs as u64,
        });
    }
    obs.event(Event::End);
    let valid = model.valid();
    let fit = accuracy(
        &corpus.labels,
        &predicted(&probabilities(&valid, &corpus.encoded, inner)?),
    );
    let bytes = weights_bytes(&model, false)?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    emojify_data::atomic::write_bytes_atomic(&file, &bytes)?;
    obs.event(Event::Note(format!(
        "pretrained on {} reviews (training accuracy {fit:.4}); cached at {}",
        corpus.encoded.len(),
        file.display()
    )));
    Ok(Some(Pretrained {
        model,
        key,
        cached: false,
    }))
}
