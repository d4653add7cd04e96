//! What `emojify bench` measures: the same training and inference work on one backend
//! ([`run_worker`], which the command line runs in a fresh process per backend so peak memory
//! and thread settings are its own), the PyTorch reference in `benches/pytorch_reference.py`
//! on the same numbers, and the table that compares them. (Past 500 lines only with its unit
//! tests.)

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::prelude::*;
use emojify_data::{Embeddings, Encoded};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use emojify_data::Silent;

use crate::backend::{BackendKind, WgpuChoice};
use crate::config::{ModelConfig, RunConfig};
use crate::fit::epoch::train_epoch;
use crate::fit::probabilities::{predicted, probabilities};
use crate::fit::scores::accuracy;
use crate::fit::setup::Training;
use crate::inputs::embedding::{embedding_tensor, load_embeddings};
use crate::inputs::splits::{Split, load_data, load_splits};

/// What one bench run does; shared by the parent, the worker processes and the PyTorch script.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchSpec {
    pub config: PathBuf,
    pub epochs: usize,
    pub batch: usize,
    /// Random examples instead of the config's data (`max_len` ids or numbers each, random labels,
    /// fixed seed).
    pub synthetic: Option<usize>,
    /// A seeded random matrix of GloVe's shape instead of GloVe (speed only; no accuracy).
    pub random_embedding: bool,
    /// How the LSTM layers run (the one-op layer, one of its CubeCL designs, or composed from
    /// tensor ops), to measure what each gains on the same work.
    #[serde(default)]
    pub lstm: LstmVariant,
    pub threads: Option<usize>,
    /// Repetitions of each inference measurement (the median is reported).
    pub reps: usize,
    pub wgpu_device: WgpuChoice,
}

/// How a bench row runs its LSTM layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LstmVariant {
    /// The one-op layer as the backend runs it by default (the CPU kernel on flex/ndarray; the
    /// CubeCL kernels' default design on wgpu).
    #[default]
    OneOp,
    /// The CubeCL kernels' persistent design (one launch per layer and pass); on the CPU backends
    /// the same as `one-op`.
    Persistent,
    /// The CubeCL kernels' per-step design (a matmul and a cell kernel per step).
    PerStep,
    /// The layer composed from burn tensor ops.
    Composed,
}

impl LstmVariant {
    pub const ALL: [LstmVariant; 4] = [
        LstmVariant::OneOp,
        LstmVariant::Persistent,
        LstmVariant::PerStep,
        LstmVariant::Composed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LstmVariant::OneOp => "one-op",
            LstmVariant::Persistent => "persistent",
            LstmVariant::PerStep => "per-step",
            LstmVariant::Composed => "composed",
        }
    }

    /// Sets this process up to run the variant.
    fn apply(self) {
        use emojify_model::lstm::{cube, op};
        op::set_enabled(self != LstmVariant::Composed);
        match self {
            LstmVariant::Persistent => cube::set_design(cube::Design::Persistent),
            LstmVariant::PerStep => cube::set_design(cube::Design::PerStep),
            LstmVariant::OneOp | LstmVariant::Composed => {}
        }
    }

    /// Whether the variant differs from `one-op` on `backend` (the designs are wgpu's only).
    pub fn applies_to(self, backend: BackendKind) -> bool {
        backend == BackendKind::Wgpu || matches!(self, LstmVariant::OneOp | LstmVariant::Composed)
    }
}

impl std::str::FromStr for LstmVariant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LstmVariant::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown LSTM variant `{s}` (expected one-op, persistent, per-step or composed)"
                )
            })
    }
}

impl std::fmt::Display for LstmVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One backend's figures (one row of the table).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    pub backend: String,
    pub device: String,
    pub threads: Option<usize>,
    pub train_sentences: usize,
    /// The first epoch: kernel compilation / autotune / allocation warm-up included.
    pub warmup_s: f64,
    /// Median of the epochs after the first (the first if there is only one).
    pub median_epoch_s: f64,
    pub total_train_s: f64,
    pub train_sentences_per_s: f64,
    pub infer_b1_ms: f64,
    pub infer_b1024_sentences_per_s: f64,
    pub peak_rss_mib: f64,
    /// Test accuracy after the last epoch (`None` for synthetic data).
    pub test_accuracy: Option<f64>,
}

/// The CPU a bench ran on: which one it is decides the verdict against PyTorch (MKL/oneDNN pull
/// ahead on full-width AVX-512 Intel cores, not on double-pumped AMD Zen 4 ones), so every table
/// names it. A VM may report only "AMD EPYC"; the family and model numbers tell generations apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// `/proc/cpuinfo`'s model name (else the architecture).
    pub model: String,
    /// `cpu family` and `model` from `/proc/cpuinfo` (x86), when known.
    pub family: Option<u32>,
    pub model_number: Option<u32>,
    /// The widest vector extension our CPU kernels dispatch to here: AVX-512, AVX2 (with FMA),
    /// SSE (x86), NEON.
    pub vector: String,
    /// Logical cores the machine offers (a bench may use fewer: its `threads`).
    pub cores: usize,
}

impl Cpu {
    /// This machine's CPU.
    pub fn detect() -> Self {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let (model, family, model_number) = parse_cpuinfo(&info);
        Cpu {
            model: model.unwrap_or_else(|| std::env::consts::ARCH.to_string()),
            family,
            model_number,
            vector: emojify_model::lstm::cpu::vector_extension().to_string(),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
        }
    }

    /// One line for a table: `AMD EPYC (family 25, model 17), AVX-512, 2 logical cores`.
    pub fn describe(&self) -> String {
        let numbers = match (self.family, self.model_number) {
            (Some(f), Some(m)) => format!(" (family {f}, model {m})"),
            _ => String::new(),
        };
        format!(
            "{}{numbers}, {}, {} logical cores",
            self.model, self.vector, self.cores
        )
    }
}

/// The first processor's model name, family and model number in `/proc/cpuinfo` text.
fn parse_cpuinfo(text: &str) -> (Option<String>, Option<u32>, Option<u32>) {
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    (
        field("model name").filter(|m| !m.is_empty()),
        field("cpu family").and_then(|v| v.parse().ok()),
        field("model").and_then(|v| v.parse().ok()),
    )
}

/// The median (mean of the two middle values for an even count; NaN for none).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// GloVe's shape filled with seeded noise, for speed runs where the vectors do not matter.
fn random_embeddings(rows: usize, dim: usize) -> Embeddings {
    let mut rng = StdRng::seed_from_u64(7);
    let words: Vec<String> = (0..rows).map(|i| format!("w{i:07}")).collect();
    let values: Vec<f32> = (0..rows * dim)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    Embeddings::from_rows(words, &values, dim, "random (seed 7)".into(), "none".into())
}

/// `n` random sentences of `len` ids in `1..=vocab` (numeric steps when `vocab` is 0, as for
/// numeric input) with random labels (fixed seed).
pub fn synthetic_split(
    name: &'static str,
    n: usize,
    len: usize,
    vocab: usize,
    classes: usize,
    seed: u64,
) -> Split {
    let mut rng = StdRng::seed_from_u64(seed);
    let encoded: Vec<Encoded> = (0..n)
        .map(|_| {
            if vocab == 0 {
                // Numeric input: uniform values in [-1, 1).
                let values = (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect();
                Encoded {
                    values,
                    length: len,
                    ..Encoded::default()
                }
            } else {
                Encoded {
                    ids: (0..len)
                        .map(|_| rng.random_range(1..=vocab as u32))
                        .collect(),
                    length: len,
                    ..Encoded::default()
                }
            }
        })
        .collect();
    let labels = (0..n).map(|_| rng.random_range(0..classes)).collect();
    Split {
        name,
        examples: Vec::new(),
        extra: vec![false; encoded.len()],
        encoded,
        labels,
        skipped_rows: 0,
        neighbours: None,
        negation: None,
    }
}

/// The data a bench runs on: the config's splits, or synthetic ones.
pub fn bench_data(
    spec: &BenchSpec,
    config: &RunConfig,
) -> anyhow::Result<(Embeddings, Split, Split)> {
    if spec.synthetic.is_none() && !spec.random_embedding {
        return load_data(config, &Silent);
    }
    let embeddings = if spec.random_embedding {
        random_embeddings(400_000, 50)
    } else {
        load_embeddings(config, &Silent)?
    };
    let (train, test) = match spec.synthetic {
        Some(n) => {
            // Numeric input gets numbers whatever embedding was asked for.
            let vocab = if config.data.kind.numeric() {
                0
            } else {
                embeddings.vocab.len()
            };
            let (len, classes) = (config.data.max_len, config.num_classes());
            (
                synthetic_split("train", n, len, vocab, classes, 11),
                synthetic_split("test", 1024, len, vocab, classes, 12),
            )
        }
        None => load_splits(config, &embeddings, &Silent)?,
    };
    Ok((embeddings, train, test))
}

/// Runs the bench for one backend in this process.
pub fn run_worker(spec: &BenchSpec, backend: BackendKind) -> anyhow::Result<BenchRow> {
    let mut config = RunConfig::load(&spec.config)?;
    spec.lstm.apply();
    config.backend = backend;
    config.train.epochs = spec.epochs;
    config.train.batch_size = spec.batch;
    let device = backend.device(spec.wgpu_device)?;
    let (embeddings, train, test) = bench_data(spec, &config)?;
    let train_device = device.clone().autodiff();
    let Training {
        mut model,
        mut optim,
        ..
    } = Training::new(&config, &embeddings, &train_device, None)?;
    drop(embeddings);
    let mut epoch_s = Vec::with_capacity(spec.epochs);
    for epoch in 1..=spec.epochs {
        let started = Instant::now();
        (model, _) = train_epoch(model, &mut optim, &train, &config, epoch, &train_device);
        epoch_s.push(started.elapsed().as_secs_f64());
    }
    let total_train_s = epoch_s.iter().sum();
    let warmup_s = epoch_s.first().copied().unwrap_or(f64::NAN);
    let median_epoch_s = if epoch_s.len() > 1 {
        median(&mut epoch_s[1..])
    } else {
        warmup_s
    };
    let valid = model.valid();
    let test_probs = probabilities(&valid, &test.encoded, &device)?;
    let test_accuracy = spec
        .synthetic
        .is_none()
        .then(|| accuracy(&test.labels, &predicted(&test_probs)));

    let one = &test.encoded[..1];
    let big: Vec<Encoded> = test.encoded.iter().cycle().take(1024).cloned().collect();
    let time = |inputs: &[Encoded]| -> anyhow::Result<f64> {
        let mut times = Vec::with_capacity(spec.reps);
        probabilities(&valid, inputs, &device)?; // warm-up
        for _ in 0..spec.reps {
            let started = Instant::now();
            probabilities(&valid, inputs, &device)?;
            times.push(started.elapsed().as_secs_f64());
        }
        Ok(median(&mut times))
    };
    let infer_b1_ms = time(one)? * 1000.0;
    let infer_b1024_sentences_per_s = 1024.0 / time(&big)?;
    Ok(BenchRow {
        backend: match spec.lstm {
            LstmVariant::OneOp => backend.to_string(),
            variant => format!("{backend} ({variant} LSTM)"),
        },
        device: match backend {
            // The adapter's own name: "llvmpipe (LLVM …)" is Mesa's CPU rasteriser, not a GPU.
            BackendKind::Wgpu => device
                .identity()
                .map_or_else(|| format!("wgpu {}", spec.wgpu_device), |id| id.name),
            _ => "cpu".into(),
        },
        threads: spec.threads,
        train_sentences: train.encoded.len(),
        warmup_s,
        median_epoch_s,
        total_train_s,
        train_sentences_per_s: train.encoded.len() as f64 / median_epoch_s,
        infer_b1_ms,
        infer_b1024_sentences_per_s,
        peak_rss_mib: peak_rss_mib(),
        test_accuracy,
    })
}

/// Runs `cmd` (stderr passed through) and reads the [`BenchRow`] on its last stdout line.
pub fn row_from(cmd: &mut std::process::Command, what: &str) -> anyhow::Result<BenchRow> {
    json_from(cmd, what)
}

/// Runs `cmd` (stderr passed through) and reads the JSON value on its last stdout line: how a
/// bench hears from the process it measured in.
pub fn json_from<T: serde::de::DeserializeOwned>(
    cmd: &mut std::process::Command,
    what: &str,
) -> anyhow::Result<T> {
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("starting {what}"))?;
    anyhow::ensure!(out.status.success(), "{what} failed ({})", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("reading the result of {what}: {line}"))
}

/// Data for the PyTorch reference: the encoded splits and the embedding matrix, so both sides
/// train on the same numbers.
pub fn write_reference_input(spec: &BenchSpec, dir: &Path) -> anyhow::Result<PathBuf> {
    let config = RunConfig::load(&spec.config)?;
    let model = reference_model(&config)?;
    let (embeddings, train, test) = bench_data(spec, &config)?;
    let numbers = config.data.kind.numeric();
    let (rows, dim) = if numbers {
        (0, 1)
    } else {
        let matrix = embedding_tensor(&config, &embeddings, &Device::flex());
        let [rows, dim] = matrix.dims();
        let values = matrix
            .into_data()
            .try_into_vec_as::<f32>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        emojify_data::atomic::write_bytes_atomic(&dir.join("embedding.f32"), &bytes)?;
        (rows, dim)
    };
    let split = |s: &Split| {
        let inputs = if numbers {
            serde_json::json!(
                s.encoded
                    .iter()
                    .map(|e| e.values.clone())
                    .collect::<Vec<_>>()
            )
        } else {
            serde_json::json!(s.encoded.iter().map(|e| e.ids.clone()).collect::<Vec<_>>())
        };
        serde_json::json!({ if numbers { "values" } else { "ids" }: inputs, "labels": s.labels })
    };
    let input = serde_json::json!({
        "model": model, "rows": rows, "dim": dim,
        "classes": config.num_classes(), "epochs": spec.epochs, "batch": spec.batch,
        "lr": config.train.learning_rate, "beta1": config.train.beta1,
        "beta2": config.train.beta2, "eps": config.train.epsilon, "reps": spec.reps,
        "synthetic": spec.synthetic.is_some(),
        "train": split(&train), "test": split(&test),
    });
    let path = dir.join("input.json");
    emojify_data::atomic::write_bytes_atomic(&path, input.to_string().as_bytes())?;
    Ok(path)
}

/// The network `benches/pytorch_reference.py` builds for the config: Emojifier-V2 as Keras
/// builds it, or the CNN; anything else has no reference.
fn reference_model(config: &RunConfig) -> anyhow::Result<serde_json::Value> {
    match &config.model {
        ModelConfig::Lstm {
            hidden,
            layers,
            dropout,
            state,
            bidirectional,
            word_mean,
        } => {
            anyhow::ensure!(
                !bidirectional && !state.pools() && !word_mean,
                "--compare-pytorch times Emojifier-V2 as Keras builds it: one direction, \
                 the state after the last step, no mean word vector (this config has \
                 `bidirectional = {bidirectional}`, `state = {state:?}`, `word_mean = \
                 {word_mean}`)"
            );
            anyhow::ensure!(
                !config.data.kind.numeric(),
                "--compare-pytorch needs token input for an LSTM (the reference is Emojifier-V2)"
            );
            Ok(serde_json::json!({
                "kind": "lstm", "hidden": hidden, "layers": layers, "dropout": dropout,
            }))
        }
        ModelConfig::Cnn {
            channels,
            kernels,
            pools,
            dropout,
        } => Ok(serde_json::json!({
            "kind": "cnn", "height": config.data.height, "width": config.data.width,
            "channels": channels, "kernels": kernels, "pools": pools, "dropout": dropout,
        })),
        _ => anyhow::bail!(
            "--compare-pytorch needs an LSTM config (the reference is Emojifier-V2) or a CNN"
        ),
    }
}

/// The Python that has torch and onnxruntime: `$EMOJIFY_PYTHON`, else the venv that
/// `tests/python/setup.sh` makes in the cache directory, if it exists.
pub fn pyref_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EMOJIFY_PYTHON") {
        return Some(PathBuf::from(p));
    }
    emojify_data::fetch::cache_dir()
        .ok()
        .map(|c| c.join("pyref/bin/python"))
        .filter(|p| p.is_file())
}

/// The Python for the PyTorch reference: [`pyref_python`], else `python3`.
pub fn reference_python() -> PathBuf {
    pyref_python().unwrap_or_else(|| PathBuf::from("python3"))
}

/// Runs `benches/pytorch_reference.py` on `input`, what [`write_reference_input`] wrote (once
/// for all rounds).
pub fn run_pytorch(
    spec: &BenchSpec,
    python: &Path,
    script: &Path,
    input: &Path,
) -> anyhow::Result<BenchRow> {
    let mut cmd = std::process::Command::new(python);
    cmd.arg(script).arg("--input").arg(input);
    if let Some(t) = spec.threads {
        cmd.arg("--threads").arg(t.to_string());
    }
    row_from(
        &mut cmd,
        &format!(
            "the PyTorch reference ({} {})",
            python.display(),
            script.display()
        ),
    )
}

/// One row from several rounds of the same backend: each figure's median over the rounds (the
/// device, thread count and data size are the same in every round).
pub fn median_row(rounds: &[BenchRow]) -> Option<BenchRow> {
    let first = rounds.first()?;
    let med = |pick: fn(&BenchRow) -> f64| median(&mut rounds.iter().map(pick).collect::<Vec<_>>());
    Some(BenchRow {
        warmup_s: med(|r| r.warmup_s),
        median_epoch_s: med(|r| r.median_epoch_s),
        total_train_s: med(|r| r.total_train_s),
        train_sentences_per_s: med(|r| r.train_sentences_per_s),
        infer_b1_ms: med(|r| r.infer_b1_ms),
        infer_b1024_sentences_per_s: med(|r| r.infer_b1024_sentences_per_s),
        peak_rss_mib: med(|r| r.peak_rss_mib),
        test_accuracy: first
            .test_accuracy
            .map(|_| med(|r| r.test_accuracy.unwrap_or(f64::NAN))),
        ..first.clone()
    })
}

/// With several rounds and a PyTorch row: each round's ratios to PyTorch's for training time and
/// batch-1024 inference, one line per backend — how steady a ratio is on a noisy machine.
pub fn round_ratios(rounds: &[Vec<BenchRow>]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let Some(backends) = rounds.first() else {
        return s;
    };
    if rounds.len() < 2 {
        return s;
    }
    for (i, row) in backends
        .iter()
        .enumerate()
        .filter(|(_, r)| r.backend != "pytorch")
    {
        let ratios = |pick: fn(&BenchRow) -> f64| -> Vec<String> {
            rounds
                .iter()
                .filter_map(|round| {
                    let p = round.iter().find(|r| r.backend == "pytorch")?;
                    Some(format!("{:.2}", pick(&round[i]) / pick(p)))
                })
                .collect()
        };
        let train = ratios(|r| r.total_train_s);
        let infer = ratios(|r| r.infer_b1024_sentences_per_s);
        if !train.is_empty() {
            let _ = writeln!(
                s,
                "- {}: total train time / PyTorch's per round {}; inference b=1024 / PyTorch's {}",
                row.backend,
                train.join(", "),
                infer.join(", ")
            );
        }
    }
    s
}

/// The table, as Markdown, headed by what ran and on which CPU; with a PyTorch row, each row
/// also gets its ratio to it.
pub fn markdown(rows: &[BenchRow], spec: &BenchSpec, cpu: &Cpu) -> String {
    use std::fmt::Write as _;
    let reference = rows.iter().find(|r| r.backend == "pytorch");
    // A figure, and its ratio to PyTorch's when there is a PyTorch row.
    let cell = |value: f64, decimals: usize, pick: fn(&BenchRow) -> f64| match reference {
        Some(p) => format!("{value:.decimals$} ({:.2}×)", value / pick(p)),
        None => format!("{value:.decimals$}"),
    };
    let data = match spec.synthetic {
        Some(n) => format!("synthetic {n} sentences"),
        None => format!("{} data", spec.config.display()),
    };
    let mut s = format!(
        "{data}, {} epochs, batch {}, threads {}{}\n\n",
        spec.epochs,
        spec.batch,
        spec.threads.map_or("default".into(), |t| t.to_string()),
        [(spec.random_embedding, ", random embedding"),]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, note)| *note)
            .collect::<String>()
    );
    let _ = writeln!(s, "CPU: {}\n", cpu.describe());
    s.push_str("| backend | device | warm-up s | median epoch s | total train s | train sent/s | infer b=1 ms | infer b=1024 sent/s | peak RSS MiB | test acc |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {} | {} | {} | {} | {} | {:.0} | {} |",
            r.backend,
            r.device,
            r.warmup_s,
            cell(r.median_epoch_s, 3, |p| p.median_epoch_s),
            cell(r.total_train_s, 2, |p| p.total_train_s),
            cell(r.train_sentences_per_s, 0, |p| p.train_sentences_per_s),
            cell(r.infer_b1_ms, 2, |p| p.infer_b1_ms),
            cell(r.infer_b1024_sentences_per_s, 0, |p| p
                .infer_b1024_sentences_per_s),
            r.peak_rss_mib,
            r.test_accuracy.map_or("–".into(), |a| format!("{a:.4}")),
        );
    }
    if reference.is_some() {
        s.push_str("\nRatios are to the PyTorch row: above 1 is slower for times, faster for sentences/s.\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_gives_model_family_and_number() {
        let text = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n\
                    model name\t: AMD EPYC 9B14\nflags\t\t: fpu avx2 avx512f\n\nprocessor\t: 1\n\
                    model name\t: other\n";
        assert_eq!(
            parse_cpuinfo(text),
            (Some("AMD EPYC 9B14".into()), Some(25), Some(17))
        );
        assert_eq!(parse_cpuinfo(""), (None, None, None));
        let cpu = Cpu {
            model: "AMD EPYC".into(),
            family: Some(25),
            model_number: Some(17),
            vector: "AVX-512".into(),
            cores: 2,
        };
        assert_eq!(
            cpu.describe(),
            "AMD EPYC (family 25, model 17), AVX-512, 2 logical cores"
        );
        let here = Cpu::detect();
        assert!(!here.model.is_empty() && here.cores >= 1, "{here:?}");
        if cfg!(target_arch = "x86_64") {
            assert!(["AVX-512", "AVX2", "SSE (no AVX2)"].contains(&here.vector.as_str()));
        }
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn synthetic_is_seeded_and_in_range() {
        let a = synthetic_split("t", 50, 10, 100, 5, 1);
        let b = synthetic_split("t", 50, 10, 100, 5, 1);
        assert_eq!(a.encoded, b.encoded);
        assert!(
            a.encoded
                .iter()
                .all(|e| e.ids.len() == 10 && e.ids.iter().all(|&i| (1..=100).contains(&i)))
        );
        assert!(a.labels.iter().all(|&l| l < 5));
    }

    fn row(backend: &str, train_s: f64, infer: f64) -> BenchRow {
        BenchRow {
            backend: backend.into(),
            device: "cpu".into(),
            threads: Some(2),
            train_sentences: 132,
            warmup_s: 0.1,
            median_epoch_s: train_s / 10.0,
            total_train_s: train_s,
            train_sentences_per_s: 1320.0 / train_s,
            infer_b1_ms: 0.2,
            infer_b1024_sentences_per_s: infer,
            peak_rss_mib: 190.0,
            test_accuracy: Some(0.8),
        }
    }

    #[test]
    fn rounds_combine_to_medians_and_per_round_ratios() {
        let rounds = vec![
            vec![row("flex", 3.0, 30_000.0), row("pytorch", 4.0, 25_000.0)],
            vec![row("flex", 9.0, 20_000.0), row("pytorch", 5.0, 40_000.0)],
            vec![row("flex", 4.0, 36_000.0), row("pytorch", 6.0, 30_000.0)],
        ];
        let flex: Vec<BenchRow> = rounds.iter().map(|r| r[0].clone()).collect();
        let m = median_row(&flex).expect("rows");
        assert_eq!(
            (m.total_train_s, m.infer_b1024_sentences_per_s),
            (4.0, 30_000.0)
        );
        assert_eq!(m.backend, "flex");
        let text = round_ratios(&rounds);
        assert!(
            text.contains("flex: total train time / PyTorch's per round 0.75, 1.80, 0.67"),
            "{text}"
        );
        assert!(
            text.contains("inference b=1024 / PyTorch's 1.20, 0.50, 1.20"),
            "{text}"
        );
        assert!(!text.contains("- pytorch"), "{text}");
        assert!(
            round_ratios(&rounds[..1]).is_empty(),
            "one round has nothing to add"
        );
        assert!(median_row(&[]).is_none());
    }

    #[test]
    fn peak_rss_is_read() {
        assert!(peak_rss_mib() > 1.0);
    }
}
