//! Reading the config's `class,0,…,N` data files (shapes, SST-2) through the data crate's
//! lookup, which names every place it searched when a file is missing.

use emojify_data::{DataDir, SequenceCsv, StepKind, read_sequence_csv};

use crate::config::{DataKind, RunConfig};

/// How the steps of a `class,0,…,N` file are read: numbers, or tokens.
fn step_kind(config: &RunConfig) -> StepKind {
    if config.data.kind == DataKind::SequenceCsv {
        StepKind::Numbers
    } else {
        StepKind::Tokens
    }
}

/// Reads the `class,0,…,N` file `path` (resolved through the data-directory lookup).
pub fn read_sequence(config: &RunConfig, path: &std::path::Path) -> anyhow::Result<SequenceCsv> {
    let dir = DataDir::new(config.data_dir.as_deref());
    let path = dir.resolve(path)?;
    Ok(read_sequence_csv(
        &path,
        step_kind(config),
        &config.data.labels,
        config.data.bad_rows,
    )?)
}
