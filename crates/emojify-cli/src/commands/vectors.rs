//! `emojify vectors …`: inspect and debias the word vectors a model is built on. Each command
//! returns a [`Report`]: the same result as text for people and as JSON for programs. The
//! vector arithmetic itself is the data crate's `wordvec`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use emojify_data::wordvec::{Axis, WordVectors, cosine, equalize, neutralize};
use emojify_data::{DataDir, Embeddings};
use serde_json::json;

use crate::progress::Terminal;

#[derive(Args)]
pub struct VectorsArgs {
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
pub enum VectorsCommand {
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
    /// Write the vectors of only the words in some text files (`.emjv`): what a run on those
    /// files looks up, small enough to carry where the registry cannot be reached (a GPU
    /// machine, benches/gpu/). Each line (commas as spaces) is read as it is and normalized.
    Subset {
        /// Text files (data sets) whose words to keep.
        #[arg(long, required = true, num_args = 1..)]
        words_from: Vec<PathBuf>,
        /// Output `.emjv` file; point a config's `[embedding] source` at it.
        #[arg(long)]
        out: PathBuf,
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

/// Words whose bias `emojify vectors bias` shows when none are given: the course's names and
/// occupations.
pub const DEFAULT_BIAS_WORDS: [&str; 26] = [
    "john",
    "marie",
    "sophie",
    "ronaldo",
    "priya",
    "rahul",
    "danielle",
    "reza",
    "katy",
    "yasmin",
    "lipstick",
    "guns",
    "science",
    "arts",
    "literature",
    "warrior",
    "doctor",
    "tree",
    "receptionist",
    "technology",
    "fashion",
    "teacher",
    "engineer",
    "pilot",
    "computer",
    "singer",
];

/// The built-in gender-definitional list (`configs/gender_definitional.txt`).
pub const DEFAULT_DEFINITIONAL: &str = include_str!("../../../../configs/gender_definitional.txt");

/// A command's result, as text and as JSON.
pub struct Report {
    pub text: String,
    pub json: serde_json::Value,
}

/// Loads the vectors named like a config's `[embedding] source`.
pub fn load(source: &str, data_dir: Option<&Path>) -> anyhow::Result<WordVectors> {
    let e =
        emojify_data::fetch::load_embeddings(source, &DataDir::new(data_dir), &Terminal::stderr())
            .with_context(|| format!("loading embedding `{source}`"))?;
    Ok(WordVectors::new(e))
}

pub fn similarity(v: &WordVectors, a: &str, b: &str) -> anyhow::Result<Report> {
    let s = v.similarity(a, b)?;
    Ok(Report {
        text: format!("cos({a}, {b}) = {s:.6}"),
        json: json!({ "a": a, "b": b, "cosine": s }),
    })
}

pub fn nearest(v: &WordVectors, word: &str, k: usize) -> anyhow::Result<Report> {
    let start = Instant::now();
    let near = v.nearest(word, k)?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let mut text = format!("nearest to `{word}` (cosine; {ms:.0} ms over the whole vocabulary):");
    for (i, s) in near.iter().enumerate() {
        text.push_str(&format!("\n{:>3}. {:<20} {:.4}", i + 1, s.word, s.score));
    }
    Ok(Report {
        text,
        json: json!({ "word": word, "nearest": near, "query_ms": ms }),
    })
}

pub fn analogy(v: &WordVectors, a: &str, b: &str, c: &str, k: usize) -> anyhow::Result<Report> {
    let start = Instant::now();
    let best = v.analogy(a, b, c, k)?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let mut text = format!("{a} is to {b} as {c} is to:");
    for s in &best {
        text.push_str(&format!("\n  {:<20} {:.4}", s.word, s.score));
    }
    Ok(Report {
        text,
        json: json!({ "a": a, "b": b, "c": c, "answers": best, "query_ms": ms }),
    })
}

/// The report of a per-word command on an axis: `{"axis": [a, b], key: rows}`.
fn axis_report(axis: &Axis, text: String, key: &str, rows: Vec<serde_json::Value>) -> Report {
    let mut json = json!({ "axis": [axis.positive, axis.negative] });
    json[key] = serde_json::Value::Array(rows);
    Report { text, json }
}

fn axis_name(axis: &Axis) -> String {
    format!("e_{} − e_{}", axis.positive, axis.negative)
}

pub fn bias(v: &WordVectors, axis: &str, words: &[String]) -> anyhow::Result<Report> {
    let axis = v.axis(axis)?;
    let words: Vec<String> = if words.is_empty() {
        DEFAULT_BIAS_WORDS.iter().map(|w| w.to_string()).collect()
    } else {
        words.to_vec()
    };
    let mut rows = Vec::new();
    let mut text = format!(
        "cosine with {} (positive: closer to `{}`):",
        axis_name(&axis),
        axis.positive
    );
    for w in &words {
        let c = cosine(&v.vector(w)?, &axis.g);
        text.push_str(&format!("\n  {w:<16} {c:+.4}"));
        rows.push(json!({ "word": w, "cosine": c }));
    }
    Ok(axis_report(&axis, text, "words", rows))
}

pub fn neutralize_words(v: &WordVectors, axis: &str, words: &[String]) -> anyhow::Result<Report> {
    let axis = v.axis(axis)?;
    let mut rows = Vec::new();
    let mut text = format!(
        "cosine with {} before → after neutralizing:",
        axis_name(&axis)
    );
    for w in words {
        let e = v.vector(w)?;
        let n = neutralize(&e, &axis.g);
        let (before, after) = (cosine(&e, &axis.g), cosine(&n, &axis.g));
        text.push_str(&format!("\n  {w:<16} {before:+.4} → {after:+.2e}"));
        rows.push(json!({ "word": w, "before": before, "after": after, "vector": n }));
    }
    Ok(axis_report(&axis, text, "words", rows))
}

pub fn equalize_pairs(v: &WordVectors, axis: &str, pairs: &[String]) -> anyhow::Result<Report> {
    let axis = v.axis(axis)?;
    let mut rows = Vec::new();
    let mut text = format!(
        "cosine with {} before → after equalizing:",
        axis_name(&axis)
    );
    for spec in pairs {
        let (ia, ib) = v.pair(spec)?;
        let (a, b) = (v.word(ia), v.word(ib));
        let (ea, eb) = (v.vector(a)?, v.vector(b)?);
        let (qa, qb) = equalize(&ea, &eb, &axis.g);
        let cos = |e: &[f64]| cosine(e, &axis.g);
        text.push_str(&format!(
            "\n  {a:<14} {:+.4} → {:+.4}\n  {b:<14} {:+.4} → {:+.4}",
            cos(&ea),
            cos(&qa),
            cos(&eb),
            cos(&qb)
        ));
        rows.push(json!({
            "pair": [a, b],
            "before": [cos(&ea), cos(&eb)],
            "after": [cos(&qa), cos(&qb)],
            "vectors": [qa, qb],
        }));
    }
    Ok(axis_report(&axis, text, "pairs", rows))
}

/// What `emojify vectors debias` needs besides the vectors.
pub struct DebiasArgs<'a> {
    pub axis: &'a str,
    pub pairs_file: &'a Path,
    pub definitional_file: Option<&'a Path>,
    pub out: &'a Path,
}

/// Writes a debiased copy of the vectors to `out` (the project's `.emjv` format).
pub fn debias(v: &WordVectors, args: &DebiasArgs) -> anyhow::Result<Report> {
    let axis = v.axis(args.axis)?;
    let pairs = v.read_pairs(args.pairs_file)?;
    let (definitional, unknown) = match args.definitional_file {
        Some(path) => v.read_word_list(path)?,
        None => v.parse_word_list(
            DEFAULT_DEFINITIONAL,
            "configs/gender_definitional.txt (built in)",
        ),
    };
    if !unknown.is_empty() {
        eprintln!(
            "note: {} definitional words are not in the vocabulary and were ignored: {}",
            unknown.len(),
            unknown.join(", ")
        );
    }
    let debiased: Embeddings = v.debias(&axis, &definitional, &pairs);
    debiased
        .write_cache(args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;

    let after = WordVectors::new(debiased);
    let mut rows = Vec::new();
    let mut text = format!(
        "wrote {} ({} words; {} definitional kept, {} pairs equalized, the rest neutralized)\n\
         SHA-256 of the new matrix: {}\n\ncosine with {} before → after:",
        args.out.display(),
        after.embeddings().vocab.len(),
        definitional.len(),
        pairs.len(),
        after.embeddings().sha256,
        axis_name(&axis),
    );
    for w in DEFAULT_BIAS_WORDS {
        let (Ok(b), Ok(a)) = (v.vector(w), after.vector(w)) else {
            continue;
        };
        let (before, after) = (cosine(&b, &axis.g), cosine(&a, &axis.g));
        text.push_str(&format!("\n  {w:<16} {before:+.4} → {after:+.2e}"));
        rows.push(json!({ "word": w, "before": before, "after": after }));
    }
    Ok(Report {
        text,
        json: json!({
            "out": args.out,
            "source": after.embeddings().source,
            "sha256": after.embeddings().sha256,
            "definitional_kept": definitional.len(),
            "pairs_equalized": pairs.len(),
            "examples": rows,
        }),
    })
}

/// Refuses an `--out` a config could not read back: `[embedding] source` reads `.emjv` as the
/// binary cache and anything else as GloVe text.
fn ensure_emjv(out: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        out.extension().is_some_and(|e| e == "emjv"),
        "--out {} must end in .emjv so a config's `[embedding] source` reads it back",
        out.display()
    );
    Ok(())
}

/// The vectors of the words in `files` (each line tokenized raw and normalized), written to
/// `out` as an `.emjv` cache; a word without a vector is left out, as a run would skip it.
pub fn subset(v: &WordVectors, files: &[PathBuf], out: &Path) -> anyhow::Result<Report> {
    ensure_emjv(out)?;
    let e = v.embeddings();
    let mut words = std::collections::BTreeSet::new();
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        // A CSV's fields are its words too: "sentence,label" must give the sentence's last word.
        for line in text.lines().map(|l| l.replace(',', " ")) {
            let line = line.as_str();
            let normalized = emojify_data::normalize::normalize_text(line);
            words.extend(emojify_data::tokenize(line));
            words.extend(emojify_data::tokenize(&normalized));
        }
    }
    let mut kept = Vec::with_capacity(words.len());
    let mut rows = Vec::with_capacity(words.len() * e.dim);
    for word in words {
        if let Some(vector) = e.word_vector(&word) {
            rows.extend_from_slice(vector);
            kept.push(word);
        }
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let source = format!(
        "{} words of {} ({})",
        kept.len(),
        e.source,
        names.join(", ")
    );
    let identity = format!("{}\n{}", e.sha256, kept.join("\n"));
    let sha = emojify_data::hash::sha256_hex(identity.as_bytes());
    let count = kept.len();
    let sub = Embeddings::from_rows(kept, &rows, e.dim, source.clone(), sha);
    sub.write_cache(out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(Report {
        text: format!("{count} words × {} dims → {}", e.dim, out.display()),
        json: json!({ "out": out, "words": count, "dim": e.dim, "source": source }),
    })
}

pub fn run(args: VectorsArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let vecs = load(&args.embedding, args.data_dir.as_deref())?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut report = match &args.action {
        VectorsCommand::Similarity { a, b } => similarity(&vecs, a, b)?,
        VectorsCommand::Nearest { word, k } => nearest(&vecs, word, *k as usize)?,
        VectorsCommand::Analogy { a, b, c, k } => analogy(&vecs, a, b, c, *k as usize)?,
        VectorsCommand::Bias { axis, words } => bias(&vecs, axis, words)?,
        VectorsCommand::Neutralize { axis, words } => neutralize_words(&vecs, axis, words)?,
        VectorsCommand::Equalize { axis, pairs } => equalize_pairs(&vecs, axis, pairs)?,
        VectorsCommand::Subset { words_from, out } => subset(&vecs, words_from, out)?,
        VectorsCommand::Debias {
            axis,
            equalize_pairs,
            definitional,
            out,
        } => {
            ensure_emjv(out)?;
            debias(
                &vecs,
                &DebiasArgs {
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
