//! `emojify text`: append an emoji to each sentence of a message.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use emojify_train::backend::BackendKind;
use emojify_train::run::dir::RunDir;
use emojify_train::usage::predict::{Predictor, annotate, message_sentences};

use crate::progress::Terminal;

#[derive(Args)]
pub struct TextArgs {
    /// A run directory; default: the newest run under `runs/`.
    #[arg(long)]
    run: Option<PathBuf>,
    /// One JSON object per sentence instead of the annotated message.
    #[arg(long)]
    json: bool,
    /// Backend: ndarray, flex or wgpu (default: the run's).
    #[arg(long)]
    backend: Option<BackendKind>,
    /// The message; read from stdin when not given.
    message: Option<String>,
}

pub fn run(args: TextArgs) -> anyhow::Result<()> {
    let run = match args.run {
        Some(dir) => dir,
        None => RunDir::latest(Path::new("runs"))?.path().to_path_buf(),
    };
    let predictor = Predictor::from_run(&run, args.backend, &Terminal::stderr())?;
    anyhow::ensure!(
        !predictor.config.data.kind.numeric(),
        "{}: `text` decorates the sentences of a message, and this run classifies rows of numbers \
         (data.kind = \"{}\"); use `emojify predict --run {}` with the numbers",
        run.display(),
        serde_json::to_value(predictor.config.data.kind)?
            .as_str()
            .unwrap_or("numbers"),
        run.display()
    );
    let message = match args.message {
        Some(m) => m,
        None => std::io::read_to_string(std::io::stdin()).context("reading stdin")?,
    };
    // Lines stay lines; sentences within a line are classified one by one.
    let lines = message_sentences(&message);
    let sentences: Vec<String> = lines.iter().flatten().cloned().collect();
    let predictions = predictor.predict(&sentences)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&predictions)?);
    } else if !lines.is_empty() {
        println!("{}", annotate(&lines, &predictions));
    }
    Ok(())
}
