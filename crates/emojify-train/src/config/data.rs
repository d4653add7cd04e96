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
    /// The test file; absent when `split` holds the test rows out of `train` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<PathBuf>,
    /// For a data set that ships one file: the share of `train`'s rows kept for training, the
    /// rest held out as the test split — stratified by class, drawn by `split_seed` (not the run's
    /// seed, so every seed of a sweep is tested on the same rows). The run directory's
    /// `holdout.csv` records which line went where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<f64>,
    #[serde(
        default = "default_split_seed",
        skip_serializing_if = "is_default_split_seed"
    )]
    pub split_seed: u64,
    /// `pixels-csv`: the image's height and width (the header must name `height × width`
    /// pixels); `max_len` is their product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    /// `text-labels`: the benchmark's `mapping.txt` (`index<TAB>emoji<TAB>name`), checked against
    /// `labels` (and `label_names`, when given) when the data is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<PathBuf>,
    /// `pixels-csv`: the largest pixel value, scaled to 1 (255 for 8-bit images).
    #[serde(
        default = "default_pixel_max",
        skip_serializing_if = "is_default_pixel_max"
    )]
    pub pixel_max: u16,
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
    /// `class,1x1,…,HxW` CSV (optionally `.gz`) of an image's pixels, row-major, 0 to
    /// `pixel_max`, scaled to [0, 1]; fed to the model as they are (MNIST digits).
    PixelsCsv,
    /// The TweetEval format: `<split>_text.txt`, one text per line, with `<split>_labels.txt`
    /// beside it, one class index per line; words looked up in the pretrained embedding as for
    /// `emojiset`. `mapping` names the benchmark's class file, checked against `labels`.
    TextLabels,
}

impl DataKind {
    /// Rows of numbers fed to the model as they are (no tokens, no embedding).
    pub fn numeric(self) -> bool {
        matches!(self, DataKind::SequenceCsv | DataKind::PixelsCsv)
    }

    /// Free text tokenized and looked up in the pretrained embedding.
    pub fn sentences(self) -> bool {
        matches!(self, DataKind::Emojiset | DataKind::TextLabels)
    }
}

fn default_copies() -> usize {
    1
}

/// The most copies `data.train_copies` asks for: beyond it the added files are noise.
pub const MAX_TRAIN_COPIES: usize = 32;

fn default_max_len() -> usize {
    10
}

fn default_split_seed() -> u64 {
    1
}
fn is_default_split_seed(seed: &u64) -> bool {
    *seed == default_split_seed()
}
fn default_pixel_max() -> u16 {
    255
}
fn is_default_pixel_max(max: &u16) -> bool {
    *max == default_pixel_max()
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
        match (&self.test, self.split) {
            (Some(_), Some(_)) => {
                return Err(fail(
                    "split",
                    "holds the test rows out of `train`: leave out `test`, or `split`".into(),
                ));
            }
            (None, None) => {
                return Err(fail(
                    "test",
                    "is missing: name a test file, or hold rows out of `train` with `split`".into(),
                ));
            }
            (None, Some(share)) if !(share > 0.0 && share < 1.0) => {
                return Err(fail(
                    "split",
                    format!("is the share of rows kept for training: in (0, 1), got {share}"),
                ));
            }
            (None, Some(_)) if !self.extra_train.is_empty() => {
                return Err(fail(
                    "split",
                    "holds rows out of one file: not with `extra_train`".into(),
                ));
            }
            _ => {}
        }
        self.check_image(&fail)?;
        if self.mapping.is_some() && self.kind != DataKind::TextLabels {
            return Err(fail(
                "mapping",
                "names a TweetEval class file: needs `kind = \"text-labels\"`".into(),
            ));
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

    /// `height`, `width` and `pixel_max` belong to `pixels-csv`, which needs the first two;
    /// `max_len` there is the pixel count.
    fn check_image(&self, fail: &dyn Fn(&str, String) -> ConfigError) -> Result<(), ConfigError> {
        let pixels = self.kind == DataKind::PixelsCsv;
        for (key, set) in [
            ("height", self.height.is_some()),
            ("width", self.width.is_some()),
            ("pixel_max", !is_default_pixel_max(&self.pixel_max)),
        ] {
            if set && !pixels {
                return Err(fail(
                    key,
                    "is for images: needs `kind = \"pixels-csv\"`".into(),
                ));
            }
        }
        if !pixels {
            return Ok(());
        }
        let (Some(height), Some(width)) = (self.height, self.width) else {
            let key = if self.height.is_none() {
                "height"
            } else {
                "width"
            };
            return Err(fail(
                key,
                "is needed by pixels-csv: the image's size in pixels".into(),
            ));
        };
        if height == 0 || width == 0 {
            return Err(fail(
                "height",
                format!("and width must be at least 1, got {height}×{width}"),
            ));
        }
        if self.max_len != height * width {
            return Err(fail(
                "max_len",
                format!(
                    "is the pixel count for images: {height}×{width} = {} (leave it out), got {}",
                    height * width,
                    self.max_len
                ),
            ));
        }
        if self.pixel_max == 0 {
            return Err(fail("pixel_max", "must be at least 1".into()));
        }
        Ok(())
    }

    /// The image's pixel count for `pixels-csv` when `max_len` is not written: what `parse`
    /// fills in, so every stage reads one step count.
    pub(super) fn settle_max_len(&mut self, max_len_written: bool) {
        if let (DataKind::PixelsCsv, Some(h), Some(w), false) =
            (self.kind, self.height, self.width, max_len_written)
        {
            self.max_len = h * w;
        }
    }
}
