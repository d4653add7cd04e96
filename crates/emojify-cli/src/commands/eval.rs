//! `emojify eval`: a trained run scored on any labelled file the config's reader accepts.

use std::path::PathBuf;

use clap::Args;
use emojify_train::backend::BackendKind;
use emojify_train::run::open::TrainedRun;

use crate::progress::Terminal;

#[derive(Args)]
pub struct EvalArgs {
    /// A run directory written by `emojify train`.
    #[arg(long)]
    run: PathBuf,
    /// A labelled file (`sentence,label` for EMOJISET-style runs, e.g. data/messages/dev.csv).
    #[arg(long)]
    data: PathBuf,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also write confusion.png and reliability.png into this directory.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Backend: ndarray, flex or wgpu (default: the run's).
    #[arg(long)]
    backend: Option<BackendKind>,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let report = Terminal::stderr();
    let run = TrainedRun::open(&args.run, args.backend, &report)?;
    let evaluation = emojify_train::usage::evaluate::evaluate(&run, &args.data, &report)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
    } else {
        print!("{}", evaluation.text(&run.config.data.labels));
    }
    if let Some(dir) = args.plot {
        let names: Vec<String> = (0..run.config.num_classes())
            .map(|i| run.config.class_name(i).to_string())
            .collect();
        evaluation.plots(&dir, &names)?;
        eprintln!(
            "plots: {}/confusion.png, {}/reliability.png",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}
