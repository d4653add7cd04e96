//! `emojify export`: a trained run as safetensors (PyTorch layout) and/or ONNX.

use std::path::PathBuf;

use clap::Args;
use emojify_train::usage::export::ExportFormat;

use crate::progress::Terminal;

#[derive(Args)]
pub struct ExportArgs {
    /// A run directory written by `emojify train`.
    #[arg(long)]
    run: PathBuf,
    /// safetensors, onnx or all.
    #[arg(long, default_value = "all")]
    format: ExportFormat,
    /// Output directory (default: RUN/export), or the file itself for a single format
    /// (`x.safetensors`, `x.onnx`; vocab.txt goes beside the ONNX file).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Leave the 80 MB frozen embedding out of the safetensors file (its source and SHA-256
    /// stay in the metadata).
    #[arg(long)]
    no_embedding: bool,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let files = emojify_train::usage::export::export(
        &args.run,
        args.format,
        args.out.as_deref(),
        !args.no_embedding,
        &Terminal::stderr(),
    )?;
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(())
}
