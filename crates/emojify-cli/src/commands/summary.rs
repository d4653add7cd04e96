//! `emojify summary`: the model's layers, output shapes and parameter counts, Keras-style.

use std::path::PathBuf;

use clap::Args;
use emojify_train::backend::{BackendKind, WgpuChoice};
use emojify_train::config::RunConfig;

use crate::progress::Terminal;

#[derive(Args)]
pub struct SummaryArgs {
    #[arg(long)]
    config: PathBuf,
}

pub fn run(args: SummaryArgs) -> anyhow::Result<()> {
    let config = RunConfig::load(&args.config)?;
    let embeddings =
        emojify_train::inputs::embedding::load_embeddings(&config, &Terminal::stderr())?;
    let device = BackendKind::Flex.device(WgpuChoice::Default)?;
    let model = emojify_train::fit::model::build_model(&config, &embeddings, &device);
    let summary = model.summary(config.data.max_len);
    println!("{summary}");
    let networks = config.train.ensemble;
    if networks > 1 {
        // Each network holds its own trainable weights; the frozen embedding is shared when the
        // run is opened.
        println!(
            "An ensemble of {networks} such networks (train.ensemble): {} trainable \
             parameters in all, their probabilities averaged",
            emojify_model::summary::thousands(networks * summary.trainable())
        );
    }
    Ok(())
}
