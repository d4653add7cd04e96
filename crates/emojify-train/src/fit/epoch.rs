//! The epoch step: one pass over the training split in the epoch's shuffled order, each batch
//! augmented (if configured), forward with dropout, backward, optimizer step; resumable from
//! any batch, and stoppable after the current one.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use emojify_data::{Encoded, batch_order};
use emojify_model::Classifier;
use emojify_model::loss::cross_entropy;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::RunConfig;
use crate::inputs::augment::{negate, neighbour_swap, word_dropout};
use crate::inputs::batcher::model_batch;
use crate::inputs::splits::Split;

/// The shuffle seed of `epoch`, derived from the run seed so runs are reproducible.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(epoch as u64)
}

/// The seed of one batch's dropout masks: a function of (run seed, epoch, batch), so masks need
/// no saved RNG state and do not depend on anything else running in the process.
fn dropout_seed(seed: u64, epoch: usize, step: usize) -> u64 {
    // SplitMix64's finaliser over the three, so nearby (epoch, step) pairs get unrelated seeds.
    let mut z = seed ^ ((epoch as u64) << 32) ^ (step as u64) ^ 0xD1B5_4A32_D192_ED03;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const WORD_DROPOUT_STREAM: u64 = 0x5744_524F_504F_5554;
const NEIGHBOUR_SWAP_STREAM: u64 = 0x4E45_4947_4842_4F52;
const NEGATE_STREAM: u64 = 0x4E45_4741_5449_4F4E;

/// How many sentences one epoch over `train` visits (at least 1, to divide a loss sum by).
pub fn epoch_len(train: &Split, config: &RunConfig) -> usize {
    train.epoch_rows(config.data.train_copies).len().max(1)
}

/// One pass over `train` in the epoch's shuffled order; returns the updated model and the
/// mean loss.
pub fn train_epoch(
    model: Classifier,
    optim: &mut ModuleOptimizer,
    train: &Split,
    config: &RunConfig,
    epoch: usize,
    device: &Device,
) -> (Classifier, f64) {
    let p = train_epoch_from(model, optim, train, config, epoch, device, (0, None), None);
    let loss = f64::from(p.loss_sum) / epoch_len(train, config) as f64;
    (p.model, loss)
}

/// Where an epoch got to: all of it, or up to a stop request.
pub struct EpochProgress {
    pub model: Classifier,
    /// Sum of the batches' losses weighted by batch size, as accumulated on the device (f32).
    pub loss_sum: f32,
    pub batches_done: usize,
    pub complete: bool,
}

/// Trains `epoch` from batch `start.0` on (with the loss summed so far, `start.1`), stopping
/// after the current batch when `stop` is raised. The loss is read back once, at the end, so
/// the device is not synchronised every step; the f32 sum continues exactly across a resume.
#[allow(clippy::too_many_arguments)]
pub fn train_epoch_from(
    mut model: Classifier,
    optim: &mut ModuleOptimizer,
    train: &Split,
    config: &RunConfig,
    epoch: usize,
    device: &Device,
    start: (usize, Option<f32>),
    stop: Option<&AtomicBool>,
) -> EpochProgress {
    let t = &config.train;
    let rows = train.epoch_rows(config.data.train_copies);
    let order = batch_order(
        rows.len(),
        t.batch_size,
        t.shuffle.then(|| epoch_seed(config.seed, epoch)),
    );
    let (first, loss_start) = start;
    let mut loss_sum: Option<Tensor<1>> =
        loss_start.map(|v| Tensor::from_data(TensorData::new(vec![v], [1]), device));
    let mut batches_done = first;
    for (step, slots) in order.iter().enumerate().skip(first) {
        let indices: Vec<usize> = slots.iter().map(|&r| rows[r]).collect();
        let refs: Vec<&Encoded> = indices.iter().map(|&i| &train.encoded[i]).collect();
        // Each augmentation has its own stream, so the dropout masks do not change with it.
        let stream = |id: u64| dropout_seed(config.seed, epoch, step) ^ id;
        let augmented = match &train.neighbours {
            Some(near) if t.neighbour_swap > 0.0 => Some(neighbour_swap(
                &refs,
                near,
                t.neighbour_swap,
                stream(NEIGHBOUR_SWAP_STREAM),
            )),
            _ if t.word_dropout > 0.0 => Some(word_dropout(
                &refs,
                t.word_dropout,
                stream(WORD_DROPOUT_STREAM),
            )),
            _ => None,
        };
        let mut labels: Vec<usize> = indices.iter().map(|&i| train.labels[i]).collect();
        let augmented = match &train.negation {
            Some(negation) if t.negate > 0.0 => {
                let sentences: Vec<&Encoded> = match &augmented {
                    Some(a) => a.iter().collect(),
                    None => refs.clone(),
                };
                let stream = stream(NEGATE_STREAM);
                Some(negate(&sentences, &mut labels, negation, t.negate, stream))
            }
            _ => augmented,
        };
        let batch = match &augmented {
            Some(sentences) => model_batch(&sentences.iter().collect::<Vec<_>>(), device),
            None => model_batch(&refs, device),
        };
        let labels: Vec<i64> = labels.into_iter().map(|l| l as i64).collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [indices.len()]), device);
        let mut rng = StdRng::seed_from_u64(dropout_seed(config.seed, epoch, step));
        let loss = cross_entropy(model.forward_train(&batch, &mut rng), targets);
        let weighted = loss.clone().detach() * indices.len() as f32;
        loss_sum = Some(match loss_sum {
            Some(sum) => sum + weighted,
            None => weighted,
        });
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(t.learning_rate, model, grads);
        batches_done = step + 1;
        if batches_done < order.len() && stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            break;
        }
    }
    EpochProgress {
        model,
        loss_sum: loss_sum.map_or(0.0, |s| s.into_scalar::<f32>()),
        batches_done,
        complete: batches_done >= order.len(),
    }
}
