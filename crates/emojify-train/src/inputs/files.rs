//! Reading the config's data files through the data crate's lookup, which names every place it
//! searched when a file is missing; and the test rows `data.split` holds out of a single file.

use emojify_data::{DataDir, SequenceCsv, StepKind, read_sequence_csv, stratified_split};

use crate::config::{DataKind, RunConfig};

/// How the steps of a `class,…` file are read: numbers, pixels, or tokens.
fn step_kind(config: &RunConfig) -> StepKind {
    match config.data.kind {
        DataKind::SequenceCsv => StepKind::Numbers,
        DataKind::PixelsCsv => StepKind::Pixels {
            height: config.data.height.unwrap_or(1),
            width: config.data.width.unwrap_or(1),
            max: config.data.pixel_max,
        },
        DataKind::Emojiset | DataKind::TextLabels | DataKind::TokensCsv => StepKind::Tokens,
    }
}

/// Reads the `class,0,…,N` file `path` (resolved through the data-directory lookup).
pub fn read_sequence(config: &RunConfig, path: &std::path::Path) -> anyhow::Result<SequenceCsv> {
    let dir = DataDir::new(config.data_dir.as_deref());
    read_sequence_at(config, &dir.resolve(path)?)
}

/// Reads the `class,0,…,N` file at `path` as it is (already found).
pub fn read_sequence_at(config: &RunConfig, path: &std::path::Path) -> anyhow::Result<SequenceCsv> {
    Ok(read_sequence_csv(
        path,
        step_kind(config),
        &config.data.labels,
        config.data.bad_rows,
    )?)
}

/// The training and test files of a `class,…` data set: `data.test`, or the rows `data.split`
/// holds out of `data.train` (each side keeps the file's name; skipped rows stay with training).
pub fn read_sequence_splits(config: &RunConfig) -> anyhow::Result<(SequenceCsv, SequenceCsv)> {
    let mut train = read_sequence(config, &config.data.train)?;
    let test = match &config.data.test {
        Some(test) => read_sequence(config, test)?,
        None => {
            let rows = std::mem::take(&mut train.examples);
            let (kept, held) = hold_out(config, rows, |e| e.label);
            train.examples = kept;
            SequenceCsv {
                examples: held,
                skipped: Vec::new(),
                ..train.clone()
            }
        }
    };
    Ok((train, test))
}

/// `rows` split as `data.split` asks: the training side, then the held-out test side (both in
/// file order). Everything trains when no split is configured.
pub fn hold_out<T>(
    config: &RunConfig,
    rows: Vec<T>,
    label: impl Fn(&T) -> usize,
) -> (Vec<T>, Vec<T>) {
    let Some(share) = config.data.split else {
        return (rows, Vec::new());
    };
    let labels: Vec<usize> = rows.iter().map(&label).collect();
    let holdout = stratified_split(&labels, share, config.data.split_seed);
    let mut test_rows = vec![false; rows.len()];
    for &i in &holdout.test {
        test_rows[i] = true;
    }
    let (mut kept, mut held) = (Vec::new(), Vec::new());
    for (row, is_test) in rows.into_iter().zip(test_rows) {
        if is_test {
            held.push(row)
        } else {
            kept.push(row)
        }
    }
    (kept, held)
}
