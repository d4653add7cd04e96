//! k-fold cross-validation on the training split only: how hyper-parameters (dropout, learning
//! rate, batch size, weight averaging, number of epochs) are chosen without ever looking at the
//! test set; it also scores the seeds' models as one ensemble.

use std::fmt::Write as _;

use emojify_data::{Event, Observer};
use serde::Serialize;

use crate::config::RunConfig;
use crate::fit::epoch::train_epoch;
use crate::fit::optim::Averaging;
use crate::fit::probabilities::{predicted, probabilities};
use crate::fit::scores::{accuracy, macro_f1};
use crate::fit::setup::Training;
use crate::inputs::splits::load_data;
use crate::run::plot;
use crate::strategies::folds::{FoldsOver, fold_indices, subset};
use crate::strategies::pretrain;

/// What a validation curve measures, and so what the best epoch and setting are chosen by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    #[default]
    Accuracy,
    /// Macro-averaged F1 (scikit-learn's): every class counts alike, as in TweetEval.
    MacroF1,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::MacroF1 => "macro-F1",
        }
    }

    fn score(self, labels: &[usize], predicted: &[usize], classes: usize) -> f64 {
        match self {
            Metric::Accuracy => accuracy(labels, predicted),
            Metric::MacroF1 => macro_f1(labels, predicted, classes),
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "accuracy" => Ok(Metric::Accuracy),
            "macro-f1" => Ok(Metric::MacroF1),
            _ => Err(format!(
                "unknown metric `{s}` (expected accuracy or macro-f1)"
            )),
        }
    }
}

/// One grid point's validation curve, averaged over folds and seeds.
#[derive(Debug, Clone, Serialize)]
pub struct CvResult {
    /// What the curves measure (the fields keep their `_acc` names for older readers).
    pub metric: Metric,
    pub dropout: f64,
    pub learning_rate: f64,
    pub batch_size: usize,
    /// Weight averaging from this epoch on (`train.average_from`); none = off.
    pub average_from: Option<usize>,
    /// Mean validation accuracy after each epoch (index 0 = epoch 1).
    pub mean_val_acc: Vec<f64>,
    /// Validation accuracy of the seeds' models together (their class probabilities averaged)
    /// after each epoch, mean over folds: what an ensemble of that many seeds would score.
    pub ensemble_val_acc: Vec<f64>,
}

/// The epoch (1-based) with the highest accuracy on `curve`; the earliest on ties.
pub fn best_epoch(curve: &[f64]) -> (usize, f64) {
    curve.iter().enumerate().fold(
        (0, f64::MIN),
        |best, (i, &a)| {
            if a > best.1 { (i + 1, a) } else { best }
        },
    )
}

/// The values tried for each hyper-parameter; the grid is every combination.
#[derive(Debug, Clone)]
pub struct Grid {
    pub dropouts: Vec<f64>,
    pub learning_rates: Vec<f64>,
    pub batch_sizes: Vec<usize>,
    pub average_from: Vec<Option<usize>>,
    /// What every point is scored by.
    pub metric: Metric,
}

impl Grid {
    /// Every combination of the training hyper-parameters, in the order dropout, learning rate,
    /// batch size. Weight averaging only changes which weights are scored, so each training
    /// serves every `average_from` value.
    fn trainings(&self) -> Vec<(f64, f64, usize)> {
        let mut points = Vec::new();
        for &d in &self.dropouts {
            for &lr in &self.learning_rates {
                for &b in &self.batch_sizes {
                    points.push((d, lr, b));
                }
            }
        }
        points
    }
}

/// One averaging option's running sums of validation accuracy, per epoch.
#[derive(Clone)]
struct Tally {
    /// Over folds and seeds, single models.
    single: Vec<f64>,
    /// Over folds, the seeds' models as one ensemble.
    ensemble: Vec<f64>,
}

/// Runs every point of `grid`, `epochs` epochs each, over `folds` folds of the training split
/// and every seed, with [`Event::Progress`] after each (fold, seed) training.
pub fn cross_validate(
    config: &RunConfig,
    folds: usize,
    over: FoldsOver,
    seeds: &[u64],
    grid: &Grid,
    epochs: usize,
    obs: &dyn Observer,
) -> anyhow::Result<Vec<CvResult>> {
    let (classes, metric) = (config.num_classes(), grid.metric);
    anyhow::ensure!(
        grid.batch_sizes.iter().all(|&b| b >= 1),
        "--batch-size values must be at least 1"
    );
    anyhow::ensure!(folds >= 2, "--folds must be at least 2");
    let device = config.backend.device(config.wgpu_device)?;
    let (embeddings, train, _test_never_used) = load_data(config, obs)?;
    if config.train.ensemble > 1 {
        obs.event(Event::Warning(format!(
            "train.ensemble = {} is not trained per fold: cross-validation scores single \
             networks, and its seeds' ensemble row is what an ensemble of that many scores",
            config.train.ensemble
        )));
    }
    let fold_sets = fold_indices(&train, folds, over, 0);
    let options = &grid.average_from;
    let trainings = grid.trainings();
    let total = (trainings.len() * folds * seeds.len()) as u64;
    let mut done = 0;
    obs.event(Event::Begin("cross-validation"));
    let mut results = Vec::new();
    for (dropout, learning_rate, batch_size) in trainings {
        let mut c = config.clone();
        c.train.learning_rate = learning_rate;
        c.train.batch_size = batch_size;
        c.train.epochs = epochs;
        c.model.set_dropout(dropout);
        let zeros = vec![0.0; epochs];
        let tally = Tally {
            single: zeros.clone(),
            ensemble: zeros,
        };
        let mut tallies = vec![tally; options.len()];
        for (train_idx, val_idx) in &fold_sets {
            let (fold_train, fold_val) = (
                subset(&train, train_idx, "train"),
                subset(&train, val_idx, "validation"),
            );
            // Per option, per epoch, per validation sentence: the seeds' probabilities summed.
            let mut summed: Vec<Vec<Vec<Vec<f32>>>> = vec![vec![Vec::new(); epochs]; options.len()];
            for &seed in seeds {
                c.seed = seed;
                let start = pretrain::start(&c, &embeddings, &device, obs)?;
                let train_device = device.clone().autodiff();
                // Each averaging option keeps its own mean of the one model trained.
                let Training {
                    mut model,
                    mut optim,
                    ..
                } = Training::new(
                    &c,
                    &embeddings,
                    &train_device,
                    start.as_ref().map(|s| &s.model),
                )?;
                let mut averaging: Vec<Averaging> = options
                    .iter()
                    .map(|&from| Averaging::from_epoch(from))
                    .collect();
                for epoch in 0..epochs {
                    (model, _) =
                        train_epoch(model, &mut optim, &fold_train, &c, epoch + 1, &train_device);
                    let per_option = averaging.iter_mut().zip(&mut tallies).zip(&mut summed);
                    for ((avg, tally), summed) in per_option {
                        avg.end_of_epoch(&model, epoch + 1);
                        let probs =
                            probabilities(&avg.evaluated(&model), &fold_val.encoded, &device)?;
                        tally.single[epoch] +=
                            metric.score(&fold_val.labels, &predicted(&probs), classes);
                        let total = &mut summed[epoch];
                        if total.is_empty() {
                            *total = probs;
                        } else {
                            for (t, p) in total.iter_mut().zip(&probs) {
                                t.iter_mut().zip(p).for_each(|(t, v)| *t += v);
                            }
                        }
                    }
                }
                done += 1;
                obs.event(Event::Progress { done, total });
            }
            for (tally, summed) in tallies.iter_mut().zip(&summed) {
                for (acc, total) in tally.ensemble.iter_mut().zip(summed) {
                    *acc += metric.score(&fold_val.labels, &predicted(total), classes);
                }
            }
        }
        let runs = (folds * seeds.len()) as f64;
        for (&average_from, tally) in options.iter().zip(tallies) {
            results.push(CvResult {
                metric,
                dropout,
                learning_rate,
                batch_size,
                average_from,
                mean_val_acc: tally.single.into_iter().map(|s| s / runs).collect(),
                ensemble_val_acc: tally
                    .ensemble
                    .into_iter()
                    .map(|s| s / folds as f64)
                    .collect(),
            });
        }
    }
    obs.event(Event::End);
    Ok(results)
}

/// Which curve of a [`CvResult`] a table shows.
#[derive(Debug, Clone, Copy)]
pub enum Curve {
    /// Single models, mean over folds and seeds.
    Mean,
    /// The seeds' models as one ensemble, mean over folds.
    Ensemble,
}

impl CvResult {
    fn curve(&self, which: Curve) -> &[f64] {
        match which {
            Curve::Mean => &self.mean_val_acc,
            Curve::Ensemble => &self.ensemble_val_acc,
        }
    }
}

/// The chosen curve at every `every`-th epoch, per grid point, and each one's best epoch.
pub fn markdown(results: &[CvResult], every: usize, which: Curve) -> String {
    let epochs = results.first().map_or(0, |r| r.mean_val_acc.len());
    let shown: Vec<usize> = (1..=epochs)
        .filter(|e| e % every.max(1) == 0 || *e == epochs)
        .collect();
    let mut s = String::from("| dropout | lr | batch | average from |");
    for e in &shown {
        let _ = write!(s, " ep {e} |");
    }
    let metric = results.first().map_or(Metric::Accuracy, |r| r.metric);
    let name = if metric == Metric::Accuracy {
        "acc"
    } else {
        metric.name()
    };
    let _ = write!(s, " best epoch | best val {name} |\n|---:|---:|---:|---:|");
    s.push_str(&"---:|".repeat(shown.len() + 2));
    s.push('\n');
    for r in results {
        let curve = r.curve(which);
        let _ = write!(
            s,
            "| {} | {} | {} | {} |",
            r.dropout,
            r.learning_rate,
            r.batch_size,
            r.average_from.map_or("off".to_string(), |e| e.to_string())
        );
        for e in &shown {
            let _ = write!(s, " {:.4} |", curve[e - 1]);
        }
        let (best, acc) = best_epoch(curve);
        let _ = writeln!(s, " {best} | {acc:.4} |");
    }
    s
}

/// The validation curves as a PNG: single models, and (with more than one seed) the ensembles.
pub fn plot(
    results: &[CvResult],
    seeds: usize,
    name: &str,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let lines = |which: Curve| -> Vec<plot::EpochLine<'_>> {
        results
            .iter()
            .map(|r| {
                let mut label = format!(
                    "dropout {}, lr {}, batch {}",
                    r.dropout, r.learning_rate, r.batch_size
                );
                if let Some(e) = r.average_from {
                    label.push_str(&format!(", averaged from {e}"));
                }
                (label, r.curve(which))
            })
            .collect()
    };
    let mut panels = vec![(
        "single models, mean over folds and seeds",
        lines(Curve::Mean),
    )];
    if seeds > 1 {
        panels.push(("the seeds' models as one ensemble", lines(Curve::Ensemble)));
    }
    plot::epoch_lines_png(
        &format!("{name}: cross-validation on the training split"),
        "validation accuracy",
        &panels,
        path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_epoch_is_the_earliest_maximum() {
        let r = CvResult {
            metric: Metric::Accuracy,
            dropout: 0.5,
            learning_rate: 0.001,
            batch_size: 32,
            average_from: None,
            mean_val_acc: vec![0.5, 0.8, 0.7, 0.8],
            ensemble_val_acc: vec![0.6, 0.8, 0.8, 0.8],
        };
        assert_eq!(best_epoch(&r.mean_val_acc), (2, 0.8));
        assert_eq!(best_epoch(&r.ensemble_val_acc), (2, 0.8));
        let table = markdown(std::slice::from_ref(&r), 2, Curve::Ensemble);
        assert!(
            table.contains("| 0.5 | 0.001 | 32 | off | 0.8000 | 0.8000 | 2 | 0.8000 |"),
            "{table}"
        );
        assert!(table.contains("best val acc"), "{table}");
        let f1 = CvResult {
            metric: Metric::MacroF1,
            ..r.clone()
        };
        assert!(markdown(&[f1], 2, Curve::Mean).contains("best val macro-F1"));
        assert_eq!("macro-f1".parse::<Metric>(), Ok(Metric::MacroF1));
        assert!("f1".parse::<Metric>().is_err());
    }
}
