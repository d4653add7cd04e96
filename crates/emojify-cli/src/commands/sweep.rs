//! `emojify sweep`: the same config over seeds 1..=N, with a min/median/max table.

use std::path::PathBuf;

use clap::Args;
use emojify_train::backend::BackendKind;
use emojify_train::config::RunConfig;

use crate::overrides::Overrides;
use crate::progress::Terminal;

#[derive(Args)]
pub struct SweepArgs {
    #[arg(long)]
    config: PathBuf,
    /// Seeds 1..=N.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// Backend: ndarray, flex or wgpu.
    #[arg(long)]
    backend: Option<BackendKind>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    epochs: Option<u64>,
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the per-seed summaries as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also plot each seed's train and test accuracy (PNG) here.
    #[arg(long)]
    plot: Option<PathBuf>,
}

pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let mut config = RunConfig::load(&args.config)?;
    Overrides {
        backend: args.backend,
        epochs: args.epochs,
        out: args.out,
        ..Overrides::default()
    }
    .apply(&mut config);
    let seeds: Vec<u64> = (1..=args.seeds).collect();
    let result = emojify_train::experiments::sweep::sweep(&config, &seeds, &Terminal::stderr())?;
    println!(
        "{} on {}, {} epochs:\n",
        config.name, config.backend, config.train.epochs
    );
    print!("{}", result.markdown());
    if let Some(path) = args.json {
        crate::write_json(&path, &result)?;
    }
    if let Some(path) = args.plot {
        result.plot(&config.name, &path)?;
        println!("\nplot: {}", path.display());
    }
    Ok(())
}
