//! The training loop: a short explicit loop over epochs and batches, evaluation after each
//! epoch, and everything written to the run directory.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use emojify_data::{Encoded, batch_order};
use emojify_model::Classifier;
use emojify_model::average::WeightMean;
use emojify_model::loss::cross_entropy;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::checkpoint;
use crate::config::{OptimizerKind, RunConfig, TrainConfig};
use crate::eval::{accuracy, argmax, confusion, format_confusion};
use crate::pipeline::{
    Split, build_model, load_data, load_weights_bytes, model_batch, stores_embedding, weights_bytes,
};
use crate::run_dir::{self, RunDir};

/// One row of `metrics.csv`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub loss: f64,
    pub train_acc: f64,
    pub test_acc: f64,
    /// Wall-clock seconds of this epoch's training steps (evaluation excluded).
    pub seconds: f64,
}

/// What a finished run reports (also `summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub name: String,
    pub backend: String,
    pub seed: u64,
    pub epochs: usize,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
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
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// The result of [`train`].
#[derive(Debug)]
pub struct Outcome {
    pub run_dir: RunDir,
    /// The trained model, in inference mode.
    pub model: Classifier,
    pub metrics: Vec<EpochMetrics>,
    pub summary: Summary,
}

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

/// Copies of `sentences` in which each word (not padding) is, with probability `p`, replaced by
/// what `replace` returns for it (kept when it returns `None`). Lengths stay as they were.
fn replace_words(
    sentences: &[&Encoded],
    p: f64,
    seed: u64,
    replace: impl Fn(u32, &mut StdRng) -> Option<u32>,
) -> Vec<Encoded> {
    let mut rng = StdRng::seed_from_u64(seed);
    sentences
        .iter()
        .map(|e| {
            let mut e = (*e).clone();
            for id in e.ids.iter_mut().filter(|id| **id != 0) {
                if rng.random::<f64>() < p
                    && let Some(new) = replace(*id, &mut rng)
                {
                    *id = new;
                }
            }
            e
        })
        .collect()
}

/// Word dropout: words become padding (0), which sits where the words were.
fn word_dropout(sentences: &[&Encoded], p: f64, seed: u64) -> Vec<Encoded> {
    replace_words(sentences, p, seed, |_, _| Some(0))
}

/// Neighbour swap: words become one of their nearest words, drawn uniformly.
fn neighbour_swap(
    sentences: &[&Encoded],
    near: &crate::pipeline::Neighbours,
    p: f64,
    seed: u64,
) -> Vec<Encoded> {
    replace_words(sentences, p, seed, |id, rng| {
        let options = near.get(&id).filter(|o| !o.is_empty())?;
        Some(options[rng.random_range(0..options.len())])
    })
}

/// Class probabilities for every encoded sentence, computed in batches without autodiff.
pub fn probabilities(
    model: &Classifier,
    encoded: &[Encoded],
    device: &Device,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(encoded.len());
    for chunk in encoded.chunks(512) {
        let refs: Vec<&Encoded> = chunk.iter().collect();
        let batch = model_batch(&refs, device);
        let probs = softmax(model.forward(&batch), 1);
        let [_, classes] = probs.dims();
        let values = probs
            .into_data()
            .try_into_vec_as::<f32>()
            .map_err(|e| anyhow::anyhow!("reading probabilities: {e:?}"))?;
        out.extend(values.chunks(classes).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// The most probable class of each row.
pub fn predicted(probs: &[Vec<f32>]) -> Vec<usize> {
    probs.iter().map(|p| argmax(p)).collect()
}

/// The configured optimizer (Adam with Keras' ε by default), with gradient-norm clipping when
/// the config asks for it.
pub fn optimizer(t: &TrainConfig) -> ModuleOptimizer {
    let clip = t
        .clip_grad_norm
        .map(|n| burn::optim::grad_clipping::GradientClippingConfig::Norm(n as f32));
    match t.optimizer {
        OptimizerKind::Sgd => SgdConfig::new().with_gradient_clipping(clip).init(),
        OptimizerKind::Adam => AdamConfig::new()
            .with_beta_1(t.beta1 as f32)
            .with_beta_2(t.beta2 as f32)
            .with_epsilon(t.epsilon as f32)
            .with_grad_clipping(clip)
            .init(),
    }
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
    let loss = f64::from(p.loss_sum) / train.encoded.len().max(1) as f64;
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
    let order = batch_order(
        train.encoded.len(),
        t.batch_size,
        t.shuffle.then(|| epoch_seed(config.seed, epoch)),
    );
    let (first, loss_start) = start;
    let mut loss_sum: Option<Tensor<1>> =
        loss_start.map(|v| Tensor::from_data(TensorData::new(vec![v], [1]), device));
    let mut batches_done = first;
    for (step, indices) in order.iter().enumerate().skip(first) {
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
        let batch = match &augmented {
            Some(sentences) => model_batch(&sentences.iter().collect::<Vec<_>>(), device),
            None => model_batch(&refs, device),
        };
        let labels: Vec<i64> = indices.iter().map(|&i| train.labels[i] as i64).collect();
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

/// Stochastic weight averaging as configured by `train.average_from`.
#[derive(Debug, Clone, Default)]
pub struct Averaging {
    from: Option<usize>,
    mean: Option<WeightMean>,
}

impl Averaging {
    pub fn new(t: &TrainConfig) -> Self {
        Self::from_epoch(t.average_from)
    }

    /// Averaging from the end of epoch `from` on (none: never).
    pub fn from_epoch(from: Option<usize>) -> Self {
        Self { from, mean: None }
    }

    /// Takes `model` into the mean if `epoch` (just finished) is one of the averaged ones.
    pub fn end_of_epoch(&mut self, model: &Classifier, epoch: usize) {
        if self.from.is_some_and(|from| epoch >= from) {
            match &mut self.mean {
                Some(mean) => mean.add(model),
                None => self.mean = Some(WeightMean::new(model)),
            }
        }
    }

    /// The mean as a checkpoint keeps it, once averaging has started.
    pub fn checkpoint(&self, with_embedding: bool) -> anyhow::Result<Option<checkpoint::Average>> {
        self.mean
            .as_ref()
            .map(|mean| {
                Ok(checkpoint::Average {
                    weights: weights_bytes(mean.model(), with_embedding)?,
                    points: mean.count(),
                })
            })
            .transpose()
    }

    /// The model to evaluate and keep: the mean once averaging has started, else `model`.
    pub fn evaluated(&self, model: &Classifier) -> Classifier {
        match &self.mean {
            Some(mean) => mean.model().clone(),
            None => model.valid(),
        }
    }
}

/// Training stopped on request (Ctrl-C) after writing a checkpoint.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted at epoch {epoch} after batch {batch}; checkpoint written to {}/checkpoint. \
     Resume with: emojify train --resume {}",
    run_dir.display(),
    run_dir.display()
)]
pub struct Interrupted {
    pub run_dir: std::path::PathBuf,
    pub epoch: usize,
    pub batch: usize,
}

/// Trains the configured model and writes the run directory.
pub fn train(config: &RunConfig, quiet: bool) -> anyhow::Result<Outcome> {
    train_with(config, None, quiet, None)
}

/// Continues the run in `run_dir` from its checkpoint.
pub fn resume(
    run_dir: &std::path::Path,
    quiet: bool,
    stop: Option<&AtomicBool>,
) -> anyhow::Result<Outcome> {
    let run = RunDir::open(run_dir)?;
    anyhow::ensure!(
        !run.file(run_dir::SUMMARY_FILE).is_file(),
        "{} has already finished training (its {} is written); nothing to resume",
        run.path().display(),
        run_dir::SUMMARY_FILE
    );
    let config = RunConfig::load(&run.file(run_dir::CONFIG_FILE))?;
    train_with(&config, Some(run), quiet, stop)
}

/// Trains from scratch (`resume` = None) or from a run's checkpoint; with `stop`, a raised flag
/// ends training after the current batch with a checkpoint and an [`Interrupted`] error.
pub fn train_with(
    config: &RunConfig,
    resume: Option<RunDir>,
    quiet: bool,
    stop: Option<&AtomicBool>,
) -> anyhow::Result<Outcome> {
    let say = |s: &str| {
        if !quiet {
            println!("{s}");
        }
    };
    // The device first: a missing GPU adapter should fail before minutes of data loading.
    let device = config.backend.device(config.wgpu_device)?;
    device.seed(config.seed);
    let (embeddings, train, test) = load_data(config)?;
    say(&train.report());
    say(&test.report());

    let train_device = device.clone().autodiff();
    let mut model = build_model(config, &embeddings, &train_device);
    let model_summary = model.summary(config.data.max_len);
    let t = &config.train;
    let mut optim = optimizer(t);
    let mut averaging = Averaging::new(t);

    let (run, position) = match resume {
        None => {
            let run = RunDir::create(&config.out, &config.name)?;
            run.write(run_dir::CONFIG_FILE, config.to_toml().as_bytes())?;
            if stores_embedding(config) {
                let words = serde_json::to_vec(embeddings.vocab.words())?;
                run.write(run_dir::VOCAB_FILE, &words)?;
            }
            let start = checkpoint::Position {
                epoch: 1,
                batch: 0,
                loss_sum: 0.0,
                seconds: 0.0,
                metrics: Vec::new(),
            };
            (run, start)
        }
        Some(run) => {
            let saved = checkpoint::load(&run)?;
            load_weights_bytes(
                &mut model,
                saved.model,
                "checkpoint weights",
                stores_embedding(config),
            )?;
            optim = optim
                .from_bytes(burn::tensor::Bytes::from_bytes_vec(saved.optimizer))
                .map_err(|e| anyhow::anyhow!("checkpoint optimizer state: {e:?}"))?;
            if let Some(average) = saved.average {
                let mut mean = build_model(config, &embeddings, &device);
                load_weights_bytes(
                    &mut mean,
                    average.weights,
                    "checkpoint weight mean",
                    stores_embedding(config),
                )?;
                averaging.mean = Some(WeightMean::resume(mean, average.points));
            }
            say(&format!(
                "resuming {} at epoch {} (batch {})",
                run.path().display(),
                saved.position.epoch,
                saved.position.batch
            ));
            (run, saved.position)
        }
    };
    say(&format!(
        "training {} on {} for {} epochs (batch {}, {} trainable parameters) → {}",
        config.name,
        config.backend,
        t.epochs,
        t.batch_size,
        model_summary.trainable(),
        run.path().display()
    ));
    match t.average_from {
        Some(from) if from > t.epochs => eprintln!(
            "warning: train.average_from = {from} is after the last epoch ({}): no weights are \
             averaged",
            t.epochs
        ),
        Some(from) => say(&format!(
            "the model evaluated and saved is the mean of the weights after epochs {from}–{}",
            t.epochs
        )),
        None => {}
    }

    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(t.epochs as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} epoch {pos}/{len} {msg} [{elapsed_precise}<{eta_precise}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut metrics = position.metrics.clone();
    bar.set_position(position.epoch.saturating_sub(1) as u64);
    let save_checkpoint = |model: &Classifier,
                           optim: &ModuleOptimizer,
                           averaging: &Averaging,
                           position: checkpoint::Position|
     -> anyhow::Result<()> {
        let optim_bytes = optim
            .into_bytes()
            .map_err(|e| anyhow::anyhow!("serialising optimizer state: {e:?}"))?;
        checkpoint::save(
            &run,
            &weights_bytes(model, stores_embedding(config))?,
            &optim_bytes,
            averaging.checkpoint(stores_embedding(config))?.as_ref(),
            position,
        )
    };
    for epoch in position.epoch..=t.epochs {
        let (start, prior_seconds) = if epoch == position.epoch && position.batch > 0 {
            ((position.batch, Some(position.loss_sum)), position.seconds)
        } else {
            ((0, None), 0.0)
        };
        let started = Instant::now();
        let progress = train_epoch_from(
            model,
            &mut optim,
            &train,
            config,
            epoch,
            &train_device,
            start,
            stop,
        );
        model = progress.model;
        let seconds = prior_seconds + started.elapsed().as_secs_f64();
        if !progress.complete {
            bar.abandon();
            let here = checkpoint::Position {
                epoch,
                batch: progress.batches_done,
                loss_sum: progress.loss_sum,
                seconds,
                metrics: metrics.clone(),
            };
            save_checkpoint(&model, &optim, &averaging, here)?;
            return Err(Interrupted {
                run_dir: run.path().to_path_buf(),
                epoch,
                batch: progress.batches_done,
            }
            .into());
        }
        let loss = f64::from(progress.loss_sum) / train.encoded.len().max(1) as f64;
        averaging.end_of_epoch(&model, epoch);
        let valid = averaging.evaluated(&model);
        let train_acc = accuracy(
            &train.labels,
            &predicted(&probabilities(&valid, &train.encoded, &device)?),
        );
        let test_acc = accuracy(
            &test.labels,
            &predicted(&probabilities(&valid, &test.encoded, &device)?),
        );
        anyhow::ensure!(
            loss.is_finite(),
            "training diverged at epoch {epoch}: loss is {loss}"
        );
        let m = EpochMetrics {
            epoch,
            loss,
            train_acc,
            test_acc,
            seconds,
        };
        bar.set_message(format!(
            "loss {loss:.4} train {train_acc:.3} test {test_acc:.3}"
        ));
        if !quiet && (epoch == 1 || epoch.is_multiple_of(t.log_every) || epoch == t.epochs) {
            // A hidden bar (no terminal) swallows println, so print directly then.
            let line = format!(
                "epoch {epoch:>4}  loss {loss:.4}  train acc {train_acc:.3}  test acc {test_acc:.3}"
            );
            if bar.is_hidden() {
                println!("{line}");
            } else {
                bar.println(line);
            }
        }
        bar.inc(1);
        metrics.push(m);
        run.write(run_dir::METRICS_FILE, metrics_csv(&metrics).as_bytes())?;
        let stopping = stop.is_some_and(|s| s.load(Ordering::SeqCst));
        let due = t.checkpoint_every > 0 && epoch.is_multiple_of(t.checkpoint_every);
        if epoch < t.epochs && (due || stopping) {
            let next = checkpoint::Position {
                epoch: epoch + 1,
                batch: 0,
                loss_sum: 0.0,
                seconds: 0.0,
                metrics: metrics.clone(),
            };
            save_checkpoint(&model, &optim, &averaging, next)?;
            if stopping {
                bar.abandon();
                return Err(Interrupted {
                    run_dir: run.path().to_path_buf(),
                    epoch: epoch + 1,
                    batch: 0,
                }
                .into());
            }
        }
    }
    bar.finish_and_clear();

    let valid = averaging.evaluated(&model);
    let train_probs = probabilities(&valid, &train.encoded, &device)?;
    let test_probs = probabilities(&valid, &test.encoded, &device)?;
    let weights = weights_bytes(&valid, stores_embedding(config))?;
    let summary = Summary {
        name: config.name.clone(),
        backend: config.backend.to_string(),
        seed: config.seed,
        epochs: t.epochs,
        train_accuracy: accuracy(&train.labels, &predicted(&train_probs)),
        test_accuracy: accuracy(&test.labels, &predicted(&test_probs)),
        final_loss: metrics.last().map_or(0.0, |m| m.loss),
        seconds: metrics.iter().map(|m| m.seconds).sum(),
        trainable_params: model_summary.trainable(),
        total_params: model_summary.total(),
        embedding_source: embeddings.source.clone(),
        embedding_sha256: embeddings.sha256.clone(),
        train_oov_tokens: train.oov_tokens(),
        test_oov_tokens: test.oov_tokens(),
        train_truncated: train.truncated(),
        test_truncated: test.truncated(),
        weights_sha256: sha256_hex(&weights),
    };
    run.write(run_dir::WEIGHTS_FILE, &weights)?;
    run.write(
        run_dir::PREDICTIONS_FILE,
        predictions_csv(config, &[(&train, &train_probs), (&test, &test_probs)]).as_bytes(),
    )?;
    run.write(
        run_dir::SUMMARY_FILE,
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    let test_confusion = confusion(&test.labels, &predicted(&test_probs), config.num_classes());
    let names: Vec<String> = (0..config.num_classes())
        .map(|i| config.class_name(i).to_string())
        .collect();
    let title = format!("{} ({}, seed {})", config.name, config.backend, config.seed);
    let plots = crate::plot::curves_png(&metrics, &title, &run.file(run_dir::CURVES_FILE))
        .and_then(|()| {
            crate::plot::confusion_png(
                &test_confusion,
                &names,
                "test confusion matrix",
                &run.file(run_dir::CONFUSION_FILE),
            )
        });
    if let Err(e) = plots {
        // The model and metrics are saved; a missing font must not cost the run.
        eprintln!("warning: plots not written: {e:#}");
    }

    if !quiet {
        println!(
            "train accuracy {:.4}  test accuracy {:.4}  ({:.1} s)",
            summary.train_accuracy, summary.test_accuracy, summary.seconds
        );
        println!("\ntest confusion matrix:");
        print!("{}", format_confusion(&test_confusion, &config.data.labels));
        print!("{}", mislabelled(config, &test, &test_probs));
        println!("\nrun directory: {}", run.path().display());
    }
    Ok(Outcome {
        run_dir: run,
        model: valid,
        metrics,
        summary,
    })
}

fn metrics_csv(metrics: &[EpochMetrics]) -> String {
    let mut s = String::from("epoch,loss,train_acc,test_acc,seconds\n");
    for m in metrics {
        let _ = writeln!(
            s,
            "{},{:.6},{:.6},{:.6},{:.4}",
            m.epoch, m.loss, m.train_acc, m.test_acc, m.seconds
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

fn predictions_csv(config: &RunConfig, splits: &[(&Split, &Vec<Vec<f32>>)]) -> String {
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

fn mislabelled(config: &RunConfig, split: &Split, probs: &[Vec<f32>]) -> String {
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
        "\nmislabelled {} sentences ({}):",
        split.name,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(ids: &[u32]) -> Encoded {
        Encoded {
            ids: ids.to_vec(),
            length: ids.iter().filter(|&&i| i != 0).count(),
            ..Encoded::default()
        }
    }

    #[test]
    fn neighbour_swap_replaces_words_by_their_neighbours_only_and_is_seeded() {
        let a = sentence(&[1, 2, 0, 0]);
        let refs = [&a];
        let near: crate::pipeline::Neighbours = [(1, vec![10, 11]), (2, vec![20])].into();
        let once = neighbour_swap(&refs, &near, 0.5, 7);
        assert_eq!(
            once,
            neighbour_swap(&refs, &near, 0.5, 7),
            "same seed, same swap"
        );
        let all = neighbour_swap(&refs, &near, 1.0 - 1e-12, 3);
        assert!([10, 11].contains(&all[0].ids[0]), "{:?}", all[0].ids);
        assert_eq!(&all[0].ids[1..], &[20, 0, 0], "padding stays");
        assert_eq!(neighbour_swap(&refs, &near, 0.0, 3), vec![a.clone()]);
        // A word without neighbours is kept.
        let lonely = sentence(&[5]);
        assert_eq!(
            neighbour_swap(&[&lonely], &near, 1.0 - 1e-12, 3),
            vec![lonely.clone()]
        );
    }

    #[test]
    fn word_dropout_pads_words_only_and_is_seeded() {
        let a = sentence(&[5, 9, 7, 3, 0, 0]);
        let b = sentence(&[2, 4, 0, 0, 0, 0]);
        let refs = [&a, &b];
        let once = word_dropout(&refs, 0.5, 7);
        assert_eq!(
            once,
            word_dropout(&refs, 0.5, 7),
            "same seed, same tokens dropped"
        );
        for (kept, orig) in once.iter().zip(refs) {
            assert_eq!(kept.length, orig.length, "lengths stay");
            for (k, o) in kept.ids.iter().zip(&orig.ids) {
                assert!(*k == *o || *k == 0, "a word is kept or becomes padding");
            }
        }
        assert_eq!(word_dropout(&refs, 0.0, 7), vec![a.clone(), b.clone()]);
        // Over many sentences about p of the words go.
        let many: Vec<Encoded> = (0..2_000).map(|_| sentence(&[1, 2, 3, 4, 5])).collect();
        let many_refs: Vec<&Encoded> = many.iter().collect();
        let dropped = word_dropout(&many_refs, 0.2, 3)
            .iter()
            .flat_map(|e| e.ids.iter())
            .filter(|&&i| i == 0)
            .count();
        let share = dropped as f64 / 10_000.0;
        assert!((0.18..0.22).contains(&share), "{share}");
    }
}
