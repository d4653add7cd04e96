//! The data set's splits as the model sees them: read through the data crate, tokenized and
//! encoded against the run's vocabulary, with what was lost on the way (skipped rows, OOV
//! tokens, truncation). Encoding free text at prediction time is the same [`encode`].

use emojify_data::{
    DataDir, Embeddings, Encoded, Example, LabelledCsv, Observer, RowError, SequenceCsv, tokenize,
};

use crate::config::{DataKind, RunConfig};
use crate::inputs::augment::{Negation, Neighbours};
use crate::inputs::embedding::{embeddings_for_vocabulary, load_embeddings, training_vocabulary};
use crate::inputs::files::{hold_out, read_sequence_at, read_sequence_splits};

/// One split, tokenized and encoded, with what was lost on the way.
#[derive(Debug, Clone)]
pub struct Split {
    pub name: &'static str,
    pub examples: Vec<Example>,
    pub encoded: Vec<Encoded>,
    pub labels: Vec<usize>,
    pub skipped_rows: usize,
    /// Per example: read from a `data.extra_train` file rather than `data.train`. What
    /// `data.train_copies` repeats and `cv --folds-over train-file` validates on are the others.
    pub extra: Vec<bool>,
    /// For `train.neighbour_swap`: each training token's nearest words in the embedding.
    pub neighbours: Option<std::sync::Arc<Neighbours>>,
    /// For `train.negate`: the vocabulary's negation words and the label each label becomes.
    pub negation: Option<std::sync::Arc<Negation>>,
}

impl Split {
    /// A split of `examples` as `encoded`, with no augmentation tables yet.
    pub fn new(
        name: &'static str,
        examples: Vec<Example>,
        encoded: Vec<Encoded>,
        skipped_rows: usize,
    ) -> Self {
        Split {
            name,
            labels: examples.iter().map(|e| e.label).collect(),
            extra: vec![false; encoded.len()],
            examples,
            encoded,
            skipped_rows,
            neighbours: None,
            negation: None,
        }
    }

    /// The rows one epoch visits, in file order before shuffling: every example once, then
    /// `copies - 1` more times each of those read from `data.train` (oversampling the data set
    /// the config is named after against the files added to it).
    pub fn epoch_rows(&self, copies: usize) -> Vec<usize> {
        let own = (0..self.encoded.len()).filter(|&i| !self.extra[i]);
        let more = std::iter::repeat_n(own, copies.saturating_sub(1)).flatten();
        (0..self.encoded.len()).chain(more).collect()
    }

    pub fn oov_tokens(&self) -> usize {
        self.encoded.iter().map(|e| e.oov).sum()
    }
    pub fn truncated(&self) -> usize {
        self.encoded.iter().filter(|e| e.truncated > 0).count()
    }
    pub fn empty(&self) -> usize {
        self.encoded.iter().filter(|e| e.length == 0).count()
    }

    /// What one example is: a sentence, or a row of numbers.
    pub fn noun(&self) -> &'static str {
        let numeric = self.encoded.first().is_some_and(|e| e.ids.is_empty());
        if numeric { "rows" } else { "sentences" }
    }

    /// One line on what the tokenizer and vocabulary did to this split.
    pub fn report(&self) -> String {
        if self.noun() == "rows" {
            let skipped = match self.skipped_rows {
                0 => String::new(),
                n => format!(", {n} bad rows skipped"),
            };
            return format!("{}: {} rows{skipped}", self.name, self.examples.len());
        }
        format!(
            "{}: {} sentences, {} out-of-vocabulary tokens, {} truncated, {} with no known word{}",
            self.name,
            self.examples.len(),
            self.oov_tokens(),
            self.truncated(),
            self.empty(),
            if self.skipped_rows > 0 {
                format!(", {} bad rows skipped", self.skipped_rows)
            } else {
                String::new()
            }
        )
    }
}

/// Encodes one input as the model sees it: a sentence through the tokenizer and vocabulary, or
/// (numeric sequences) exactly `max_len` numbers separated by commas or spaces.
pub fn encode(config: &RunConfig, embeddings: &Embeddings, text: &str) -> anyhow::Result<Encoded> {
    if config.data.kind.numeric() {
        let values = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .map(|f| match f.parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(anyhow::anyhow!("`{f}` is not a finite number")),
            })
            .collect::<anyhow::Result<Vec<f32>>>()?;
        anyhow::ensure!(
            values.len() == config.data.max_len,
            "expected {} numbers (one per step), got {}",
            config.data.max_len,
            values.len()
        );
        let values = match (config.data.kind, config.data.width) {
            (DataKind::PixelsCsv, Some(width)) => {
                scale_pixels(values, width, config.data.pixel_max)?
            }
            _ => values,
        };
        return Ok(Encoded {
            length: values.len(),
            values,
            ..Encoded::default()
        });
    }
    Ok(embeddings.vocab.encode(
        &words(config, embeddings, text),
        config.data.max_len,
        config.data.oov,
    ))
}

/// Pixels typed at prediction time, checked and scaled as the data files' are.
fn scale_pixels(values: Vec<f32>, width: usize, max: u16) -> anyhow::Result<Vec<f32>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            emojify_data::scale_pixel(v, max).ok_or_else(|| {
                let at = emojify_data::pixel_name(i, width);
                anyhow::anyhow!("pixel {at}: {v} is outside 0–{max}")
            })
        })
        .collect()
}

/// The tokens of `text`, normalized when the config asks for it.
fn words(config: &RunConfig, embeddings: &Embeddings, text: &str) -> Vec<String> {
    if config.data.normalize {
        let tokens = tokenize(&emojify_data::normalize::normalize_text(text));
        emojify_data::normalize::normalize_tokens(tokens, |w| embeddings.vocab.index(w).is_some())
    } else {
        tokenize(text)
    }
}

fn split(
    name: &'static str,
    csv: LabelledCsv,
    config: &RunConfig,
    embeddings: &Embeddings,
    obs: &dyn Observer,
) -> anyhow::Result<Split> {
    warn_skipped(&csv.file, &csv.skipped, obs);
    let encoded = csv
        .examples
        .iter()
        .map(|e| encode(config, embeddings, &e.text))
        .collect::<anyhow::Result<_>>()?;
    Ok(Split::new(name, csv.examples, encoded, csv.skipped.len()))
}

/// Each skipped row, as a warning naming its file and line.
pub(crate) fn warn_skipped(file: &std::path::Path, skipped: &[RowError], obs: &dyn Observer) {
    for row in skipped {
        obs.event(emojify_data::Event::Warning(format!(
            "{}:{}: skipped: {}",
            file.display(),
            row.line,
            row.reason
        )));
    }
}

/// A `class,0,…,N` file as a split: numbers as they are, tokens through the run's vocabulary
/// (the file's own tokenisation is kept; free text at prediction goes through the tokenizer).
fn sequence_split(
    name: &'static str,
    csv: SequenceCsv,
    config: &RunConfig,
    embeddings: &Embeddings,
    obs: &dyn Observer,
) -> anyhow::Result<Split> {
    warn_skipped(&csv.file, &csv.skipped, obs);
    let max_len = config.data.max_len;
    let numbers = config.data.kind.numeric();
    anyhow::ensure!(
        !numbers || csv.steps == max_len,
        "{}: has {} steps per row but the config's data.max_len is {max_len}; set max_len = {}",
        csv.file.display(),
        csv.steps,
        csv.steps
    );
    let mut examples = Vec::with_capacity(csv.examples.len());
    let mut encoded = Vec::with_capacity(csv.examples.len());
    for e in csv.examples {
        if numbers {
            // An image's pixels are not worth repeating in predictions.csv: its line names it.
            let text = match (config.data.height, config.data.width) {
                (Some(h), Some(w)) => format!("{h}×{w} image, line {}", e.line),
                _ => e
                    .values
                    .iter()
                    .map(f32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            };
            examples.push(Example {
                text,
                label: e.label,
                line: e.line,
            });
            encoded.push(Encoded {
                length: e.values.len(),
                values: e.values,
                ..Encoded::default()
            });
        } else {
            encoded.push(embeddings.vocab.encode(&e.tokens, max_len, config.data.oov));
            examples.push(Example {
                text: e.tokens.join(" "),
                label: e.label,
                line: e.line,
            });
        }
    }
    Ok(Split::new(name, examples, encoded, csv.skipped.len()))
}

/// A file of labelled sentences at `path` (already found): EMOJISET's `sentence,label` CSV, or a
/// TweetEval text file with its labels file.
fn read_sentences(config: &RunConfig, path: &std::path::Path) -> anyhow::Result<LabelledCsv> {
    let (classes, policy) = (config.num_classes(), config.data.bad_rows);
    Ok(if config.data.kind == DataKind::TextLabels {
        emojify_data::read_text_labels(path, classes, policy)?
    } else {
        emojify_data::read_labelled_csv(path, classes, policy)?
    })
}

/// `data.mapping`, when given: its emoji must be `data.labels` in order (and its names
/// `data.label_names`, when given), so a class index means the benchmark's class.
fn check_mapping(config: &RunConfig, dir: &DataDir) -> anyhow::Result<()> {
    let Some(mapping) = &config.data.mapping else {
        return Ok(());
    };
    let path = dir.resolve(mapping)?;
    let (emoji, names) = emojify_data::read_mapping(&path)?;
    anyhow::ensure!(
        emoji == config.data.labels,
        "{}: its classes are [{}]; the config's data.labels are [{}] (same order needed)",
        path.display(),
        emoji.join(", "),
        config.data.labels.join(", ")
    );
    anyhow::ensure!(
        config.data.label_names.is_empty() || names == config.data.label_names,
        "{}: its class names are [{}]; the config's data.label_names are [{}]",
        path.display(),
        names.join(", "),
        config.data.label_names.join(", ")
    );
    Ok(())
}

/// Reads both splits of the config's data set.
pub fn load_splits(
    config: &RunConfig,
    embeddings: &Embeddings,
    obs: &dyn Observer,
) -> anyhow::Result<(Split, Split)> {
    if !config.data.kind.sentences() {
        let (train, test) = read_sequence_splits(config)?;
        let train = sequence_split("train", train, config, embeddings, obs)?;
        let test = sequence_split("test", test, config, embeddings, obs)?;
        return Ok((train, test));
    }
    let dir = DataDir::new(config.data_dir.as_deref());
    check_mapping(config, &dir)?;
    let read = |p: &std::path::Path| -> anyhow::Result<LabelledCsv> {
        read_sentences(config, &dir.resolve(p)?)
    };
    let mut train_csv = read(&config.data.train)?;
    let test_csv = match &config.data.test {
        Some(test) => read(test)?,
        None => {
            let (kept, held) =
                hold_out(config, std::mem::take(&mut train_csv.examples), |e| e.label);
            train_csv.examples = kept;
            LabelledCsv {
                examples: held,
                skipped: Vec::new(),
                ..train_csv.clone()
            }
        }
    };
    let mut train = split("train", train_csv, config, embeddings, obs)?;
    for extra in &config.data.extra_train {
        let more = split("train", read(extra)?, config, embeddings, obs)?;
        train.examples.extend(more.examples);
        train.labels.extend(more.labels);
        train
            .extra
            .extend(std::iter::repeat_n(true, more.encoded.len()));
        train.encoded.extend(more.encoded);
        train.skipped_rows += more.skipped_rows;
    }
    let test = split("test", test_csv, config, embeddings, obs)?;
    Ok((train, test))
}

/// Any labelled file the config's reader accepts (EMOJISET's `sentence,label`, or a
/// `class,0,…,N` file), encoded for the run: a path that exists is read as given, anything else
/// through the data-directory lookup.
pub fn load_file(
    config: &RunConfig,
    embeddings: &Embeddings,
    path: &std::path::Path,
    obs: &dyn Observer,
) -> anyhow::Result<Split> {
    let found = if path.is_file() {
        std::path::absolute(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    } else {
        DataDir::new(config.data_dir.as_deref()).resolve(path)?
    };
    if config.data.kind.sentences() {
        let csv = read_sentences(config, &found)?;
        split("eval", csv, config, embeddings, obs)
    } else {
        let csv = read_sequence_at(config, &found)?;
        sequence_split("eval", csv, config, embeddings, obs)
    }
}

/// The embeddings and both splits, each data file read once: a tokens-csv vocabulary is built
/// from the same read of the training file that becomes the training split.
pub fn load_data(
    config: &RunConfig,
    obs: &dyn Observer,
) -> anyhow::Result<(Embeddings, Split, Split)> {
    if config.data.kind != DataKind::TokensCsv {
        let embeddings = load_embeddings(config, obs)?;
        let (mut train, test) = load_splits(config, &embeddings, obs)?;
        if config.train.neighbour_swap > 0.0 {
            train.neighbours = Some(std::sync::Arc::new(neighbour_table(
                &train,
                &embeddings,
                config.train.neighbours,
            )));
        }
        if config.train.negate > 0.0 {
            let negation = Negation::new(config, &embeddings)?;
            train.negation = Some(std::sync::Arc::new(negation));
        }
        return Ok((embeddings, train, test));
    }
    let (train_csv, test_csv) = read_sequence_splits(config)?;
    let embeddings = embeddings_for_vocabulary(config, training_vocabulary(&train_csv), obs)?;
    let train = sequence_split("train", train_csv, config, &embeddings, obs)?;
    let test = sequence_split("test", test_csv, config, &embeddings, obs)?;
    Ok((embeddings, train, test))
}

/// The `k` nearest words of every word in `train` (what `train.neighbour_swap` draws from).
fn neighbour_table(train: &Split, embeddings: &Embeddings, k: usize) -> Neighbours {
    let mut ids: Vec<u32> = train
        .encoded
        .iter()
        .flat_map(|e| e.ids.iter().copied())
        .filter(|&i| i != 0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let near = emojify_data::wordvec::nearest_ids(embeddings, &ids, k);
    ids.into_iter().zip(near).collect()
}
