//! `emojify predict`: classify sentences (arguments, or one per line on stdin) with a trained
//! run or an exported safetensors file.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use emojify_train::backend::BackendKind;
use emojify_train::usage::predict::Predictor;

use crate::progress::Terminal;

#[derive(Args)]
pub struct PredictArgs {
    /// A run directory written by `emojify train`.
    #[arg(long, required_unless_present = "weights", conflicts_with = "weights")]
    run: Option<PathBuf>,
    /// A safetensors file written by `emojify export`, instead of a run directory.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Show the k most likely labels.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    top_k: u64,
    /// One JSON array of predictions instead of text.
    #[arg(long)]
    json: bool,
    /// Backend: ndarray, flex or wgpu (default: the run's).
    #[arg(long)]
    backend: Option<BackendKind>,
    /// Classify every example of this data file (in the run's data format) instead of
    /// sentences; relative paths that do not exist here are looked up like the run's data.
    #[arg(long, conflicts_with = "sentences")]
    data: Option<PathBuf>,
    /// `labels`: one predicted class index per line, nothing else (the format benchmark scripts
    /// such as TweetEval's `evaluation_script.py` read).
    #[arg(long, value_enum, default_value = "table", conflicts_with = "json")]
    format: Format,
    /// Sentences to classify; read from stdin (one per line) when none are given.
    sentences: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Labels,
}

pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    let report = Terminal::stderr();
    let predictor = match (&args.run, &args.weights) {
        (Some(run), _) => Predictor::from_run(run, args.backend, &report)?,
        (None, Some(weights)) => Predictor::from_weights(weights, args.backend, &report)?,
        (None, None) => anyhow::bail!("give --run DIR or --weights FILE"),
    };
    let labels_only = |predictions: &[emojify_train::usage::predict::Prediction]| {
        let mut out = String::with_capacity(predictions.len() * 3);
        for p in predictions {
            out.push_str(&p.label.to_string());
            out.push('\n');
        }
        print!("{out}");
    };
    if let Some(data) = &args.data {
        let predictions = predictor.predict_file(data, &report)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&predictions)?);
        } else {
            labels_only(&predictions);
        }
        return Ok(());
    }
    let sentences = if args.sentences.is_empty() {
        let mut lines = Vec::new();
        for line in std::io::stdin().lock().lines() {
            let line = line.context("reading stdin")?;
            if !line.trim().is_empty() {
                lines.push(line);
            }
        }
        lines
    } else {
        args.sentences
    };
    let predictions = predictor.predict_top(&sentences, args.top_k as usize)?;
    if args.format == Format::Labels {
        labels_only(&predictions);
        return Ok(());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&predictions)?);
        return Ok(());
    }
    for p in &predictions {
        let top: Vec<String> = p
            .top
            .iter()
            .map(|r| format!("{} {:.3}", r.display, r.probability))
            .collect();
        let mut notes = Vec::new();
        if p.known_tokens == 0 {
            notes.push("no known words: the model saw an empty sentence".to_string());
        }
        if p.truncated_tokens > 0 {
            notes.push(format!(
                "{} tokens past max_len {} ignored",
                p.truncated_tokens, predictor.config.data.max_len
            ));
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        println!(
            "{} → {}{notes}",
            shown(&predictor.config, &p.text),
            top.join("  ")
        );
    }
    Ok(())
}

/// The input as the table shows it: a row of hundreds of numbers (an image's pixels) shortened
/// to its start and its count.
fn shown(config: &emojify_train::config::RunConfig, text: &str) -> String {
    const WIDTH: usize = 48;
    if !config.data.kind.numeric() || text.chars().count() <= WIDTH {
        return text.to_string();
    }
    let start: String = text.chars().take(WIDTH).collect();
    format!("{start}… ({} numbers)", config.data.max_len)
}
