//! Ensembles (`train.ensemble`): several networks trained alike from different seeds, each
//! from its own pretraining, answering with the mean of their probabilities. A network
//! trained on a few hundred sentences is sure of itself whether right or wrong; its siblings
//! are wrong elsewhere, so the mean is both more often right and less sure when it is not.
//!
//! The first member is the run's own training (its curves, checkpoints and `model.bpk`); the
//! others are trained after it and written beside it (`model-2.bpk`, …: the run directory's
//! `member_file`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::prelude::*;
use emojify_data::{Embeddings, Encoded, Event, Observer};
use emojify_model::Classifier;

use crate::config::RunConfig;
use crate::fit::epoch::train_epoch;
use crate::fit::model::SharedMatrix;
use crate::fit::probabilities::probabilities;
use crate::fit::setup::Training;
use crate::inputs::splits::Split;
use crate::strategies::pretrain::{self, Pretrained};

/// One network, or several whose class probabilities are averaged.
#[derive(Debug, Clone)]
pub struct Ensemble {
    members: Vec<Classifier>,
}

impl Ensemble {
    /// A single network.
    pub fn one(model: Classifier) -> Self {
        Ensemble {
            members: vec![model],
        }
    }

    /// `first` and the other members, in member order.
    pub fn new(first: Classifier, others: Vec<Classifier>) -> Self {
        let mut members = Vec::with_capacity(1 + others.len());
        members.push(first);
        members.extend(others);
        Ensemble { members }
    }

    pub fn members(&self) -> &[Classifier] {
        &self.members
    }

    /// The first member: the run's own training.
    pub fn first(&self) -> &Classifier {
        &self.members[0]
    }

    /// The network, when there is only one (what exporting a single graph needs).
    pub fn single(&self) -> Option<&Classifier> {
        match self.members.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }

    /// Mean class probabilities of the members for every encoded sentence.
    pub fn probabilities(
        &self,
        encoded: &[Encoded],
        device: &Device,
    ) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut mean = probabilities(self.first(), encoded, device)?;
        if self.members.len() == 1 {
            return Ok(mean);
        }
        for member in &self.members[1..] {
            let probs = probabilities(member, encoded, device)?;
            for (m, p) in mean.iter_mut().zip(probs) {
                for (a, b) in m.iter_mut().zip(p) {
                    *a += b;
                }
            }
        }
        let n = self.members.len() as f32;
        for m in &mut mean {
            for a in m.iter_mut() {
                *a /= n;
            }
        }
        Ok(mean)
    }
}

/// Spacing of member seeds: far enough apart that runs with neighbouring seeds (a sweep's 1,
/// 2, 3, …) share no member.
const SEED_STRIDE: u64 = 1_000_003;

/// The seed of member `j` (from 0) of a run seeded `seed`; the first member's is the run's.
pub fn member_seed(seed: u64, j: usize) -> u64 {
    seed.wrapping_add(SEED_STRIDE.wrapping_mul(j as u64))
}

/// `config` as member `j` trains it: only the seed differs.
pub fn member_config(config: &RunConfig, j: usize) -> RunConfig {
    let mut c = config.clone();
    c.seed = member_seed(config.seed, j);
    c
}

/// A raised stop flag ended the training of a network after the run's own (an ensemble member
/// or a calibration fold) between two epochs; the caller checkpoints the run's own network.
#[derive(Debug, thiserror::Error)]
#[error("stopped on request")]
pub struct Stopped;

/// One network trained as `config` says on `split` (on `device`, an autodiff device), from
/// `start` when pretrained, with the configured weight averaging, its embedding from `matrix`
/// (a frozen one shared with the other networks built from it). `on_epoch` hears each epoch end,
/// and a raised `stop` ends it after the current epoch with [`Stopped`]. Returned in inference
/// mode. What every ensemble member and calibration fold is.
pub fn train_network(
    config: &RunConfig,
    matrix: &SharedMatrix,
    split: &Split,
    device: &Device,
    start: Option<&Pretrained>,
    stop: Option<&AtomicBool>,
    on_epoch: &dyn Fn(usize),
) -> anyhow::Result<Classifier> {
    let Training {
        mut model,
        mut optim,
        mut averaging,
    } = Training::new_from(config, &|| matrix.get(), device, start.map(|s| &s.model))?;
    for epoch in 1..=config.train.epochs {
        (model, _) = train_epoch(model, &mut optim, split, config, epoch, device);
        averaging.end_of_epoch(&model, epoch);
        on_epoch(epoch);
        if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            return Err(Stopped.into());
        }
    }
    Ok(averaging.evaluated(&model))
}

/// A trained member beyond the first.
pub struct Member {
    pub model: Classifier,
    pub seed: u64,
    /// Its pretrained start's cache key (`[pretrain]`).
    pub pretrained: Option<String>,
    /// Training wall-clock seconds (pretraining excluded).
    pub seconds: f64,
}

/// Trains members 2..=`train.ensemble` of `config`'s run on `train` (the first is the run's
/// own training), each from its own pretraining; `inner` is the inference device. A raised
/// `stop` ends it with [`Stopped`].
pub fn train_members(
    config: &RunConfig,
    embeddings: &Embeddings,
    train: &Split,
    inner: &Device,
    obs: &dyn Observer,
    stop: Option<&AtomicBool>,
) -> anyhow::Result<Vec<Member>> {
    let k = config.train.ensemble;
    let device = inner.clone().autodiff();
    let matrix = SharedMatrix::new(config, embeddings, &device);
    let epochs = config.train.epochs as u64;
    let mut members = Vec::with_capacity(k.saturating_sub(1));
    for j in 1..k {
        let c = member_config(config, j);
        let start = pretrain::start(&c, embeddings, inner, obs)?;
        let label = format!("ensemble: training network {} of {k}", j + 1);
        obs.event(Event::Begin(&label));
        let started = Instant::now();
        let model = train_network(&c, &matrix, train, &device, start.as_ref(), stop, &|e| {
            obs.event(Event::Progress {
                done: e as u64,
                total: epochs,
            });
        });
        obs.event(Event::End);
        members.push(Member {
            model: model?,
            seed: c.seed,
            pretrained: start.map(|s| s.key),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_seeds_start_at_the_runs_and_neighbouring_runs_share_none() {
        assert_eq!(member_seed(7, 0), 7);
        let seeds: std::collections::HashSet<u64> = (1..=10)
            .flat_map(|s| (0..4).map(move |j| member_seed(s, j)))
            .collect();
        assert_eq!(seeds.len(), 40);
    }
}
