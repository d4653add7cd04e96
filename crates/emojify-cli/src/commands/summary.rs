//! `emojify summary`: the model's layers, output shapes and parameter counts, Keras-style.

use std::path::PathBuf;

use clap::Args;
use emojify_train::backend::WgpuChoice;
use emojify_train::{BackendKind, RunConfig};

use crate::progress::Terminal;

#[derive(Args)]
pub struct SummaryArgs {
    #[arg(long)]
    config: PathBuf,
}

pub fn run(args: SummaryArgs) -> anyhow::Result<()> {
    let config = RunConfig::load(&args.config)?;
    let embeddings = emojify_train::embedding::load_embeddings(&config, &Terminal::stderr())?;
    let device = BackendKind::Flex.device(WgpuChoice::Default)?;
    let model = emojify_train::model::build_model(&config, &embeddings, &device);
    println!("{}", model.summary(config.data.max_len));
    Ok(())
}
