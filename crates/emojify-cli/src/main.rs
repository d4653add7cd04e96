//! `emojify`: train, inspect and use emoji classifiers from the command line. This file parses
//! the command line and dispatches; each command is a file in [`commands`], and the library
//! (`emojify-train`) does the work.

mod commands;
mod overrides;
mod progress;

use std::path::Path;

use clap::{Parser, Subcommand};

use commands::{
    bench, bench_encoder, bench_serve, cv, data, eval, export, predict, serve, summary, sweep,
    text, train, vectors,
};

#[derive(Parser)]
#[command(
    name = "emojify",
    version,
    about = "Attach the right emoji to a sentence: train and use GloVe-based classifiers on burn."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model from a TOML config and write a run directory.
    Train(train::TrainArgs),
    /// Classify sentences with a trained run (arguments, or one per line on stdin).
    Predict(predict::PredictArgs),
    /// Append an emoji to each sentence of a message (argument, or stdin when none is given).
    Text(text::TextArgs),
    /// Score a trained run on a labelled file: accuracy, per-class F1, confusion, calibration.
    Eval(eval::EvalArgs),
    /// Train the same config over several seeds and print a min/median/max accuracy table.
    Sweep(sweep::SweepArgs),
    /// Choose dropout, learning rate, batch size, weight averaging and epochs by k-fold
    /// cross-validation on the training split (the test set is not read for scoring).
    Cv(cv::CvArgs),
    /// Print the model's layers, output shapes and parameter counts.
    Summary(summary::SummaryArgs),
    /// Compare backends: the same training and inference work on each, one table.
    Bench(bench::BenchArgs),
    /// One backend of `emojify bench`, in its own process (internal).
    #[command(hide = true)]
    BenchWorker(bench::WorkerArgs),
    /// Serve a trained run: a JSON API and a web page that emojify text as you type.
    Serve(serve::ServeArgs),
    /// Measure the server under load (loopback only), with and without batching, beside a
    /// PyTorch baseline server.
    BenchServe(bench_serve::BenchServeArgs),
    /// The sentence encoder's inference speed on each backend, against transformers.
    BenchEncoder(bench_encoder::BenchEncoderArgs),
    /// Export a trained run for other tools: safetensors (PyTorch layout) and/or ONNX.
    Export(export::ExportArgs),
    /// Inspect and debias word vectors: similarity, nearest words, analogies, bias.
    Vectors(vectors::VectorsArgs),
    /// Data management.
    Data {
        #[command(subcommand)]
        action: data::DataCommand,
    },
}

fn main() {
    // `emojify predict … | head` should stop quietly when the reader goes away, as Unix tools
    // do, instead of panicking in `println!` on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let result = match Cli::parse().command {
        Command::Train(args) => train::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Text(args) => text::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Cv(args) => cv::run(args),
        Command::Summary(args) => summary::run(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchWorker(args) => bench::worker(args),
        Command::Serve(args) => serve::run(args),
        Command::BenchServe(args) => bench_serve::run(args),
        Command::BenchEncoder(args) => bench_encoder::run(args),
        Command::Export(args) => export::run(args),
        Command::Vectors(args) => vectors::run(args),
        Command::Data { action } => data::run(action),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

/// Writes `value` as pretty JSON to `path`, atomically (the commands' `--json FILE`).
fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    emojify_data::atomic::write_bytes_atomic(
        path,
        serde_json::to_string_pretty(value)?.as_bytes(),
    )?;
    Ok(())
}
