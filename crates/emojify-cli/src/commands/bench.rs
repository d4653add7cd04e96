//! `emojify bench`: the same training and inference work on each backend, each in a child
//! process of this executable (`emojify bench-worker`), optionally beside PyTorch; the table,
//! JSON and a PNG.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use emojify_train::backend::{BackendKind, WgpuChoice};
use emojify_train::config::RunConfig;
use emojify_train::experiments::bench::{self, BenchRow, BenchSpec, LstmVariant};

#[derive(Args)]
pub struct BenchArgs {
    #[arg(long)]
    config: PathBuf,
    /// Comma-separated backends to run.
    #[arg(long, value_delimiter = ',', default_value = "ndarray,flex,wgpu")]
    backends: Vec<BackendKind>,
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    epochs: u64,
    /// Batch size (default: the config's).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    batch: Option<u64>,
    /// Train on N random examples of max_len ids or numbers (fixed seed) instead of the config's data.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    synthetic: Option<u64>,
    /// Use a seeded random matrix of GloVe's shape instead of GloVe (speed runs only).
    #[arg(long)]
    random_embedding: bool,
    /// How to run the LSTM layers, each a row per backend: one-op (the backend's one-op layer),
    /// persistent or per-step (the two CubeCL designs, wgpu only), composed (burn tensor ops).
    #[arg(long, value_delimiter = ',', default_value = "one-op")]
    lstm: Vec<LstmVariant>,
    /// Shorthand for `--lstm composed`.
    #[arg(long, conflicts_with = "lstm")]
    composed_lstm: bool,
    /// CPU threads for the CPU backends and PyTorch (RAYON_NUM_THREADS / torch.set_num_threads).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    threads: Option<u64>,
    /// Repetitions of each inference timing (median reported).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    reps: u64,
    /// Run every backend (and PyTorch) this many times, in turn, and report each figure's
    /// median: on a shared machine, interleaving spreads the noise over all rows alike.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    #[arg(long, default_value = "default")]
    wgpu_device: WgpuChoice,
    /// Also run benches/pytorch_reference.py (with $EMOJIFY_PYTHON, else the venv of
    /// tests/python/setup.sh) and print each row's ratio to it.
    #[arg(long)]
    compare_pytorch: bool,
    /// The PyTorch reference script.
    #[arg(long, default_value = "benches/pytorch_reference.py")]
    pytorch_script: PathBuf,
    /// Directory for bench.json, bench.md and bench.png.
    #[arg(long, default_value = "bench")]
    out: PathBuf,
}

/// `emojify bench-worker`: one backend of a bench, in its own process (internal).
#[derive(Args)]
pub struct WorkerArgs {
    #[arg(long)]
    backend: BackendKind,
    #[arg(long)]
    spec: String,
}

pub fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let spec: BenchSpec = serde_json::from_str(&args.spec).context("bench-worker --spec")?;
    let row = bench::run_worker(&spec, args.backend)?;
    println!("{}", serde_json::to_string(&row)?);
    Ok(())
}

/// Runs one backend in a child process of this executable (`emojify bench-worker`).
fn run_child(spec: &BenchSpec, backend: BackendKind) -> anyhow::Result<BenchRow> {
    let exe = std::env::current_exe().context("locating the emojify executable")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("bench-worker")
        .arg("--backend")
        .arg(backend.name())
        .arg("--spec")
        .arg(serde_json::to_string(spec)?);
    if let Some(t) = spec.threads {
        cmd.env("RAYON_NUM_THREADS", t.to_string());
    }
    bench::row_from(&mut cmd, &format!("the {backend} bench"))
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let config = RunConfig::load(&args.config)?;
    let spec = BenchSpec {
        config: args.config.clone(),
        epochs: args.epochs as usize,
        batch: args.batch.map_or(config.train.batch_size, |b| b as usize),
        synthetic: args.synthetic.map(|n| n as usize),
        random_embedding: args.random_embedding,
        lstm: LstmVariant::OneOp,
        threads: args.threads.map(|t| t as usize),
        reps: args.reps as usize,
        wgpu_device: args.wgpu_device,
    };
    let variants = if args.composed_lstm {
        vec![LstmVariant::Composed]
    } else {
        args.lstm.clone()
    };
    let has_lstm = matches!(
        config.model,
        emojify_train::config::ModelConfig::Lstm { .. }
    );
    anyhow::ensure!(
        has_lstm || variants == [LstmVariant::OneOp],
        "--lstm and --composed-lstm choose how LSTM layers run; {} has none",
        args.config.display()
    );
    let python = bench::reference_python();
    // The reference's input (the data and an 80 MB embedding) is written once for every round.
    let reference = if args.compare_pytorch {
        anyhow::ensure!(
            args.pytorch_script.is_file(),
            "{} not found: run from the repository root or pass --pytorch-script PATH",
            args.pytorch_script.display()
        );
        let work = tempfile::tempdir().context("temporary directory")?;
        let input = bench::write_reference_input(&spec, work.path())?;
        Some((work, input))
    } else {
        None
    };
    let mut rounds: Vec<Vec<BenchRow>> = Vec::new();
    for round in 1..=args.rounds {
        let mut rows = Vec::new();
        for backend in &args.backends {
            for lstm in variants.iter().filter(|v| v.applies_to(*backend)) {
                let spec = BenchSpec {
                    lstm: *lstm,
                    ..spec.clone()
                };
                let how = if has_lstm {
                    format!(" ({lstm} LSTM)")
                } else {
                    String::new()
                };
                eprintln!("bench: round {round}/{}: {backend}{how} …", args.rounds);
                let row = run_child(&spec, *backend)?;
                eprintln!(
                    "bench: {}: median epoch {:.3} s, {:.0} train sentences/s",
                    row.backend, row.median_epoch_s, row.train_sentences_per_s
                );
                rows.push(row);
            }
        }
        if let Some((_, input)) = &reference {
            eprintln!("bench: round {round}/{}: pytorch …", args.rounds);
            rows.push(bench::run_pytorch(
                &spec,
                &python,
                &args.pytorch_script,
                input,
            )?);
        }
        rounds.push(rows);
    }
    let rows: Vec<BenchRow> = (0..rounds.first().map_or(0, Vec::len))
        .filter_map(|i| {
            let same: Vec<BenchRow> = rounds.iter().map(|r| r[i].clone()).collect();
            bench::median_row(&same)
        })
        .collect();
    let cpu = bench::Cpu::detect();
    let mut table = bench::markdown(&rows, &spec, &cpu);
    if rounds.len() > 1 {
        table.push_str(&format!(
            "\nEach figure is the median of {} rounds, each running every row in turn.\n",
            rounds.len()
        ));
        table.push_str(&bench::round_ratios(&rounds));
    }
    println!("{table}");
    emojify_data::atomic::write_bytes_atomic(&args.out.join("bench.md"), table.as_bytes())?;
    crate::write_json(
        &args.out.join("bench.json"),
        &serde_json::json!({ "spec": spec, "cpu": cpu, "rows": rows, "rounds": rounds }),
    )?;
    let names: Vec<String> = rows.iter().map(|r| r.backend.clone()).collect();
    emojify_train::run::plot::bars_png(
        table.lines().next().unwrap_or_default(),
        &names,
        &[
            (
                "training sentences/s",
                rows.iter().map(|r| r.train_sentences_per_s).collect(),
            ),
            (
                "inference sentences/s at batch 1024",
                rows.iter().map(|r| r.infer_b1024_sentences_per_s).collect(),
            ),
        ],
        &args.out.join("bench.png"),
    )?;
    eprintln!("wrote {}/bench.{{md,json,png}}", args.out.display());
    Ok(())
}
