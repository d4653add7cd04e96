//! `[data]`: which files, how they are read, and the classes; with the checks of its own keys.

use std::path::PathBuf;

use emojify_data::{BadRowPolicy, OovPolicy};
use serde::{Deserialize, Serialize};

use crate::config::error::{ConfigError, Fail};
use crate::config::train::is_one;

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

fn default_copies() -> usize {
    1
}

/// The most copies `data.train_copies` asks for: beyond it the added files are noise.
pub const MAX_TRAIN_COPIES: usize = 32;

fn default_max_len() -> usize {
    10
}

impl DataConfig {
    /// Checks of `[data]`'s own keys.
    pub(super) fn check(&self, fail: &Fail) -> Result<(), ConfigError> {
        let fail = |key: &str, reason: String| fail.at(Some("data"), key, reason);
        if !self.extra_train.is_empty() && self.kind != DataKind::Emojiset {
            return Err(fail(
                "extra_train",
                "is read as `sentence,label` files: needs `data.kind = \"emojiset\"`".into(),
            ));
        }
        let copies = self.train_copies;
        if copies != 1 && (self.extra_train.is_empty() || !(1..=MAX_TRAIN_COPIES).contains(&copies))
        {
            return Err(fail(
                "train_copies",
                format!(
                    "must be from 1 to {MAX_TRAIN_COPIES}, and above 1 only with \
                     data.extra_train to weigh data.train against, got {copies}"
                ),
            ));
        }
        if self.max_len == 0 {
            return Err(fail("max_len", "must be at least 1".into()));
        }
        if self.labels.len() < 2 {
            return Err(fail("labels", "needs at least two classes".into()));
        }
        if !self.label_names.is_empty() && self.label_names.len() != self.labels.len() {
            return Err(fail(
                "label_names",
                format!(
                    "has {} entries but `labels` has {}",
                    self.label_names.len(),
                    self.labels.len()
                ),
            ));
        }
        Ok(())
    }
}
