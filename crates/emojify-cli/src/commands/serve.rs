//! `emojify serve`: a trained run behind the JSON API and web page of `emojify-serve`, until
//! Ctrl-C or SIGTERM (requests in flight are answered first).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use emojify_serve::{Batcher, Limits, ModelInfo};
use emojify_train::backend::BackendKind;
use emojify_train::run::open::TrainedRun;
use emojify_train::usage::predict::Predictor;

use crate::progress::Terminal;

#[derive(Args)]
pub struct ServeArgs {
    /// A run directory written by `emojify train`.
    #[arg(long)]
    run: PathBuf,
    /// Address to listen on; 127.0.0.1 unless told otherwise (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Backend: ndarray, flex or wgpu (default: the run's).
    #[arg(long)]
    backend: Option<BackendKind>,
    #[command(flatten)]
    batching: Batching,
}

/// How requests are batched and limited (shared with `bench-serve`).
#[derive(Args, Clone, Debug)]
pub struct Batching {
    /// Most texts classified in one forward pass (1: no batching across requests).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_batch: u64,
    /// How long the first waiting request waits for others to join its batch.
    #[arg(long, default_value_t = 2.0)]
    pub max_wait_ms: f64,
    /// Largest request body accepted (413 beyond).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Most texts per request (sentences per message for /v1/emojify).
    #[arg(long, default_value_t = 256)]
    pub max_texts: usize,
    /// Longest text or message, in bytes.
    #[arg(long, default_value_t = 10_000)]
    pub max_text_bytes: usize,
    /// Seconds before an unanswered request gets 503.
    #[arg(long, default_value_t = 10.0)]
    pub timeout_s: f64,
}

impl Batching {
    pub fn limits(&self) -> anyhow::Result<Limits> {
        anyhow::ensure!(
            self.timeout_s > 0.0 && self.timeout_s.is_finite(),
            "--timeout-s must be a positive number of seconds"
        );
        Ok(Limits {
            max_body_bytes: self.max_body_bytes,
            max_texts: self.max_texts,
            max_text_bytes: self.max_text_bytes,
            timeout: Duration::from_secs_f64(self.timeout_s),
        })
    }

    pub fn max_wait(&self) -> anyhow::Result<Duration> {
        anyhow::ensure!(
            self.max_wait_ms >= 0.0 && self.max_wait_ms.is_finite(),
            "--max-wait-ms must be a non-negative number"
        );
        Ok(Duration::from_secs_f64(self.max_wait_ms / 1e3))
    }
}

/// Opens the run and starts its batcher thread.
pub fn start(
    run: &std::path::Path,
    backend: Option<BackendKind>,
    batching: &Batching,
) -> anyhow::Result<(Batcher, ModelInfo, std::thread::JoinHandle<()>)> {
    let trained = TrainedRun::open(run, backend, &Terminal::stderr())?;
    let max_wait = batching.max_wait()?;
    let info = ModelInfo::of(&trained, batching.max_batch as usize, max_wait);
    let predictor = Predictor::from(trained);
    let (batcher, thread) = Batcher::start(predictor, batching.max_batch as usize, max_wait)
        .context("starting the model thread")?;
    Ok((batcher, info, thread))
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let limits = args.batching.limits()?;
    let (batcher, info, thread) = start(&args.run, args.backend, &args.batching)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("binding {}", args.addr))?;
        let addr = listener.local_addr()?;
        // The first line of stdout: scripts and tests read the port from it.
        println!("listening on http://{addr}");
        eprintln!(
            "serving {} ({} classes); Ctrl-C or SIGTERM stops after answering requests in flight",
            info.name,
            info.classes.len()
        );
        emojify_serve::serve(
            listener,
            batcher,
            info,
            limits,
            emojify_serve::app::shutdown_signal(),
        )
        .await
        .context("serving")
    })?;
    drop(runtime);
    let _ = thread.join();
    eprintln!("stopped");
    Ok(())
}
