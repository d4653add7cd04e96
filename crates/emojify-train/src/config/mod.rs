//! The run configuration: one TOML file per run, parsed strictly (unknown keys, wrong types and
//! out-of-range values are errors naming the key and its line). Each section is a file with its
//! type and the checks of its own keys ([`data`], [`embedding`], [`model`], [`train`],
//! [`pretrain`]); what one section requires of another is checked here.
//!
//! The foundation every stage of the crate reads: imports nothing of the crate but
//! [`crate::backend`].

mod data;
mod embedding;
mod error;
mod model;
mod pretrain;
mod train;

use std::path::{Path, PathBuf};

use emojify_data::OovPolicy;
use serde::{Deserialize, Serialize};

use crate::backend::{BackendKind, WgpuChoice};
use crate::config::error::Fail;

pub use data::{DataConfig, DataKind, MAX_TRAIN_COPIES};
pub use embedding::{EmbeddingConfig, EmbeddingInit};
pub use error::ConfigError;
pub use model::ModelConfig;
pub use pretrain::PretrainConfig;
pub use train::{MAX_ENSEMBLE, OptimizerKind, TrainConfig};

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
    /// Transfer: train the network on a larger corpus first (`crate::strategies::pretrain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrain: Option<PretrainConfig>,
}

fn default_seed() -> u64 {
    1
}
fn default_out() -> PathBuf {
    PathBuf::from("runs")
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
        let mut config: RunConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let written = error::line_of(text, Some("data"), "max_len").is_some();
        config.data.settle_max_len(written);
        config.validate(text, file)?;
        Ok(config)
    }

    /// Range checks serde cannot express: each section's own keys, then what sections require
    /// of each other.
    pub fn validate(&self, text: &str, file: &Path) -> Result<(), ConfigError> {
        let fail = Fail::new(text, file);
        self.train.check(&fail)?;
        self.model.check(&fail)?;
        self.embedding.check(&fail)?;
        self.data.check(&fail)?;
        if let Some(p) = &self.pretrain {
            p.check(&fail)?;
        }
        self.check_sections_agree(&fail)?;
        if self.name.trim().is_empty() || self.name.contains(['/', '\\']) {
            return Err(fail.at(
                None,
                "name",
                "must be a non-empty name without path separators".into(),
            ));
        }
        Ok(())
    }

    /// Which data kind goes with which embedding, OOV policy, augmentation, pretraining and model.
    fn check_sections_agree(&self, fail: &Fail) -> Result<(), ConfigError> {
        let fail = |table: &str, key: &str, reason: String| fail.at(Some(table), key, reason);
        let (kind, e) = (self.data.kind, &self.embedding);
        let oov_token = self.data.oov == OovPolicy::OovToken;
        if e.trainable && kind != DataKind::TokensCsv {
            return Err(fail(
                "embedding",
                "trainable",
                "is only supported with `data.kind = \"tokens-csv\"`; the pretrained \
                 embedding of the Emojifier is frozen"
                    .into(),
            ));
        }
        if self.train.neighbour_swap > 0.0 && !kind.sentences() {
            return Err(fail(
                "train",
                "neighbour_swap",
                "needs words with pretrained vectors to find neighbours in (`data.kind = \
                 \"emojiset\"`)"
                    .into(),
            ));
        }
        if self.train.negate > 0.0 {
            if !kind.sentences() {
                return Err(fail(
                    "train",
                    "negate",
                    "needs sentences of words (`data.kind = \"emojiset\"`)".into(),
                ));
            }
            if self.train.negation_labels.is_empty() {
                return Err(fail(
                    "train",
                    "negation_labels",
                    "must name at least one [from, to] pair when negate is on".into(),
                ));
            }
            for label in self.train.negation_labels.iter().flatten() {
                if !self.data.labels.contains(label) {
                    return Err(fail(
                        "train",
                        "negation_labels",
                        format!(
                            "`{label}` is not one of data.labels ({})",
                            self.data.labels.join(", ")
                        ),
                    ));
                }
            }
        }
        if self.pretrain.is_some()
            && (!kind.sentences() || !matches!(self.model, ModelConfig::Lstm { .. }))
        {
            return Err(fail(
                "pretrain",
                "train",
                "transfers an LSTM over pretrained word vectors: needs `data.kind = \
                 \"emojiset\"` and `model.kind = \"lstm\"`"
                    .into(),
            ));
        }
        if let ModelConfig::Cnn { .. } = &self.model {
            let (Some(height), Some(width)) = (self.data.height, self.data.width) else {
                return Err(fail(
                    "model",
                    "kind",
                    "cnn convolves images: needs `data.kind = \"pixels-csv\"` with its height \
                     and width"
                        .into(),
                ));
            };
            if let Err(reason) = self.model.cnn_output(height, width) {
                return Err(fail("model", "kernels", reason));
            }
        }
        match kind {
            k if k.sentences() && e.is_none() => Err(fail(
                "embedding",
                "source",
                "`none` has no words to look sentences up in; name a GloVe source".into(),
            )),
            k if k.numeric() && !e.is_none() => Err(fail(
                "embedding",
                "source",
                "must be \"none\": numbers are fed to the model as they are".into(),
            )),
            DataKind::TokensCsv if !oov_token => Err(fail(
                "data",
                "oov",
                "must be \"oov-token\" for tokens-csv (unseen words become the `OOV` token)".into(),
            )),
            k if k != DataKind::TokensCsv && oov_token => Err(fail(
                "data",
                "oov",
                "`oov-token` needs a vocabulary with an `OOV` token (tokens-csv); use skip or \
                     unk"
                .into(),
            )),
            k if !k.sentences() && matches!(self.model, ModelConfig::MeanEmbedding {}) => {
                Err(fail(
                    "model",
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

    const CNN: &str = r#"
name = "t"
[data]
kind = "pixels-csv"
train = "mnist/mnist_test.csv.gz"
split = 0.8
height = 28
width = 28
labels = ["a", "b"]
[embedding]
source = "none"
[model]
kind = "cnn"
channels = [32, 64]
kernels = [3, 3]
pools = [2, 2]
[train]
optimizer = "adam"
learning_rate = 0.001
epochs = 2
batch_size = 20
"#;

    #[test]
    fn images_get_their_pixel_count_and_a_cnn_that_fits_them() {
        let c = parse(CNN).expect("valid");
        assert_eq!(c.data.max_len, 784);
        assert_eq!(c.model.cnn_output(28, 28), Ok(Some([5, 5, 64])));
        let again = parse(&c.to_toml()).expect("round trip");
        assert_eq!(again.to_toml(), c.to_toml());
        // 28 → 26 → 13 → 11 → 5; one more 5×5 kernel leaves 1×1, which a 2×2 pool cannot take.
        let deep = CNN
            .replace("[32, 64]", "[32, 64, 8]")
            .replace("[3, 3]", "[3, 3, 5]")
            .replace("[2, 2]", "[2, 2, 2]");
        let msg = parse(&deep).expect_err("too deep").to_string();
        assert!(
            msg.contains("run.toml:15: `model.kernels` [2]: pooling 2×2 does not fit the 1×1"),
            "{msg}"
        );
        for (from, to, message) in [
            ("split = 0.8", "", "run.toml:0: `data.test` is missing"),
            (
                "split = 0.8",
                "split = 0.8\ntest = \"x.csv\"",
                "run.toml:6: `data.split` holds the test rows out",
            ),
            (
                "split = 0.8",
                "split = 1.0",
                "`data.split` is the share of rows kept",
            ),
            ("height = 28", "", "`data.height` is needed by pixels-csv"),
            (
                "height = 28",
                "height = 28\nmax_len = 100",
                "run.toml:8: `data.max_len` is the pixel count for images: 28×28 = 784",
            ),
            (
                "kind = \"pixels-csv\"",
                "kind = \"sequence-csv\"",
                "`data.height` is for images",
            ),
            (
                "[3, 3]",
                "[3]",
                "`model.kernels` needs one kernel size per convolution",
            ),
            (
                "[2, 2]",
                "[2]",
                "`model.pools` needs one pooling size per convolution",
            ),
            (
                "[32, 64]",
                "[32, 0]",
                "`model.channels` must all be at least 1",
            ),
            (
                "[3, 3]",
                "[3, 30]",
                "`model.kernels` [1] = 30 is larger than the 13×13 input",
            ),
            (
                "source = \"none\"",
                "",
                "`embedding.source` must be \"none\"",
            ),
        ] {
            let msg = parse(&CNN.replacen(from, to, 1))
                .expect_err(message)
                .to_string();
            assert!(msg.contains(message), "{from} → {to}: {msg}");
        }
        let lstm_on_words = V1.replace(
            "kind = \"mean-embedding\"",
            "kind = \"cnn\"\nchannels = [4]\nkernels = [3]",
        );
        let msg = parse(&lstm_on_words).expect_err("cnn on words").to_string();
        assert!(msg.contains("cnn convolves images"), "{msg}");
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
