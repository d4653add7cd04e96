//! `emojify cv`: k-fold cross-validation on the training split over a grid of settings.

use std::path::PathBuf;

use clap::Args;
use emojify_train::config::RunConfig;
use emojify_train::experiments::cv;
use emojify_train::strategies::folds::FoldsOver;

use crate::progress::Terminal;

#[derive(Args)]
pub struct CvArgs {
    #[arg(long)]
    config: PathBuf,
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Which training sentences are validated on: `all`, or `train-file` (only data.train's;
    /// data.extra_train's are in every fold's training).
    #[arg(long, default_value = "all")]
    folds_over: FoldsOver,
    /// What the curves measure and the best epoch is chosen by: accuracy, or macro-f1 (every
    /// class alike, as TweetEval scores).
    #[arg(long, default_value = "accuracy")]
    metric: cv::Metric,
    /// Seeds 1..=N per fold.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// Dropout values to try (comma-separated); the config's when not given.
    #[arg(long, value_delimiter = ',')]
    dropout: Vec<f64>,
    /// Learning rates to try (comma-separated); the config's when not given.
    #[arg(long, value_delimiter = ',')]
    learning_rate: Vec<f64>,
    /// Batch sizes to try (comma-separated); the config's when not given.
    #[arg(long, value_delimiter = ',')]
    batch_size: Vec<usize>,
    /// Weight averaging starts to try (`train.average_from`, comma-separated; 0 = off); the
    /// config's when not given.
    #[arg(long, value_delimiter = ',')]
    average_from: Vec<usize>,
    /// Epochs per run; the validation curve picks the best count up to this.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    epochs: u64,
    /// Show every N-th epoch in the table.
    #[arg(long, default_value_t = 10)]
    every: usize,
    /// Also write the full curves as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also plot the validation curves (PNG) here.
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// A hyper-parameter not given on the command line keeps the config's value.
fn or_config<T>(given: Vec<T>, own: T) -> Vec<T> {
    if given.is_empty() { vec![own] } else { given }
}

pub fn run(args: CvArgs) -> anyhow::Result<()> {
    let config = RunConfig::load(&args.config)?;
    let seeds: Vec<u64> = (1..=args.seeds).collect();
    let grid = cv::Grid {
        dropouts: or_config(args.dropout, config.model.dropout()),
        learning_rates: or_config(args.learning_rate, config.train.learning_rate),
        batch_sizes: or_config(args.batch_size, config.train.batch_size),
        average_from: or_config(
            args.average_from
                .into_iter()
                .map(|e| (e > 0).then_some(e))
                .collect(),
            config.train.average_from,
        ),
        metric: args.metric,
    };
    let folds = args.folds;
    let results = cv::cross_validate(
        &config,
        folds,
        args.folds_over,
        &seeds,
        &grid,
        args.epochs as usize,
        &Terminal::stderr(),
    )?;
    let over = match args.folds_over {
        FoldsOver::All => "the training split",
        FoldsOver::TrainFile => "data.train (data.extra_train always training)",
    };
    println!(
        "{} on {}: {folds}-fold cross-validation on {over}, seeds 1..={}, \
         mean validation {}:\n",
        config.name,
        config.backend,
        seeds.len(),
        args.metric.name()
    );
    print!("{}", cv::markdown(&results, args.every, cv::Curve::Mean));
    if seeds.len() > 1 {
        println!(
            "\nthe {} seeds' models as one ensemble (probabilities averaged), mean over folds:\n",
            seeds.len()
        );
        print!(
            "{}",
            cv::markdown(&results, args.every, cv::Curve::Ensemble)
        );
    }
    if let Some(path) = args.plot {
        cv::plot(&results, seeds.len(), &config.name, &path)?;
        println!("\nplot: {}", path.display());
    }
    if let Some(path) = args.json {
        crate::write_json(&path, &results)?;
    }
    Ok(())
}
