//! `emojify bench-encoder`: the sentence encoder's inference on each backend (each in a process of
//! its own) against `transformers` on the same files, sentences and threads.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use emojify_train::backend::{BackendKind, WgpuChoice};
use emojify_train::experiments::bench::{Cpu, json_from, reference_python};
use emojify_train::experiments::encoder_bench::{
    EncoderBenchSpec, EncoderRow, default_texts, encoder_markdown, run_encoder_worker,
};

#[derive(Args)]
pub struct BenchEncoderArgs {
    /// Backends to measure, each in a process of its own.
    #[arg(long, value_delimiter = ',', default_value = "flex,ndarray")]
    backends: Vec<BackendKind>,
    /// Batch sizes (each batch padded to its longest sentence).
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    batches: Vec<usize>,
    /// Sentences per measurement at batch sizes above 1 (32 at batch 1).
    #[arg(long, default_value_t = 256)]
    sentences: usize,
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// CPU threads for every backend and PyTorch (RAYON_NUM_THREADS, torch.set_num_threads).
    #[arg(long)]
    threads: Option<usize>,
    /// Also run `transformers` on the same files and sentences.
    #[arg(long)]
    compare_pytorch: bool,
    #[arg(long, default_value = "benches/encoder_reference.py")]
    pytorch_script: PathBuf,
    #[arg(long, default_value = "default")]
    wgpu_device: WgpuChoice,
    /// Where the data files are looked up first.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Directory for bench-encoder.json and bench-encoder.md.
    #[arg(long, default_value = "bench")]
    out: PathBuf,
    /// Internal: measure this backend here and print its rows as JSON.
    #[arg(long, hide = true)]
    worker: Option<BackendKind>,
    #[arg(long, hide = true)]
    spec: Option<String>,
}

pub fn run(args: BenchEncoderArgs) -> anyhow::Result<()> {
    if let (Some(backend), Some(spec)) = (args.worker, &args.spec) {
        let spec: EncoderBenchSpec = serde_json::from_str(spec).context("--spec")?;
        println!(
            "{}",
            serde_json::to_string(&run_encoder_worker(&spec, backend)?)?
        );
        return Ok(());
    }
    anyhow::ensure!(
        !args.batches.contains(&0),
        "--batches: sizes must be at least 1"
    );
    let spec = EncoderBenchSpec {
        texts: default_texts(args.data_dir.as_deref())?,
        batches: args.batches.clone(),
        sentences: args.sentences.max(1),
        reps: args.reps.max(1),
        threads: args.threads,
        wgpu_device: args.wgpu_device,
    };
    // Fetch (or check) the encoder once, before any timing.
    emojify_data::fetch::minilm_dir(
        &emojify_data::fetch::cache_dir()?,
        &crate::progress::Terminal::stderr(),
    )?;
    let spec_json = serde_json::to_string(&spec)?;
    let mut rows: Vec<EncoderRow> = Vec::new();
    for backend in &args.backends {
        eprintln!("bench-encoder: {backend} …");
        let exe = std::env::current_exe().context("locating the emojify executable")?;
        let mut cmd = std::process::Command::new(exe);
        cmd.args([
            "bench-encoder",
            "--worker",
            backend.name(),
            "--spec",
            &spec_json,
        ]);
        if let Some(t) = args.threads {
            cmd.env("RAYON_NUM_THREADS", t.to_string());
        }
        rows.extend(json_from::<Vec<EncoderRow>>(
            &mut cmd,
            &format!("the {backend} worker"),
        )?);
    }
    if args.compare_pytorch {
        anyhow::ensure!(
            args.pytorch_script.is_file(),
            "{} not found: run from the repository root or pass --pytorch-script PATH",
            args.pytorch_script.display()
        );
        eprintln!("bench-encoder: pytorch …");
        let dir = emojify_data::fetch::minilm_cached(&emojify_data::fetch::cache_dir()?)?;
        let mut cmd = std::process::Command::new(reference_python());
        cmd.arg(&args.pytorch_script)
            .arg("--model")
            .arg(&dir)
            .arg("--spec")
            .arg(&spec_json);
        rows.extend(json_from::<Vec<EncoderRow>>(
            &mut cmd,
            "the PyTorch reference",
        )?);
    }
    let cpu = Cpu::detect();
    let table = encoder_markdown(&rows, &spec, &cpu);
    print!("{table}");
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let json = serde_json::json!({ "cpu": cpu, "spec": { "batches": spec.batches,
        "sentences": spec.sentences, "reps": spec.reps, "threads": spec.threads }, "rows": rows });
    emojify_data::atomic::write_bytes_atomic(
        &args.out.join("bench-encoder.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    emojify_data::atomic::write_bytes_atomic(&args.out.join("bench-encoder.md"), table.as_bytes())?;
    eprintln!("wrote {}/bench-encoder.{{md,json}}", args.out.display());
    Ok(())
}
