//! Training a run end to end: data and pretrained start loaded, the network built, the epochs
//! run (evaluated after each, checkpointed as configured, resumable), the networks the config
//! adds after it trained (ensemble members, calibration folds), then weights, predictions,
//! summary and plots written to the run directory. Progress and results go to a [`Reporter`],
//! not to the terminal. [`train_with`] reads as the list of these steps.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::prelude::*;
use emojify_data::{Embeddings, Event};
use emojify_model::Classifier;

use crate::config::RunConfig;
use crate::fit::epoch::{EpochProgress, epoch_len, train_epoch_from};
use crate::fit::model::build_model;
use crate::fit::probabilities::{predicted, probabilities};
use crate::fit::scores::{accuracy, confusion, format_confusion, macro_f1};
use crate::fit::setup::Training;
use crate::fit::weights::{load_weights_bytes, weights_bytes};
use crate::inputs::embedding::stores_embedding;
use crate::inputs::splits::{Split, load_data};
use crate::run::checkpoint::{self, Position};
use crate::run::dir::{self, RunDir, member_file};
use crate::run::metrics::{self, EpochMetrics, MemberSummary, RunSummary};
use crate::run::plot;
use crate::run::report::{Finished, Reporter};
use crate::strategies::calibrate;
use crate::strategies::ensemble::{Ensemble, Member, Stopped, train_members};
use crate::strategies::pretrain::{self, Pretrained};

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
        !run.file(dir::SUMMARY_FILE).is_file(),
        "{} has already finished training (its {} is written); nothing to resume",
        run.path().display(),
        dir::SUMMARY_FILE
    );
    let config = RunConfig::load(&run.file(dir::CONFIG_FILE))?;
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
    let inputs = load_inputs(config, report)?;
    let start = inputs.start.as_ref().map(|s| &s.model);
    let fitting = Training::new(config, &inputs.embeddings, &inputs.train_device, start)?;
    let sizes = fitting.model.summary(config.data.max_len);
    let (run, position, fitting) = match resume {
        None => (start_run(config, &inputs)?, Position::start(), fitting),
        Some(run) => {
            let (position, fitting) = restore(&run, config, &inputs, fitting)?;
            report.event(Event::Note(resuming(&run, &position, config.train.epochs)));
            (run, position, fitting)
        }
    };
    announce(config, &run, sizes.trainable(), report);
    let session = Session {
        config,
        inputs,
        run,
        report,
        stop,
    };
    let (fitting, metrics) = session.train_epochs(fitting, position)?;
    let params = (sizes.trainable(), sizes.total());
    let (summary, model) = session.finish(&fitting, &metrics, params)?;
    Ok(Outcome {
        run_dir: session.run,
        model,
        metrics,
        summary,
    })
}

/// What every step of a run reads besides its config: the devices, the data, the pretrained
/// start.
struct Inputs {
    /// For inference; `train_device` is its autodiff twin.
    device: Device,
    train_device: Device,
    embeddings: Embeddings,
    train: Split,
    test: Split,
    start: Option<Pretrained>,
}

/// The device (first: a missing GPU adapter should fail before minutes of data loading), seeded;
/// the embeddings and both splits, reported; the pretrained start, if the config asks for one.
fn load_inputs(config: &RunConfig, report: &dyn Reporter) -> anyhow::Result<Inputs> {
    let device = config.backend.device(config.wgpu_device)?;
    device.seed(config.seed);
    let (embeddings, train, test) = load_data(config, report)?;
    report.event(Event::Note(train.report()));
    report.event(Event::Note(test.report()));
    let start = pretrain::start(config, &embeddings, &device, report)?;
    let train_device = device.clone().autodiff();
    Ok(Inputs {
        device,
        train_device,
        embeddings,
        train,
        test,
        start,
    })
}

/// A new run directory with the resolved config (a vocabulary built from the data; which rows
/// `data.split` held out).
fn start_run(config: &RunConfig, inputs: &Inputs) -> anyhow::Result<RunDir> {
    let run = RunDir::create(&config.out, &config.name)?;
    run.write(dir::CONFIG_FILE, config.to_toml().as_bytes())?;
    if stores_embedding(config) {
        let words = serde_json::to_vec(inputs.embeddings.vocab.words())?;
        run.write(dir::VOCAB_FILE, &words)?;
    }
    if config.data.split.is_some() {
        run.write(
            dir::HOLDOUT_FILE,
            metrics::holdout_csv(config, &inputs.train, &inputs.test).as_bytes(),
        )?;
    }
    Ok(run)
}

/// Loads a run's checkpoint into `fitting` (weights, optimizer state, weight mean); returns
/// where it was.
fn restore(
    run: &RunDir,
    config: &RunConfig,
    inputs: &Inputs,
    mut fitting: Training,
) -> anyhow::Result<(Position, Training)> {
    let saved = checkpoint::load(run)?;
    let with_embedding = stores_embedding(config);
    let what = "checkpoint weights";
    load_weights_bytes(&mut fitting.model, saved.model, what, with_embedding)?;
    fitting.optim = fitting
        .optim
        .from_bytes(burn::tensor::Bytes::from_bytes_vec(saved.optimizer))
        .map_err(|e| anyhow::anyhow!("checkpoint optimizer state: {e:?}"))?;
    if let Some(average) = saved.average {
        let mut mean = build_model(config, &inputs.embeddings, &inputs.device);
        let what = "checkpoint weight mean";
        load_weights_bytes(&mut mean, average.weights, what, with_embedding)?;
        fitting.averaging.resume(mean, average.points);
    }
    Ok((saved.position, fitting))
}

/// The note a resumed run starts with.
fn resuming(run: &RunDir, position: &Position, epochs: usize) -> String {
    if position.epoch > epochs {
        format!(
            "resuming {}: its {epochs} epochs are done; training the networks after it",
            run.path().display(),
        )
    } else {
        format!(
            "resuming {} at epoch {} (batch {})",
            run.path().display(),
            position.epoch,
            position.batch
        )
    }
}

/// Says what is about to be trained, and which weights will be evaluated and saved.
fn announce(config: &RunConfig, run: &RunDir, trainable: usize, report: &dyn Reporter) {
    let t = &config.train;
    report.event(Event::Note(format!(
        "training {} on {} for {} epochs (batch {}, {trainable} trainable parameters) → {}",
        config.name,
        config.backend,
        t.epochs,
        t.batch_size,
        run.path().display()
    )));
    match t.average_from {
        Some(from) if from > t.epochs => report.event(Event::Warning(format!(
            "train.average_from = {from} is after the last epoch ({}): no weights are averaged",
            t.epochs
        ))),
        Some(from) => report.event(Event::Note(format!(
            "the model evaluated and saved is the mean of the weights after epochs {from}–{}",
            t.epochs
        ))),
        None => {}
    }
}

/// A run being trained: its config and directory, its inputs, and whom to tell.
struct Session<'a> {
    config: &'a RunConfig,
    inputs: Inputs,
    run: RunDir,
    report: &'a dyn Reporter,
    stop: Option<&'a AtomicBool>,
}

impl Session<'_> {
    /// The epochs from `position` on; `metrics.csv` is written after each. A raised stop ends it
    /// with a checkpoint and [`Interrupted`].
    fn train_epochs(
        &self,
        mut fitting: Training,
        position: Position,
    ) -> anyhow::Result<(Training, Vec<EpochMetrics>)> {
        let t = &self.config.train;
        let mut metrics = position.metrics.clone();
        self.report.epochs(position.epoch, t.epochs);
        for epoch in position.epoch..=t.epochs {
            // A checkpoint taken inside this epoch: its batches are done, its loss summed.
            let resumed = (epoch == position.epoch && position.batch > 0).then_some(&position);
            let started = Instant::now();
            let EpochProgress {
                model,
                loss_sum,
                batches_done,
                complete,
            } = train_epoch_from(
                fitting.model,
                &mut fitting.optim,
                &self.inputs.train,
                self.config,
                epoch,
                &self.inputs.train_device,
                resumed.map_or((0, None), |p| (p.batch, Some(p.loss_sum))),
                self.stop,
            );
            fitting.model = model;
            let seconds = resumed.map_or(0.0, |p| p.seconds) + started.elapsed().as_secs_f64();
            if !complete {
                self.report.abandoned();
                let here = Position {
                    epoch,
                    batch: batches_done,
                    loss_sum,
                    seconds,
                    metrics: metrics.clone(),
                };
                self.save_checkpoint(&fitting, here)?;
                return Err(
                    self.interrupted(format!("at epoch {epoch} after batch {batches_done}"))
                );
            }
            let m = self.evaluate_epoch(&mut fitting, epoch, loss_sum, seconds)?;
            let log = epoch == 1 || epoch.is_multiple_of(t.log_every) || epoch == t.epochs;
            self.report.epoch(&m, log);
            metrics.push(m);
            let csv = metrics::metrics_csv(&metrics);
            self.run.write(dir::METRICS_FILE, csv.as_bytes())?;
            self.checkpoint_after(&fitting, epoch, &metrics)?;
        }
        Ok((fitting, metrics))
    }

    /// The finished epoch's row: its mean loss, and the accuracy on both splits of the model
    /// evaluated (the weight mean, once averaging has started). A loss that is not finite ends
    /// the run.
    fn evaluate_epoch(
        &self,
        fitting: &mut Training,
        epoch: usize,
        loss_sum: f32,
        seconds: f64,
    ) -> anyhow::Result<EpochMetrics> {
        let Inputs {
            device,
            train,
            test,
            ..
        } = &self.inputs;
        let loss = f64::from(loss_sum) / epoch_len(train, self.config) as f64;
        fitting.averaging.end_of_epoch(&fitting.model, epoch);
        let valid = fitting.averaging.evaluated(&fitting.model);
        let guesses = |split: &Split| -> anyhow::Result<Vec<usize>> {
            Ok(predicted(&probabilities(&valid, &split.encoded, device)?))
        };
        let train_acc = accuracy(&train.labels, &guesses(train)?);
        let test_guesses = guesses(test)?;
        let test_acc = accuracy(&test.labels, &test_guesses);
        let test_macro_f1 = macro_f1(&test.labels, &test_guesses, self.config.num_classes());
        if !loss.is_finite() {
            self.report.abandoned();
            anyhow::bail!("training diverged at epoch {epoch}: loss is {loss}");
        }
        Ok(EpochMetrics {
            epoch,
            loss,
            train_acc,
            test_acc,
            seconds,
            test_macro_f1,
        })
    }

    /// A checkpoint after `epoch` when one is due (`train.checkpoint_every`) or a stop was
    /// asked for; after a stop, [`Interrupted`].
    fn checkpoint_after(
        &self,
        fitting: &Training,
        epoch: usize,
        metrics: &[EpochMetrics],
    ) -> anyhow::Result<()> {
        let t = &self.config.train;
        let stopping = self.stop.is_some_and(|s| s.load(Ordering::SeqCst));
        let due = t.checkpoint_every > 0 && epoch.is_multiple_of(t.checkpoint_every);
        if epoch < t.epochs && (due || stopping) {
            let next = Position {
                metrics: metrics.to_vec(),
                ..Position::start_of(epoch + 1)
            };
            self.save_checkpoint(fitting, next)?;
            if stopping {
                self.report.abandoned();
                return Err(self.interrupted(format!("at epoch {} after batch 0", epoch + 1)));
            }
        }
        Ok(())
    }

    /// Writes the network, optimizer state and weight mean as a checkpoint at `position`.
    fn save_checkpoint(&self, fitting: &Training, position: Position) -> anyhow::Result<()> {
        let with_embedding = stores_embedding(self.config);
        let optim_bytes = fitting
            .optim
            .into_bytes()
            .map_err(|e| anyhow::anyhow!("serialising optimizer state: {e:?}"))?;
        checkpoint::save(
            &self.run,
            &weights_bytes(&fitting.model, with_embedding)?,
            &optim_bytes,
            fitting.averaging.saved(with_embedding)?.as_ref(),
            position,
        )
    }

    fn interrupted(&self, at: String) -> anyhow::Error {
        Interrupted {
            run_dir: self.run.path().to_path_buf(),
            at,
        }
        .into()
    }

    /// After the run's own epochs: the networks trained after it (ensemble members, calibration
    /// folds), then everything written. A stop in there checkpoints the run's own network as
    /// done, so that resuming trains only those.
    fn finish(
        &self,
        fitting: &Training,
        metrics: &[EpochMetrics],
        params: (usize, usize),
    ) -> anyhow::Result<(RunSummary, Ensemble)> {
        let epochs = self.config.train.epochs;
        let valid = fitting.averaging.evaluated(&fitting.model);
        let Inputs {
            device,
            embeddings,
            train,
            ..
        } = &self.inputs;
        let finished = train_members(
            self.config,
            embeddings,
            train,
            device,
            self.report,
            self.stop,
        )
        .and_then(|members| self.write_results(valid, members, metrics, params));
        match finished {
            Err(e) if e.is::<Stopped>() => {
                self.report.abandoned();
                let done = Position {
                    metrics: metrics.to_vec(),
                    ..Position::start_of(epochs + 1)
                };
                self.save_checkpoint(fitting, done)?;
                Err(self.interrupted(format!(
                    "after the run's {epochs} epochs, in the networks trained after it"
                )))
            }
            other => other,
        }
    }

    /// The temperature fitted on held-out folds (`train.calibrate_folds`), if asked for.
    fn temperature(&self) -> anyhow::Result<Option<f64>> {
        let Some(k) = self.config.train.calibrate_folds else {
            return Ok(None);
        };
        let i = &self.inputs;
        self.report
            .event(Event::Begin("temperature scaling: training on folds"));
        let held_out = calibrate::out_of_fold(
            self.config,
            &i.embeddings,
            &i.train,
            k,
            &i.device,
            i.start.as_ref(),
            (self.report, self.stop),
        );
        self.report.event(Event::End);
        let t = calibrate::fit_temperature(&held_out?, &i.train.labels);
        self.report.event(Event::Note(format!(
            "temperature {t:.3}, fitted on {k} folds' held-out predictions"
        )));
        Ok(Some(t))
    }

    /// Writes the trained run's weights (the first network's and the other members'),
    /// predictions, summary and plots, and reports it; returns the summary and the ensemble.
    fn write_results(
        &self,
        first: Classifier,
        members: Vec<Member>,
        metrics: &[EpochMetrics],
        (trainable_params, total_params): (usize, usize),
    ) -> anyhow::Result<(RunSummary, Ensemble)> {
        let (config, i) = (self.config, &self.inputs);
        let temperature = self.temperature()?;
        let with_embedding = stores_embedding(config);
        let weights = weights_bytes(&first, with_embedding)?;
        let mut member_summaries = Vec::with_capacity(members.len());
        let mut member_weights = Vec::with_capacity(members.len());
        for (j, m) in members.iter().enumerate() {
            let bytes = weights_bytes(&m.model, with_embedding)?;
            member_summaries.push(MemberSummary {
                seed: m.seed,
                weights: member_file(j + 1),
                weights_sha256: emojify_data::hash::sha256_hex(&bytes),
                pretrained: m.pretrained.clone(),
            });
            member_weights.push(bytes);
        }
        let extra_seconds: f64 = members.iter().map(|m| m.seconds).sum();
        let ensemble = Ensemble::new(first, members.into_iter().map(|m| m.model).collect());
        let train_probs = ensemble.probabilities(&i.train.encoded, &i.device)?;
        let test_probs = ensemble.probabilities(&i.test.encoded, &i.device)?;
        let test_predicted = predicted(&test_probs);
        let summary = RunSummary {
            name: config.name.clone(),
            backend: config.backend.to_string(),
            seed: config.seed,
            epochs: config.train.epochs,
            train_accuracy: accuracy(&i.train.labels, &predicted(&train_probs)),
            test_accuracy: accuracy(&i.test.labels, &test_predicted),
            test_macro_f1: macro_f1(&i.test.labels, &test_predicted, config.num_classes()),
            final_loss: metrics.last().map_or(0.0, |m| m.loss),
            seconds: metrics.iter().map(|m| m.seconds).sum::<f64>() + extra_seconds,
            trainable_params,
            total_params,
            embedding_source: i.embeddings.source.clone(),
            embedding_sha256: i.embeddings.sha256.clone(),
            train_oov_tokens: i.train.oov_tokens(),
            test_oov_tokens: i.test.oov_tokens(),
            train_truncated: i.train.truncated(),
            test_truncated: i.test.truncated(),
            weights_sha256: emojify_data::hash::sha256_hex(&weights),
            temperature,
            pretrained: i.start.as_ref().map(|s| s.key.clone()),
            members: member_summaries,
        };
        self.run.write(dir::WEIGHTS_FILE, &weights)?;
        for (j, bytes) in member_weights.iter().enumerate() {
            self.run.write(&member_file(j + 1), bytes)?;
        }
        let splits = [(&i.train, &train_probs), (&i.test, &test_probs)];
        let predictions = metrics::predictions_csv(config, &splits);
        self.run
            .write(dir::PREDICTIONS_FILE, predictions.as_bytes())?;
        let json = serde_json::to_string_pretty(&summary)?;
        self.run.write(dir::SUMMARY_FILE, json.as_bytes())?;
        let test_confusion = confusion(&i.test.labels, &test_predicted, config.num_classes());
        self.plots(metrics, &test_confusion);
        self.report.finished(&Finished {
            summary: &summary,
            confusion: &format_confusion(&test_confusion, &config.data.labels),
            mislabelled: &metrics::mislabelled(config, &i.test, &test_probs),
            run_dir: self.run.path(),
        });
        Ok((summary, ensemble))
    }

    /// `curves.png` and `confusion.png`; a failure is a warning, never the run's end (the model
    /// and metrics are saved; a missing font must not cost the run).
    fn plots(&self, metrics: &[EpochMetrics], test_confusion: &[Vec<usize>]) {
        let config = self.config;
        let names: Vec<String> = (0..config.num_classes())
            .map(|i| config.class_name(i).to_string())
            .collect();
        let title = format!("{} ({}, seed {})", config.name, config.backend, config.seed);
        let written =
            plot::curves_png(metrics, &title, &self.run.file(dir::CURVES_FILE)).and_then(|()| {
                plot::confusion_png(
                    test_confusion,
                    &names,
                    "test confusion matrix",
                    &self.run.file(dir::CONFUSION_FILE),
                )
            });
        if let Err(e) = written {
            self.report
                .event(Event::Warning(format!("plots not written: {e:#}")));
        }
    }
}
