//! `emojify train`: train a config (or resume a run) with a progress bar; Ctrl-C stops after
//! the current batch with a checkpoint.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::Args;
use emojify_train::config::RunConfig;
use emojify_train::run::train;

use crate::overrides::Overrides;
use crate::progress::{Notes, Terminal};

#[derive(Args)]
pub struct TrainArgs {
    /// The run's TOML config.
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Continue an interrupted run from its checkpoint (its own config is used, unchanged).
    #[arg(long, conflicts_with_all = ["backend", "wgpu_device", "epochs", "seed", "batch_size", "out", "data_dir"])]
    resume: Option<PathBuf>,
    #[command(flatten)]
    overrides: Overrides,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

/// Ctrl-C asks training to stop after the current batch (the current epoch in the networks
/// trained after the run's own); a second Ctrl-C exits at once.
static STOP: AtomicBool = AtomicBool::new(false);

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!(
            "\nstopping after the current batch (of an ensemble's later networks: epoch), with a \
             checkpoint (Ctrl-C again to quit at once) …"
        );
    })
    .context("installing the Ctrl-C handler")?;
    let report = Terminal::new(if args.quiet {
        Notes::Hidden
    } else {
        Notes::Stdout
    });
    let result = match (&args.resume, &args.config) {
        (Some(run), _) => train::resume(run, &report, Some(&STOP)),
        (None, Some(path)) => {
            let mut config = RunConfig::load(path)?;
            args.overrides.apply(&mut config);
            train::train_with(&config, None, &report, Some(&STOP))
        }
        (None, None) => anyhow::bail!("give --config FILE or --resume RUN_DIR"),
    };
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is::<train::Interrupted>() => {
            eprintln!("{e}");
            std::process::exit(130);
        }
        Err(e) => Err(e),
    }
}
