//! A trained run scored on any labelled file: accuracy, per-class precision / recall / F1, the
//! confusion matrix, calibration (expected calibration error over confidence bins, and the
//! bins for a reliability diagram) and the mislabelled examples with their probabilities.

use std::fmt::Write as _;
use std::path::Path;

use emojify_data::Observer;
use serde::Serialize;

use crate::fit::probabilities::predicted;
use crate::fit::scores::{
    CalibrationBin, accuracy, argmax, calibration, confusion, format_confusion, macro_f1, per_class,
};
use crate::inputs::splits::load_file;
use crate::run::open::TrainedRun;
use crate::run::plot;
use crate::strategies::calibrate::probabilities_at;

/// Bins of the reliability diagram (equal width over the top probability).
pub const CALIBRATION_BINS: usize = 10;

/// One class's scores (as a one-vs-rest problem).
#[derive(Debug, Clone, Serialize)]
pub struct ClassScore {
    pub label: usize,
    pub display: String,
    pub name: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Examples of this class in the file.
    pub support: usize,
}

/// A wrongly predicted example.
#[derive(Debug, Clone, Serialize)]
pub struct Mislabelled {
    pub line: u64,
    pub text: String,
    pub expected: String,
    pub predicted: String,
    /// Probability of the predicted label.
    pub probability: f32,
    pub probabilities: Vec<f32>,
}

/// Everything `emojify eval` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub run: String,
    pub file: String,
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub classes: Vec<ClassScore>,
    /// `confusion[expected][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    /// Expected calibration error: Σ over bins of (bin share) · |accuracy − confidence|.
    pub ece: f64,
    pub calibration: Vec<CalibrationBin>,
    pub mislabelled: Vec<Mislabelled>,
    pub oov_tokens: usize,
    pub truncated: usize,
    pub skipped_rows: usize,
}

/// Scores `run` on the labelled file at `path`.
pub fn evaluate(run: &TrainedRun, path: &Path, obs: &dyn Observer) -> anyhow::Result<Evaluation> {
    let config = &run.config;
    let split = load_file(config, &run.embeddings, path, obs)?;
    anyhow::ensure!(!split.labels.is_empty(), "{}: no examples", path.display());
    let probs = probabilities_at(&run.model, &split.encoded, &run.device, run.temperature)?;
    let guesses = predicted(&probs);
    let classes = config.num_classes();
    let matrix = confusion(&split.labels, &guesses, classes);
    let scores: Vec<ClassScore> = per_class(&matrix)
        .into_iter()
        .enumerate()
        .map(|(i, (precision, recall, f1, support))| ClassScore {
            label: i,
            display: config.data.labels[i].clone(),
            name: config.class_name(i).to_string(),
            precision,
            recall,
            f1,
            support,
        })
        .collect();
    let (ece, bins) = calibration(&probs, &split.labels, CALIBRATION_BINS);
    let mislabelled = split
        .examples
        .iter()
        .zip(&probs)
        .zip(&split.labels)
        .filter(|((_, p), label)| argmax(p) != **label)
        .map(|((e, p), &label)| {
            let guess = argmax(p);
            Mislabelled {
                line: e.line,
                text: e.text.clone(),
                expected: config.data.labels[label].clone(),
                predicted: config.data.labels[guess].clone(),
                probability: p[guess],
                probabilities: p.clone(),
            }
        })
        .collect();
    Ok(Evaluation {
        run: run.dir.path().display().to_string(),
        file: path.display().to_string(),
        examples: split.labels.len(),
        accuracy: accuracy(&split.labels, &guesses),
        macro_f1: macro_f1(&split.labels, &guesses, classes),
        classes: scores,
        confusion: matrix,
        ece,
        calibration: bins,
        mislabelled,
        oov_tokens: split.oov_tokens(),
        truncated: split.truncated(),
        skipped_rows: split.skipped_rows,
    })
}

impl Evaluation {
    /// The report as text: headline figures, per-class table, confusion matrix, calibration
    /// bins and the mislabelled examples.
    pub fn text(&self, labels: &[String]) -> String {
        let mut s = format!(
            "{} on {} ({} examples): accuracy {:.4}, macro F1 {:.4}, expected calibration error {:.4}\n",
            self.run, self.file, self.examples, self.accuracy, self.macro_f1, self.ece
        );
        let _ = writeln!(
            s,
            "{} out-of-vocabulary tokens, {} truncated, {} bad rows skipped\n",
            self.oov_tokens, self.truncated, self.skipped_rows
        );
        s.push_str("| class | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|\n");
        for c in &self.classes {
            let _ = writeln!(
                s,
                "| {} {} | {:.3} | {:.3} | {:.3} | {} |",
                c.display, c.name, c.precision, c.recall, c.f1, c.support
            );
        }
        let _ = write!(
            s,
            "\nconfusion matrix (rows expected, columns predicted):\n{}",
            format_confusion(&self.confusion, labels)
        );
        s.push_str("\ncalibration (top probability bins):\n| bin | examples | confidence | accuracy |\n|---|---:|---:|---:|\n");
        for b in self.calibration.iter().filter(|b| b.count > 0) {
            let _ = writeln!(
                s,
                "| {:.1}–{:.1} | {} | {:.3} | {:.3} |",
                b.lower, b.upper, b.count, b.confidence, b.accuracy
            );
        }
        let _ = writeln!(s, "\nmislabelled ({}):", self.mislabelled.len());
        for m in &self.mislabelled {
            let probs: Vec<String> = m.probabilities.iter().map(|p| format!("{p:.2}")).collect();
            let _ = writeln!(
                s,
                "  line {:>4}: expected {} got {} ({:.2}) [{}]  {}",
                m.line,
                m.expected,
                m.predicted,
                m.probability,
                probs.join(" "),
                m.text
            );
        }
        s
    }

    /// `confusion.png` and `reliability.png` in `dir`.
    pub fn plots(&self, dir: &Path, names: &[String]) -> anyhow::Result<()> {
        let title = format!("{} (accuracy {:.3})", self.file, self.accuracy);
        plot::confusion_png(&self.confusion, names, &title, &dir.join("confusion.png"))?;
        plot::reliability_png(
            &self.calibration,
            &format!("{}: reliability, ECE {:.3}", self.file, self.ece),
            &dir.join("reliability.png"),
        )
    }
}
