//! The training loop: a short explicit loop over epochs and batches, evaluation after each
//! epoch, and everything written to the run directory.

use std::fmt::Write as _;
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use emojify_data::{Encoded, batch_order};
use emojify_model::Classifier;
use emojify_model::loss::cross_entropy;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use crate::config::{OptimizerKind, RunConfig, TrainConfig};
use crate::eval::{accuracy, argmax, confusion, format_confusion};
use crate::pipeline::{
    Split, build_model, load_embeddings, load_splits, token_batch, weights_bytes,
};
use crate::run_dir::{self, RunDir};

/// One row of `metrics.csv`.
#[derive(Debug, Clone, Serialize)]
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

/// Class probabilities for every encoded sentence, computed in batches without autodiff.
pub fn probabilities(
    model: &Classifier,
    encoded: &[Encoded],
    device: &Device,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(encoded.len());
    for chunk in encoded.chunks(512) {
        let refs: Vec<&Encoded> = chunk.iter().collect();
        let batch = token_batch(&refs, device);
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

fn predicted(probs: &[Vec<f32>]) -> Vec<usize> {
    probs.iter().map(|p| argmax(p)).collect()
}

/// The configured optimizer (Adam with Keras' ε by default).
pub fn optimizer(t: &TrainConfig) -> ModuleOptimizer {
    match t.optimizer {
        OptimizerKind::Sgd => SgdConfig::new().init(),
        OptimizerKind::Adam => AdamConfig::new()
            .with_beta_1(t.beta1 as f32)
            .with_beta_2(t.beta2 as f32)
            .with_epsilon(t.epsilon as f32)
            .init(),
    }
}

/// One pass over `train` in the epoch's shuffled order; returns the updated model and the
/// mean loss (read back once at the end, so the device is not synchronised every step).
pub fn train_epoch(
    mut model: Classifier,
    optim: &mut ModuleOptimizer,
    train: &Split,
    config: &RunConfig,
    epoch: usize,
    device: &Device,
) -> (Classifier, f64) {
    let t = &config.train;
    let order = batch_order(
        train.encoded.len(),
        t.batch_size,
        t.shuffle.then(|| epoch_seed(config.seed, epoch)),
    );
    let mut loss_sum: Option<Tensor<1>> = None;
    for (step, indices) in order.iter().enumerate() {
        let refs: Vec<&Encoded> = indices.iter().map(|&i| &train.encoded[i]).collect();
        let batch = token_batch(&refs, device);
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
    }
    let loss = loss_sum.map_or(0.0, |s| f64::from(s.into_scalar::<f32>()))
        / train.encoded.len().max(1) as f64;
    (model, loss)
}

/// Trains the configured model and writes the run directory.
pub fn train(config: &RunConfig, quiet: bool) -> anyhow::Result<Outcome> {
    let say = |s: &str| {
        if !quiet {
            println!("{s}");
        }
    };
    // The device first: a missing GPU adapter should fail before minutes of data loading.
    let device = config.backend.device(config.wgpu_device)?;
    device.seed(config.seed);
    let embeddings = load_embeddings(config)?;
    let (train, test) = load_splits(config, &embeddings)?;
    say(&train.report());
    say(&test.report());

    let train_device = device.clone().autodiff();
    let mut model = build_model(config, &embeddings, &train_device);
    let model_summary = model.summary(config.data.max_len);
    let t = &config.train;
    let mut optim = optimizer(t);

    let run = RunDir::create(&config.out, &config.name)?;
    run.write(run_dir::CONFIG_FILE, config.to_toml().as_bytes())?;
    say(&format!(
        "training {} on {} for {} epochs (batch {}, {} trainable parameters) → {}",
        config.name,
        config.backend,
        t.epochs,
        t.batch_size,
        model_summary.trainable(),
        run.path().display()
    ));

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
    let mut metrics = Vec::with_capacity(t.epochs);
    for epoch in 1..=t.epochs {
        let started = Instant::now();
        let loss;
        (model, loss) = train_epoch(model, &mut optim, &train, config, epoch, &train_device);
        let seconds = started.elapsed().as_secs_f64();
        let valid = model.valid();
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
    }
    bar.finish_and_clear();

    let valid = model.valid();
    let train_probs = probabilities(&valid, &train.encoded, &device)?;
    let test_probs = probabilities(&valid, &test.encoded, &device)?;
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
    };
    run.write(run_dir::WEIGHTS_FILE, &weights_bytes(&valid)?)?;
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
