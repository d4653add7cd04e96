//! Temperature scaling: one number `T` that softens (T > 1) or sharpens (T < 1) every
//! prediction, `p ∝ p₀^(1/T)` (the same as dividing the logits by `T`), fitted to held-out
//! predictions of models trained on folds of the training split — never the test set. The
//! ranking, hence every accuracy, is unchanged; only the probabilities become honest.

use std::sync::atomic::AtomicBool;

use burn::prelude::*;
use emojify_data::{Embeddings, Event, Observer};

use crate::config::RunConfig;
use crate::fit::model::SharedMatrix;
use crate::inputs::splits::Split;
use crate::strategies::ensemble::{Ensemble, member_config, train_network};
use crate::strategies::folds::{FoldsOver, fold_indices, subset};
use crate::strategies::pretrain::{self, Pretrained};

/// `p` at temperature `t`: `p^(1/t)`, normalised.
pub fn scale(p: &[f32], t: f64) -> Vec<f32> {
    if (t - 1.0).abs() < 1e-12 {
        return p.to_vec();
    }
    let logs: Vec<f64> = p
        .iter()
        .map(|&v| f64::from(v).max(1e-45).ln() / t)
        .collect();
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logs.iter().map(|l| (l - top).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// Class probabilities of `encoded` at temperature `t` (what a calibrated run answers).
pub fn probabilities_at(
    model: &Ensemble,
    encoded: &[emojify_data::Encoded],
    device: &Device,
    t: f64,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let probs = model.probabilities(encoded, device)?;
    Ok(probs.iter().map(|p| scale(p, t)).collect())
}

/// Mean negative log-likelihood of `labels` under `probs` at temperature `t`.
fn nll(probs: &[Vec<f32>], labels: &[usize], t: f64) -> f64 {
    let total: f64 = probs
        .iter()
        .zip(labels)
        .map(|(p, &y)| -f64::from(scale(p, t)[y]).max(1e-300).ln())
        .sum();
    total / probs.len().max(1) as f64
}

/// The temperature in [0.05, 50] with the least NLL: a grid in log space, then a finer one
/// around its best point.
pub fn fit_temperature(probs: &[Vec<f32>], labels: &[usize]) -> f64 {
    let search = |lo: f64, hi: f64, steps: usize| {
        (0..=steps)
            .map(|i| (lo.ln() + (hi.ln() - lo.ln()) * i as f64 / steps as f64).exp())
            .map(|t| (t, nll(probs, labels, t)))
            .fold(
                (1.0, f64::INFINITY),
                |best, c| if c.1 < best.1 { c } else { best },
            )
            .0
    };
    let coarse = search(0.05, 50.0, 120);
    search(coarse / 1.1, coarse * 1.1, 40)
}

/// Held-out probabilities of every training example: on each of `k` folds, the run's networks
/// (one, or `train.ensemble` averaged) are trained as `config` says on the other folds — the
/// first from the run's pretrained `start`, the others from their own — and predict the fold.
/// A raised `stop` ends it with [`crate::strategies::ensemble::Stopped`].
pub fn out_of_fold(
    config: &RunConfig,
    embeddings: &Embeddings,
    train: &Split,
    k: usize,
    device: &Device,
    start: Option<&Pretrained>,
    (obs, stop): (&dyn Observer, Option<&AtomicBool>),
) -> anyhow::Result<Vec<Vec<f32>>> {
    let folds = fold_indices(train, k, FoldsOver::All, config.seed);
    let mut out = vec![Vec::new(); train.labels.len()];
    let train_device = device.clone().autodiff();
    let matrix = SharedMatrix::new(config, embeddings, &train_device);
    let networks = config.train.ensemble;
    let mut starts = vec![start.cloned()];
    for j in 1..networks {
        starts.push(pretrain::start(
            &member_config(config, j),
            embeddings,
            device,
            obs,
        )?);
    }
    let total = (k * networks * config.train.epochs) as u64;
    for (f, (rest, held)) in folds.iter().enumerate() {
        let (fit, held_out) = (
            subset(train, rest, "train"),
            subset(train, held, "held out"),
        );
        let mut members = Vec::with_capacity(networks);
        for (j, start) in starts.iter().enumerate() {
            let mut c = member_config(config, j);
            c.seed = c.seed.wrapping_add(1 + f as u64);
            let before = ((f * networks + j) * config.train.epochs) as u64;
            members.push(train_network(
                &c,
                &matrix,
                &fit,
                &train_device,
                start.as_ref(),
                stop,
                &|e| {
                    obs.event(Event::Progress {
                        done: before + e as u64,
                        total,
                    });
                },
            )?);
        }
        let probs =
            Ensemble::new(members.remove(0), members).probabilities(&held_out.encoded, device)?;
        for (&i, p) in held.iter().zip(probs) {
            out[i] = p;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_keeps_the_ranking_and_fits_overconfidence() {
        let p = [0.9f32, 0.07, 0.03];
        let soft = scale(&p, 2.0);
        assert!(soft[0] < 0.9 && soft[0] > soft[1] && soft[1] > soft[2]);
        assert!((soft.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(scale(&p, 1.0), p.to_vec());
        // Always 0.99 sure, right 60 % of the time: the fit softens (T > 1).
        let probs: Vec<Vec<f32>> = (0..100).map(|_| vec![0.99, 0.01]).collect();
        let labels: Vec<usize> = (0..100).map(|i| usize::from(i % 5 >= 3)).collect();
        let t = fit_temperature(&probs, &labels);
        assert!(t > 1.5, "{t}");
        let calibrated = scale(&probs[0], t)[0];
        assert!((calibrated - 0.6).abs() < 0.02, "{calibrated}");
    }
}
