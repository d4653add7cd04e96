//! What a run measures and writes as tables: one [`EpochMetrics`] row per epoch
//! (`metrics.csv`), the [`RunSummary`] (`summary.json`), per-sentence predictions
//! (`predictions.csv`) and the list of mislabelled sentences.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::fit::scores::argmax;
use crate::inputs::splits::Split;

/// One row of `metrics.csv`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub loss: f64,
    pub train_acc: f64,
    pub test_acc: f64,
    /// Wall-clock seconds of this epoch's training steps (evaluation excluded).
    pub seconds: f64,
    /// Macro-averaged F1 on the test split (0 in checkpoints written before it was kept).
    #[serde(default)]
    pub test_macro_f1: f64,
}

/// What a finished run reports (also `summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub name: String,
    pub backend: String,
    pub seed: u64,
    pub epochs: usize,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    /// Macro-averaged F1 on the test split, as scikit-learn computes it (TweetEval's metric).
    pub test_macro_f1: f64,
    pub final_loss: f64,
    /// Training wall-clock seconds, all epochs (evaluation excluded).
    pub seconds: f64,
    pub trainable_params: usize,
    pub total_params: usize,
    pub embedding_source: String,
    pub embedding_sha256: String,
    pub train_oov_tokens: usize,
    pub test_oov_tokens: usize,
    pub train_truncated: usize,
    pub test_truncated: usize,
    /// SHA-256 of `model.bpk`, checked whenever the run is loaded.
    pub weights_sha256: String,
    /// Temperature fitted by `train.calibrate_folds`, applied by every command that opens the
    /// run (none: 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// The cache key of the pretrained layers the run started from (`[pretrain]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrained: Option<String>,
    /// The ensemble's other networks (`train.ensemble`), in member order; checked like
    /// `weights_sha256` whenever the run is loaded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberSummary>,
}

/// A network of an ensemble beyond the first, as `summary.json` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberSummary {
    pub seed: u64,
    /// Its weights file in the run directory (`model-2.bpk`, …).
    pub weights: String,
    pub weights_sha256: String,
    /// The cache key of its pretrained layers (`[pretrain]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrained: Option<String>,
}

pub fn metrics_csv(metrics: &[EpochMetrics]) -> String {
    // Seconds stay the last column: the one thing that differs between two identical runs.
    let mut s = String::from("epoch,loss,train_acc,test_acc,test_macro_f1,seconds\n");
    for m in metrics {
        let _ = writeln!(
            s,
            "{},{:.6},{:.6},{:.6},{:.6},{:.4}",
            m.epoch, m.loss, m.train_acc, m.test_acc, m.test_macro_f1, m.seconds
        );
    }
    s
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn predictions_csv(config: &RunConfig, splits: &[(&Split, &Vec<Vec<f32>>)]) -> String {
    let mut s = String::from("split,line,sentence,expected,predicted,confidence\n");
    for (split, probs) in splits {
        for ((example, p), &label) in split.examples.iter().zip(probs.iter()).zip(&split.labels) {
            let guess = argmax(p);
            let _ = writeln!(
                s,
                "{},{},{},{},{},{:.4}",
                split.name,
                example.line,
                csv_field(&example.text),
                csv_field(config.class_name(label)),
                csv_field(config.class_name(guess)),
                p[guess]
            );
        }
    }
    s
}

/// `holdout.csv`: each row of the split data file, by line, with its class and the side
/// `data.split` put it on.
pub fn holdout_csv(config: &RunConfig, train: &Split, test: &Split) -> String {
    let mut rows: Vec<(u64, usize, &str)> = [train, test]
        .iter()
        .flat_map(|s| s.examples.iter().map(move |e| (e.line, e.label, s.name)))
        .collect();
    rows.sort_unstable();
    let mut s = String::from("line,class,split\n");
    for (line, label, side) in rows {
        let _ = writeln!(s, "{line},{},{side}", csv_field(config.class_name(label)));
    }
    s
}

pub fn mislabelled(config: &RunConfig, split: &Split, probs: &[Vec<f32>]) -> String {
    let mut s = String::new();
    let wrong: Vec<_> = split
        .examples
        .iter()
        .zip(probs)
        .zip(&split.labels)
        .filter(|((_, p), label)| argmax(p) != **label)
        .collect();
    let _ = writeln!(
        s,
        "\nmislabelled {} {} ({}):",
        split.name,
        split.noun(),
        wrong.len()
    );
    for ((example, p), &label) in wrong {
        let guess = argmax(p);
        let _ = writeln!(
            s,
            "  expected {} got {} ({:.2})  {}",
            config.data.labels[label], config.data.labels[guess], p[guess], example.text
        );
    }
    s
}
