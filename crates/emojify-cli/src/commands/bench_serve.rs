//! `emojify bench-serve`: the server under load, on this machine's loopback only — with and
//! without dynamic batching, and the PyTorch model behind a minimal Python HTTP server — at
//! several numbers of concurrent clients, each level bounded in requests and time.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use emojify_serve::load::{self, LoadReport};
use emojify_train::usage::export::ExportFormat;
use serde::Serialize;

use super::serve::{Batching, start};
use crate::progress::Terminal;

#[derive(Args)]
pub struct BenchServeArgs {
    /// A run directory written by `emojify train`.
    #[arg(long)]
    run: PathBuf,
    /// Concurrent clients per level (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
    concurrency: Vec<usize>,
    /// Requests per level at most.
    #[arg(long, default_value_t = 4000)]
    requests: usize,
    /// Seconds per level at most.
    #[arg(long, default_value_t = 15.0)]
    seconds: f64,
    /// Skip the PyTorch baseline.
    #[arg(long)]
    no_pytorch: bool,
    /// The baseline's server script.
    #[arg(long, default_value = "benches/serve_pytorch.py")]
    pytorch_script: PathBuf,
    /// CPU threads for PyTorch (torch.set_num_threads).
    #[arg(long)]
    threads: Option<usize>,
    /// Directory for bench-serve.json and bench-serve.md.
    #[arg(long, default_value = "bench")]
    out: PathBuf,
    #[command(flatten)]
    batching: Batching,
}

/// One server's figures at one load level.
#[derive(Debug, Clone, Serialize)]
struct Row {
    server: String,
    #[serde(flatten)]
    load: LoadReport,
}

/// What clients send: one message per request, as people type them.
const MESSAGES: [&str; 12] = [
    "Let's go see the baseball game tonight!",
    "I love you so much",
    "this movie is not good and not enjoyable",
    "Can we order some noodles?",
    "I am so happy for you!!",
    "I feel sad and lonely today",
    "what a great day",
    "lets have dinner together",
    "she got a new ball for the match",
    "you are my best friend, love you",
    "ugh, this is awful",
    "congratulations on the promotion",
];

pub fn run(args: BenchServeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.seconds > 0.0, "--seconds must be positive");
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        MESSAGES
            .iter()
            .map(|m| Bytes::from(serde_json::json!({ "texts": [m] }).to_string()))
            .collect(),
    );
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let limit = Duration::from_secs_f64(args.seconds);
    let levels = |addr: SocketAddr, name: &str, rows: &mut Vec<Row>| {
        for &c in &args.concurrency {
            eprintln!("bench-serve: {name}, {c} clients …");
            let report = runtime.block_on(load::run(
                addr,
                "/v1/predict",
                Arc::clone(&bodies),
                c,
                args.requests,
                limit,
            ));
            eprintln!(
                "bench-serve: {name}, {c} clients: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms",
                report.requests_per_s, report.p50_ms, report.p99_ms
            );
            rows.push(Row {
                server: name.to_string(),
                load: report,
            });
        }
    };
    let mut rows = Vec::new();
    let unbatched = Batching {
        max_batch: 1,
        ..args.batching.clone()
    };
    for (name, batching) in [
        (
            format!(
                "emojify, batching (max {} texts, {} ms)",
                args.batching.max_batch, args.batching.max_wait_ms
            ),
            &args.batching,
        ),
        ("emojify, no batching".to_string(), &unbatched),
    ] {
        let (batcher, info, thread) = start(&args.run, None, batching)?;
        let limits = batching.limits()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let server = runtime.spawn(emojify_serve::serve(
            listener,
            batcher,
            info,
            limits,
            async {
                let _ = stopped.await;
            },
        ));
        levels(addr, &name, &mut rows);
        let _ = stop.send(());
        runtime.block_on(server)??;
        let _ = thread.join();
    }
    if !args.no_pytorch {
        let work = tempfile::tempdir().context("temporary directory")?;
        emojify_train::usage::export::export(
            &args.run,
            ExportFormat::All,
            Some(work.path()),
            true,
            &Terminal::stderr(),
        )?;
        let mut child = pytorch_server(&args, work.path())?;
        let addr = read_address(&mut child)?;
        levels(addr, "PyTorch + http.server (no batching)", &mut rows);
        let _ = child.kill();
        let _ = child.wait();
    }
    let table = markdown(&rows, &args);
    println!("{table}");
    emojify_data::atomic::write_bytes_atomic(&args.out.join("bench-serve.md"), table.as_bytes())?;
    crate::write_json(&args.out.join("bench-serve.json"), &rows)?;
    eprintln!("wrote {}/bench-serve.{{md,json}}", args.out.display());
    Ok(())
}

fn pytorch_server(
    args: &BenchServeArgs,
    export: &std::path::Path,
) -> anyhow::Result<std::process::Child> {
    anyhow::ensure!(
        args.pytorch_script.is_file(),
        "{} not found: run from the repository root, pass --pytorch-script, or --no-pytorch",
        args.pytorch_script.display()
    );
    let python = emojify_train::experiments::bench::reference_python();
    let mut cmd = std::process::Command::new(&python);
    cmd.arg(&args.pytorch_script)
        .arg("--weights")
        .arg(export.join(emojify_train::usage::export::SAFETENSORS_FILE))
        .arg("--vocab")
        .arg(export.join(emojify_train::usage::export::VOCAB_FILE))
        .arg("--port")
        .arg("0")
        .stdout(std::process::Stdio::piped());
    if let Some(t) = args.threads {
        cmd.arg("--threads").arg(t.to_string());
    }
    cmd.spawn().with_context(|| {
        format!(
            "starting {} {}",
            python.display(),
            args.pytorch_script.display()
        )
    })
}

/// The `listening on http://ADDR` line a server prints first.
fn read_address(child: &mut std::process::Child) -> anyhow::Result<SocketAddr> {
    use std::io::BufRead;
    let stdout = child.stdout.take().context("the server's stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the server's first line")?;
    line.trim()
        .strip_prefix("listening on http://")
        .with_context(|| format!("the server did not start: {line:?}"))?
        .parse()
        .with_context(|| format!("not an address: {line:?}"))
}

fn markdown(rows: &[Row], args: &BenchServeArgs) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "POST /v1/predict, one message per request, at most {} requests or {} s per level, \
         127.0.0.1, {} cores\n\nCPU: {}\n\n| server | clients | requests | errors | requests/s | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|\n",
        args.requests,
        args.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        emojify_train::experiments::bench::Cpu::detect().describe()
    );
    for r in rows {
        let l = &r.load;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} |",
            r.server, l.concurrency, l.requests, l.errors, l.requests_per_s, l.p50_ms, l.p99_ms
        );
    }
    s
}
