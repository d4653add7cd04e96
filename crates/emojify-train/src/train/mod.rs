//! Training a run: data, model and optimizer assembled, the epochs run (`epoch`), evaluation
//! after each, checkpoints, and everything written to the run directory. Progress and results go
//! to a [`Reporter`], not to the terminal.

mod augment;

pub use augment::Negation;
mod epoch;
mod setup;

pub use epoch::{EpochProgress, train_epoch, train_epoch_from};
pub use setup::{Averaging, Training, optimizer};

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use emojify_data::{Embeddings, Event};
use emojify_model::Classifier;
use emojify_model::average::WeightMean;

use crate::checkpoint;
use crate::config::RunConfig;
use crate::embedding::stores_embedding;
use crate::ensemble::{Ensemble, Member, member_file};
use crate::eval::{accuracy, confusion, format_confusion};
use crate::inference::{predicted, probabilities};
use crate::metrics::{self, EpochMetrics, RunSummary};
use crate::model::build_model;
use crate::report::{Finished, Reporter};
use crate::run_dir::{self, RunDir};
use crate::splits::{Split, load_data};
use crate::weights::{load_weights_bytes, weights_bytes};

/// The result of [`train`].
#[derive(Debug)]
pub struct Outcome {
    pub run_dir: RunDir,
    /// The trained network (or networks, `train.ensemble`), in inference mode.
    pub model: Ensemble,
    pub metrics: Vec<EpochMetrics>,
    pub summary: RunSummary,
}

/// Training stopped on request (Ctrl-C) after writing a checkpoint.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted {at}; checkpoint written to {}/checkpoint. Resume with: emojify train \
     --resume {}",
    run_dir.display(),
    run_dir.display()
)]
pub struct Interrupted {
    pub run_dir: std::path::PathBuf,
    /// Where: "at epoch 3 after batch 12", or in the networks trained after the run's own.
    pub at: String,
}

/// Trains the configured model and writes the run directory.
pub fn train(config: &RunConfig, report: &dyn Reporter) -> anyhow::Result<Outcome> {
    train_with(config, None, report, None)
}

/// Continues the run in `run_dir` from its checkpoint.
pub fn resume(
    run_dir: &Path,
    report: &dyn Reporter,
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
    train_with(&config, Some(run), report, stop)
}

/// Trains from scratch (`resume` = None) or from a run's checkpoint; with `stop`, a raised flag
/// ends training after the current batch with a checkpoint and an [`Interrupted`] error.
pub fn train_with(
    config: &RunConfig,
    resume: Option<RunDir>,
    report: &dyn Reporter,
    stop: Option<&AtomicBool>,
) -> anyhow::Result<Outcome> {
    let note = |s: String| report.event(Event::Note(s));
    // The device first: a missing GPU adapter should fail before minutes of data loading.
    let device = config.backend.device(config.wgpu_device)?;
    device.seed(config.seed);
    let (embeddings, train, test) = load_data(config, report)?;
    note(train.report());
    note(test.report());

    let start = crate::pretrain::start(config, &embeddings, &device, report)?;
    let train_device = device.clone().autodiff();
    let Training {
        mut model,
        mut optim,
        mut averaging,
    } = Training::new(config, &embeddings, &train_device, start.as_ref())?;
    let model_summary = model.summary(config.data.max_len);
    let t = &config.train;
    let (run, position) = match resume {
        None => (
            start_run(config, &embeddings)?,
            checkpoint::Position::start(),
        ),
        Some(run) => {
            let (position, restored) = restore(
                &run,
                config,
                &embeddings,
                &device,
                (&mut model, optim, &mut averaging),
            )?;
            optim = restored;
            note(if position.epoch > t.epochs {
                format!(
                    "resuming {}: its {} epochs are done; training the networks after it",
                    run.path().display(),
                    t.epochs
                )
            } else {
                format!(
                    "resuming {} at epoch {} (batch {})",
                    run.path().display(),
                    position.epoch,
                    position.batch
                )
            });
            (run, position)
        }
    };
    note(format!(
        "training {} on {} for {} epochs (batch {}, {} trainable parameters) → {}",
        config.name,
        config.backend,
        t.epochs,
        t.batch_size,
        model_summary.trainable(),
        run.path().display()
    ));
    match t.average_from {
        Some(from) if from > t.epochs => report.event(Event::Warning(format!(
            "train.average_from = {from} is after the last epoch ({}): no weights are averaged",
            t.epochs
        ))),
        Some(from) => note(format!(
            "the model evaluated and saved is the mean of the weights after epochs {from}–{}",
            t.epochs
        )),
        None => {}
    }

    let mut metrics = position.metrics.clone();
    report.epochs(position.epoch, t.epochs);
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
            report.abandoned();
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
                at: format!("at epoch {epoch} after batch {}", progress.batches_done),
            }
            .into());
        }
        let loss = f64::from(progress.loss_sum) / epoch::epoch_len(&train, config) as f64;
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
        if !loss.is_finite() {
            report.abandoned();
            anyhow::bail!("training diverged at epoch {epoch}: loss is {loss}");
        }
        let m = EpochMetrics {
            epoch,
            loss,
            train_acc,
            test_acc,
            seconds,
        };
        let log = epoch == 1 || epoch.is_multiple_of(t.log_every) || epoch == t.epochs;
        report.epoch(&m, log);
        metrics.push(m);
        run.write(
            run_dir::METRICS_FILE,
            metrics::metrics_csv(&metrics).as_bytes(),
        )?;
        let stopping = stop.is_some_and(|s| s.load(Ordering::SeqCst));
        let due = t.checkpoint_every > 0 && epoch.is_multiple_of(t.checkpoint_every);
        if epoch < t.epochs && (due || stopping) {
            let next = checkpoint::Position {
                metrics: metrics.clone(),
                ..checkpoint::Position::start_of(epoch + 1)
            };
            save_checkpoint(&model, &optim, &averaging, next)?;
            if stopping {
                report.abandoned();
                return Err(Interrupted {
                    run_dir: run.path().to_path_buf(),
                    at: format!("at epoch {} after batch 0", epoch + 1),
                }
                .into());
            }
        }
    }

    // What follows trains more networks (ensemble members, calibration folds); a stop there
    // checkpoints the run's own network as done, so that resuming trains only those.
    let valid = averaging.evaluated(&model);
    let finished =
        crate::ensemble::train_members(config, &embeddings, &train, &device, report, stop)
            .and_then(|members| {
                write_results(
                    &run,
                    config,
                    (&embeddings, &train, &test),
                    start.as_ref(),
                    (valid, members),
                    &metrics,
                    (model_summary.trainable(), model_summary.total()),
                    (&device, stop),
                    report,
                )
            });
    let (summary, model) = match finished {
        Err(e) if e.is::<crate::ensemble::Stopped>() => {
            report.abandoned();
            let done = checkpoint::Position {
                metrics: metrics.clone(),
                ..checkpoint::Position::start_of(t.epochs + 1)
            };
            save_checkpoint(&model, &optim, &averaging, done)?;
            return Err(Interrupted {
                run_dir: run.path().to_path_buf(),
                at: format!(
                    "after the run's {} epochs, in the networks trained after it",
                    t.epochs
                ),
            }
            .into());
        }
        other => other?,
    };
    Ok(Outcome {
        run_dir: run,
        model,
        metrics,
        summary,
    })
}

/// A new run directory with the resolved config (and a vocabulary built from the data).
fn start_run(config: &RunConfig, embeddings: &Embeddings) -> anyhow::Result<RunDir> {
    let run = RunDir::create(&config.out, &config.name)?;
    run.write(run_dir::CONFIG_FILE, config.to_toml().as_bytes())?;
    if stores_embedding(config) {
        let words = serde_json::to_vec(embeddings.vocab.words())?;
        run.write(run_dir::VOCAB_FILE, &words)?;
    }
    Ok(run)
}

/// Loads a run's checkpoint into the model, optimizer and averaging; returns where it was and
/// the restored optimizer.
fn restore(
    run: &RunDir,
    config: &RunConfig,
    embeddings: &Embeddings,
    device: &Device,
    (model, optim, averaging): (&mut Classifier, ModuleOptimizer, &mut Averaging),
) -> anyhow::Result<(checkpoint::Position, ModuleOptimizer)> {
    let saved = checkpoint::load(run)?;
    let with_embedding = stores_embedding(config);
    load_weights_bytes(model, saved.model, "checkpoint weights", with_embedding)?;
    let optim = optim
        .from_bytes(burn::tensor::Bytes::from_bytes_vec(saved.optimizer))
        .map_err(|e| anyhow::anyhow!("checkpoint optimizer state: {e:?}"))?;
    if let Some(average) = saved.average {
        let mut mean = build_model(config, embeddings, device);
        load_weights_bytes(
            &mut mean,
            average.weights,
            "checkpoint weight mean",
            with_embedding,
        )?;
        averaging.mean = Some(WeightMean::resume(mean, average.points));
    }
    Ok((saved.position, optim))
}

/// Writes the trained run's weights (the first network's and the other members'),
/// predictions, summary and plots, and reports it; returns the summary and the ensemble.
#[allow(clippy::too_many_arguments)]
fn write_results(
    run: &RunDir,
    config: &RunConfig,
    (embeddings, train, test): (&Embeddings, &Split, &Split),
    start: Option<&crate::pretrain::Pretrained>,
    (first, members): (Classifier, Vec<Member>),
    metrics: &[EpochMetrics],
    (trainable_params, total_params): (usize, usize),
    (device, stop): (&Device, Option<&AtomicBool>),
    report: &dyn Reporter,
) -> anyhow::Result<(RunSummary, Ensemble)> {
    let temperature = match config.train.calibrate_folds {
        Some(k) => {
            report.event(Event::Begin("temperature scaling: training on folds"));
            let held_out = crate::calibrate::out_of_fold(
                config,
                embeddings,
                train,
                k,
                device,
                start,
                (report, stop),
            );
            report.event(Event::End);
            let t = crate::calibrate::fit_temperature(&held_out?, &train.labels);
            report.event(Event::Note(format!(
                "temperature {t:.3}, fitted on {k} folds' held-out predictions"
            )));
            Some(t)
        }
        None => None,
    };
    let with_embedding = stores_embedding(config);
    let weights = weights_bytes(&first, with_embedding)?;
    let mut member_summaries = Vec::with_capacity(members.len());
    let mut member_weights = Vec::with_capacity(members.len());
    for (j, m) in members.iter().enumerate() {
        let bytes = weights_bytes(&m.model, with_embedding)?;
        member_summaries.push(metrics::MemberSummary {
            seed: m.seed,
            weights: member_file(j + 1),
            weights_sha256: emojify_data::hash::sha256_hex(&bytes),
            pretrained: m.pretrained.clone(),
        });
        member_weights.push(bytes);
    }
    let extra_seconds: f64 = members.iter().map(|m| m.seconds).sum();
    let ensemble = Ensemble::new(first, members.into_iter().map(|m| m.model).collect());
    let train_probs = ensemble.probabilities(&train.encoded, device)?;
    let test_probs = ensemble.probabilities(&test.encoded, device)?;
    let summary = RunSummary {
        name: config.name.clone(),
        backend: config.backend.to_string(),
        seed: config.seed,
        epochs: config.train.epochs,
        train_accuracy: accuracy(&train.labels, &predicted(&train_probs)),
        test_accuracy: accuracy(&test.labels, &predicted(&test_probs)),
        final_loss: metrics.last().map_or(0.0, |m| m.loss),
        seconds: metrics.iter().map(|m| m.seconds).sum::<f64>() + extra_seconds,
        trainable_params,
        total_params,
        embedding_source: embeddings.source.clone(),
        embedding_sha256: embeddings.sha256.clone(),
        train_oov_tokens: train.oov_tokens(),
        test_oov_tokens: test.oov_tokens(),
        train_truncated: train.truncated(),
        test_truncated: test.truncated(),
        weights_sha256: emojify_data::hash::sha256_hex(&weights),
        temperature,
        pretrained: start.map(|s| s.key.clone()),
        members: member_summaries,
    };
    run.write(run_dir::WEIGHTS_FILE, &weights)?;
    for (j, bytes) in member_weights.iter().enumerate() {
        run.write(&member_file(j + 1), bytes)?;
    }
    run.write(
        run_dir::PREDICTIONS_FILE,
        metrics::predictions_csv(config, &[(train, &train_probs), (test, &test_probs)]).as_bytes(),
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
    let plots =
        crate::plot::curves_png(metrics, &title, &run.file(run_dir::CURVES_FILE)).and_then(|()| {
            crate::plot::confusion_png(
                &test_confusion,
                &names,
                "test confusion matrix",
                &run.file(run_dir::CONFUSION_FILE),
            )
        });
    if let Err(e) = plots {
        // The model and metrics are saved; a missing font must not cost the run.
        report.event(Event::Warning(format!("plots not written: {e:#}")));
    }
    report.finished(&Finished {
        summary: &summary,
        confusion: &format_confusion(&test_confusion, &config.data.labels),
        mislabelled: &metrics::mislabelled(config, test, &test_probs),
        run_dir: run.path(),
    });
    Ok((summary, ensemble))
}
