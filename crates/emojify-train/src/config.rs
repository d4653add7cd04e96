//! The run configuration: one TOML file per run, parsed strictly (unknown keys, wrong types and
//! out-of-range values are errors naming the key and its line). One file past 500 lines because
//! each section's struct sits beside its validation and the key names its errors quote.

use std::path::{Path, PathBuf};

use emojify_data::{BadRowPolicy, OovPolicy};
use serde::{Deserialize, Serialize};

use crate::backend::{BackendKind, WgpuChoice};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{file}:{line}: `{key}` {reason}")]
    Invalid {
        file: PathBuf,
        line: usize,
        key: String,
        reason: String,
    },
}

/// One training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Run name; the run directory is `<out>/<name>-<timestamp>`.
    pub name: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub backend: BackendKind,
    /// The wgpu adapter when `backend = "wgpu"`: default, discrete:N, integrated:N, virtual:N, cpu.
    #[serde(default)]
    pub wgpu_device: WgpuChoice,
    /// Where relative data paths are looked up first (then `$EMOJIFY_DATA`, `./data`,
    /// `../shared/data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Parent directory of run directories.
    #[serde(default = "default_out")]
    pub out: PathBuf,
    pub data: DataConfig,
    #[serde(default)]
    pub embedding: EmbeddingConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
    /// Transfer: train the network on a larger corpus first (`crate::pretrain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrain: Option<PretrainConfig>,
}

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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    #[serde(default)]
    pub kind: DataKind,
    pub train: PathBuf,
    /// More training files in `train`'s format, appended to it (our own messages:
    /// `messages/train.csv`); `emojiset` data only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_train: Vec<PathBuf>,
    /// How many times each `train` sentence is seen per epoch against once for each
    /// `extra_train` sentence: weighs the data set the labels come from against what is added.
    #[serde(default = "default_copies", skip_serializing_if = "is_one")]
    pub train_copies: usize,
    pub test: PathBuf,
    #[serde(default = "default_max_len")]
    pub max_len: usize,
    #[serde(default)]
    pub oov: OovPolicy,
    #[serde(default)]
    pub bad_rows: BadRowPolicy,
    /// How each class is shown (emoji for EMOJISET); the class count comes from this list.
    pub labels: Vec<String>,
    /// Optional plain names of the classes, for CSV/JSON output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_names: Vec<String>,
    /// Bring text as people type it to the words GloVe and the training set know (emoticons,
    /// clitics, slang, repeated letters, punctuation dropped: `emojify_data::normalize`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub normalize: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataKind {
    /// Headerless `sentence,label` CSV; words are looked up in the pretrained embedding.
    #[default]
    Emojiset,
    /// `class,0,…,N` CSV (optionally `.gz`) of numbers: one feature per step, no embedding.
    SequenceCsv,
    /// `class,0,…,N` CSV (optionally `.gz`) of tokens padded with `PAD`; the vocabulary is built
    /// from the training file (`OOV` kept as a token; unseen words map to it).
    TokensCsv,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// `glove-6b-50d` (registry package), a path to a GloVe `.txt`/`.txt.gz` or `.emjv` cache,
    /// or `none`: random initial vectors (`tokens-csv`) or no embedding (`sequence-csv`).
    #[serde(default = "default_embedding")]
    pub source: String,
    /// Whether training updates the embedding (only for `tokens-csv`; the Emojifier's pretrained
    /// embedding is frozen).
    #[serde(default)]
    pub trainable: bool,
    /// Vector size when `source = "none"` (tokens-csv); pretrained sources bring their own.
    #[serde(default = "default_embedding_dim")]
    pub dim: usize,
    /// Random start of a `source = "none"` embedding.
    #[serde(default)]
    pub init: EmbeddingInit,
}

/// How a trained-from-scratch embedding starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmbeddingInit {
    /// U(-0.05, 0.05), Keras' `Embedding` default.
    #[default]
    Uniform,
    /// N(0, 1), PyTorch's `nn.Embedding` default.
    Normal,
}

impl Default for EmbeddingConfig {
    fn default() -> Self {
        EmbeddingConfig {
            source: default_embedding(),
            trainable: false,
            dim: default_embedding_dim(),
            init: EmbeddingInit::default(),
        }
    }
}

impl EmbeddingConfig {
    /// Whether the config names no pretrained vectors.
    pub fn is_none(&self) -> bool {
        self.source == "none"
    }
}

fn default_embedding_dim() -> usize {
    32
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ModelConfig {
    /// Emojifier-V1: mean of word vectors → linear.
    MeanEmbedding {},
    /// Emojifier-V2: stacked LSTMs over the frozen embedding → dropout → dense.
    Lstm {
        #[serde(default = "default_hidden")]
        hidden: usize,
        #[serde(default = "default_layers")]
        layers: usize,
        #[serde(default = "default_dropout")]
        dropout: f64,
        #[serde(default)]
        state: emojify_model::StateChoice,
        /// The first layer reads each sentence both ways.
        #[serde(default)]
        bidirectional: bool,
        /// The classifier also reads the mean word vector (V1's input) beside the state.
        /// Not written when off, so configs without it serialize as before.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        word_mean: bool,
    },
    /// Baseline that ignores order: the flattened sequence → dense + ReLU → dense.
    Mlp {
        #[serde(default = "default_mlp_hidden")]
        hidden: usize,
        #[serde(default)]
        dropout: f64,
    },
}

fn default_mlp_hidden() -> usize {
    64
}

fn default_hidden() -> usize {
    128
}
fn default_layers() -> usize {
    2
}
fn default_dropout() -> f64 {
    0.5
}

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

fn default_copies() -> usize {
    1
}

/// The most copies `data.train_copies` asks for: beyond it the added files are noise.
pub const MAX_TRAIN_COPIES: usize = 32;

fn is_one(v: &usize) -> bool {
    *v == 1
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn default_checkpoint_every() -> usize {
    10
}

fn default_seed() -> u64 {
    1
}
fn default_out() -> PathBuf {
    PathBuf::from("runs")
}
fn default_max_len() -> usize {
    10
}
fn default_embedding() -> String {
    "glove-6b-50d".into()
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

impl RunConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates config text; `file` is only used in messages.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let config: RunConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.validate(text, file)?;
        Ok(config)
    }

    /// Range checks serde cannot express.
    pub fn validate(&self, text: &str, file: &Path) -> Result<(), ConfigError> {
        let fail = |table: Option<&str>, key: &str, reason: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            line: line_of(text, table, key).unwrap_or(0),
            key: table.map_or_else(|| key.to_string(), |t| format!("{t}.{key}")),
            reason,
        };
        let t = &self.train;
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            return Err(fail(
                Some("train"),
                "learning_rate",
                format!("must be a positive number, got {}", t.learning_rate),
            ));
        }
        if t.epochs == 0 {
            return Err(fail(Some("train"), "epochs", "must be at least 1".into()));
        }
        if t.batch_size == 0 {
            return Err(fail(
                Some("train"),
                "batch_size",
                "must be at least 1".into(),
            ));
        }
        if t.log_every == 0 {
            return Err(fail(
                Some("train"),
                "log_every",
                "must be at least 1".into(),
            ));
        }
        for (key, v) in [
            ("beta1", t.beta1),
            ("beta2", t.beta2),
            ("word_dropout", t.word_dropout),
            ("neighbour_swap", t.neighbour_swap),
            ("negate", t.negate),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(fail(
                    Some("train"),
                    key,
                    format!("must be in [0, 1), got {v}"),
                ));
            }
        }
        if let Some(n) = t.clip_grad_norm
            && !(n.is_finite() && n > 0.0)
        {
            return Err(fail(
                Some("train"),
                "clip_grad_norm",
                format!("must be a positive number, got {n}"),
            ));
        }
        if !(1..=MAX_ENSEMBLE).contains(&t.ensemble) {
            return Err(fail(
                Some("train"),
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
                Some("train"),
                "calibrate_folds",
                format!("must be at least 2 folds, got {k}"),
            ));
        }
        if let Some(e) = t.average_from
            && !(1..=t.epochs).contains(&e)
        {
            return Err(fail(
                Some("train"),
                "average_from",
                format!(
                    "must be an epoch from 1 to `epochs` ({}), got {e}",
                    t.epochs
                ),
            ));
        }
        if !(t.epsilon.is_finite() && t.epsilon > 0.0) {
            return Err(fail(
                Some("train"),
                "epsilon",
                format!("must be positive, got {}", t.epsilon),
            ));
        }
        let (hidden, layers, dropout) = match self.model {
            ModelConfig::MeanEmbedding {} => (1, 1, 0.0),
            ModelConfig::Lstm {
                hidden,
                layers,
                dropout,
                ..
            } => (hidden, layers, dropout),
            ModelConfig::Mlp { hidden, dropout } => (hidden, 1, dropout),
        };
        if hidden == 0 {
            return Err(fail(Some("model"), "hidden", "must be at least 1".into()));
        }
        if layers == 0 {
            return Err(fail(Some("model"), "layers", "must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&dropout) {
            return Err(fail(
                Some("model"),
                "dropout",
                format!("must be in [0, 1), got {dropout}"),
            ));
        }
        self.validate_input(&fail)?;
        if self.data.max_len == 0 {
            return Err(fail(Some("data"), "max_len", "must be at least 1".into()));
        }
        if self.data.labels.len() < 2 {
            return Err(fail(
                Some("data"),
                "labels",
                "needs at least two classes".into(),
            ));
        }
        if !self.data.label_names.is_empty()
            && self.data.label_names.len() != self.data.labels.len()
        {
            return Err(fail(
                Some("data"),
                "label_names",
                format!(
                    "has {} entries but `labels` has {}",
                    self.data.label_names.len(),
                    self.data.labels.len()
                ),
            ));
        }
        if self.name.trim().is_empty() || self.name.contains(['/', '\\']) {
            return Err(fail(
                None,
                "name",
                "must be a non-empty name without path separators".into(),
            ));
        }
        Ok(())
    }

    /// Which data kind goes with which embedding, OOV policy and model.
    fn validate_input(
        &self,
        fail: &dyn Fn(Option<&str>, &str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let (kind, e) = (self.data.kind, &self.embedding);
        let oov_token = self.data.oov == OovPolicy::OovToken;
        if e.trainable && kind != DataKind::TokensCsv {
            return Err(fail(
                Some("embedding"),
                "trainable",
                "is only supported with `data.kind = \"tokens-csv\"`; the pretrained \
                 embedding of the Emojifier is frozen"
                    .into(),
            ));
        }
        if e.dim == 0 {
            return Err(fail(Some("embedding"), "dim", "must be at least 1".into()));
        }
        if self.train.neighbour_swap > 0.0 && kind != DataKind::Emojiset {
            return Err(fail(
                Some("train"),
                "neighbour_swap",
                "needs words with pretrained vectors to find neighbours in (`data.kind = \
                 \"emojiset\"`)"
                    .into(),
            ));
        }
        if self.train.negate > 0.0 {
            if kind != DataKind::Emojiset {
                return Err(fail(
                    Some("train"),
                    "negate",
                    "needs sentences of words (`data.kind = \"emojiset\"`)".into(),
                ));
            }
            if self.train.negation_labels.is_empty() {
                return Err(fail(
                    Some("train"),
                    "negation_labels",
                    "must name at least one [from, to] pair when negate is on".into(),
                ));
            }
            for label in self.train.negation_labels.iter().flatten() {
                if !self.data.labels.contains(label) {
                    return Err(fail(
                        Some("train"),
                        "negation_labels",
                        format!(
                            "`{label}` is not one of data.labels ({})",
                            self.data.labels.join(", ")
                        ),
                    ));
                }
            }
        }
        if !self.data.extra_train.is_empty() && kind != DataKind::Emojiset {
            return Err(fail(
                Some("data"),
                "extra_train",
                "is read as `sentence,label` files: needs `data.kind = \"emojiset\"`".into(),
            ));
        }
        let copies = self.data.train_copies;
        if copies != 1
            && (self.data.extra_train.is_empty() || !(1..=MAX_TRAIN_COPIES).contains(&copies))
        {
            return Err(fail(
                Some("data"),
                "train_copies",
                format!(
                    "must be from 1 to {MAX_TRAIN_COPIES}, and above 1 only with \
                     data.extra_train to weigh data.train against, got {copies}"
                ),
            ));
        }
        if let Some(p) = &self.pretrain {
            let pretrain =
                |field: &str, reason: &str| Err(fail(Some("pretrain"), field, reason.to_string()));
            if kind != DataKind::Emojiset || !matches!(self.model, ModelConfig::Lstm { .. }) {
                return pretrain(
                    "train",
                    "transfers an LSTM over pretrained word vectors: needs `data.kind = \
                     \"emojiset\"` and `model.kind = \"lstm\"`",
                );
            }
            if p.labels.len() < 2 {
                return pretrain("labels", "must name at least two classes");
            }
            if p.epochs == 0 {
                return pretrain("epochs", "must be at least 1");
            }
            if p.batch_size == 0 {
                return pretrain("batch_size", "must be at least 1");
            }
            if p.max_len == 0 {
                return pretrain("max_len", "must be at least 1");
            }
            if !(p.learning_rate.is_finite() && p.learning_rate > 0.0) {
                return pretrain("learning_rate", "must be positive");
            }
        }
        if self.train.neighbour_swap > 0.0 && self.train.neighbours == 0 {
            return Err(fail(
                Some("train"),
                "neighbours",
                "must be at least 1 when neighbour_swap is on".into(),
            ));
        }
        match kind {
            DataKind::Emojiset if e.is_none() => Err(fail(
                Some("embedding"),
                "source",
                "`none` has no words to look sentences up in; name a GloVe source".into(),
            )),
            DataKind::SequenceCsv if !e.is_none() => Err(fail(
                Some("embedding"),
                "source",
                "must be \"none\": numeric sequences are fed to the model as they are".into(),
            )),
            DataKind::TokensCsv if !oov_token => Err(fail(
                Some("data"),
                "oov",
                "must be \"oov-token\" for tokens-csv (unseen words become the `OOV` token)".into(),
            )),
            DataKind::Emojiset | DataKind::SequenceCsv if oov_token => Err(fail(
                Some("data"),
                "oov",
                "`oov-token` needs a vocabulary with an `OOV` token (tokens-csv); use skip or unk"
                    .into(),
            )),
            DataKind::SequenceCsv | DataKind::TokensCsv
                if matches!(self.model, ModelConfig::MeanEmbedding {}) =>
            {
                Err(fail(
                    Some("model"),
                    "kind",
                    "mean-embedding averages pretrained word vectors: use it with emojiset".into(),
                ))
            }
            _ => Ok(()),
        }
    }

    pub fn num_classes(&self) -> usize {
        self.data.labels.len()
    }

    /// The name of class `i` for CSV/JSON: `label_names[i]`, else the display label.
    pub fn class_name(&self, i: usize) -> &str {
        self.data
            .label_names
            .get(i)
            .or_else(|| self.data.labels.get(i))
            .map_or("?", String::as_str)
    }

    /// The config as TOML, as the run directory stores it.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not serialise: {e}\n"))
    }
}

/// 1-based line of `key` inside `[table]` (or at top level), found by scanning the text.
fn line_of(text: &str, table: Option<&str>, key: &str) -> Option<usize> {
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix('[') {
            current = Some(rest.trim_end_matches(']').trim().to_string());
            continue;
        }
        let in_table = match table {
            None => current.is_none(),
            Some(t) => current.as_deref() == Some(t),
        };
        if in_table && l.split('=').next().map(str::trim) == Some(key) && l.contains('=') {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"
name = "t"
[data]
train = "emojiset/train_emoji.csv"
test = "emojiset/tesss.csv"
labels = ["a", "b"]
[model]
kind = "mean-embedding"
[train]
optimizer = "sgd"
learning_rate = 0.01
epochs = 3
batch_size = 1
"#;

    fn parse(text: &str) -> Result<RunConfig, ConfigError> {
        RunConfig::parse(text, Path::new("run.toml"))
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(V1).expect("valid");
        assert_eq!(c.seed, 1);
        assert_eq!(c.data.max_len, 10);
        assert_eq!(c.embedding.source, "glove-6b-50d");
        assert!((c.train.epsilon - 1e-7).abs() < 1e-12);
        let again = parse(&c.to_toml()).expect("round trip");
        assert_eq!(again.to_toml(), c.to_toml());
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = parse(&V1.replace("epochs = 3", "epochs = 3\nepoch = 4")).expect_err("unknown");
        let msg = err.to_string();
        assert!(msg.contains("epoch"), "{msg}");
        assert!(msg.contains("line 13"), "{msg}");
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = parse(&V1.replace("epochs = 3", "epochs = \"three\"")).expect_err("type");
        assert!(err.to_string().contains("line 12"), "{err}");
    }

    #[test]
    fn out_of_range_values_name_key_and_line() {
        for (from, to, key, line) in [
            (
                "learning_rate = 0.01",
                "learning_rate = -1.0",
                "train.learning_rate",
                11,
            ),
            ("batch_size = 1", "batch_size = 0", "train.batch_size", 13),
            ("epochs = 3", "epochs = 0", "train.epochs", 12),
            (
                "labels = [\"a\", \"b\"]",
                "labels = [\"a\", \"b\"]\nmax_len = 0",
                "data.max_len",
                7,
            ),
        ] {
            let err = parse(&V1.replace(from, to)).expect_err(key);
            let msg = err.to_string();
            assert!(msg.contains(&format!("run.toml:{line}: `{key}`")), "{msg}");
        }
    }

    #[test]
    fn negation_needs_known_labels() {
        let on = |pairs: &str| {
            V1.replace(
                "batch_size = 1",
                &format!("batch_size = 1\nnegate = 0.3\nnegation_labels = {pairs}"),
            )
        };
        assert!(parse(&on(r#"[["a", "b"]]"#)).is_ok());
        let msg = parse(&on(r#"[["a", "c"]]"#)).expect_err("c").to_string();
        assert!(
            msg.contains("`train.negation_labels`")
                && msg.contains("`c` is not one of data.labels (a, b)"),
            "{msg}"
        );
        let msg = parse(&on("[]")).expect_err("empty").to_string();
        assert!(msg.contains("at least one"), "{msg}");
    }

    #[test]
    fn pretraining_needs_an_lstm_over_words_and_a_sane_schedule() {
        let section =
            "\n[pretrain]\ntrain = \"sst2/x.csv.gz\"\nlabels = [\"n\", \"p\"]\nepochs = 2\n";
        let lstm = V1.replace("kind = \"mean-embedding\"", "kind = \"lstm\"");
        let c = parse(&format!("{lstm}{section}")).expect("valid");
        let p = c.pretrain.as_ref().expect("section");
        assert_eq!((p.max_len, p.batch_size), (30, 32));
        assert_eq!(
            parse(&c.to_toml()).expect("round trip").pretrain,
            c.pretrain
        );
        let msg = parse(&format!("{V1}{section}"))
            .expect_err("v1")
            .to_string();
        assert!(
            msg.contains("`pretrain.train`") && msg.contains("lstm"),
            "{msg}"
        );
        let msg = parse(&format!(
            "{lstm}{}",
            section.replace("epochs = 2", "epochs = 0")
        ))
        .expect_err("no epochs")
        .to_string();
        assert!(msg.contains("`pretrain.epochs`"), "{msg}");
    }

    #[test]
    fn negative_number_for_unsigned_is_a_type_error() {
        let err = parse(&V1.replace("epochs = 3", "epochs = -3")).expect_err("negative");
        assert!(err.to_string().contains("line 12"), "{err}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2_000,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Whatever the text, parsing gives a config or an error, never a panic; a valid one
        /// passed its range checks.
        #[test]
        fn parse_never_panics(text in "\\PC{0,200}") {
            if let Ok(c) = parse(&text) {
                proptest::prop_assert!(c.train.batch_size > 0 && c.data.max_len > 0);
            }
        }

        /// A real config with one line changed or a value replaced: same promise.
        #[test]
        fn edited_configs_never_panic(
            line in 0usize..17,
            replacement in "[a-z_]{0,8} ?=? ?[-0-9.\"a-z\\[\\]]{0,10}",
        ) {
            let edited: Vec<String> = V1
                .lines()
                .enumerate()
                .map(|(i, l)| if i == line { replacement.clone() } else { l.to_string() })
                .collect();
            if let Ok(c) = parse(&edited.join("\n")) {
                proptest::prop_assert!(c.train.learning_rate > 0.0 && c.train.epochs > 0);
            }
        }
    }
}
