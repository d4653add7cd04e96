//! How training tells its caller what is happening without printing: a [`Reporter`] receives
//! each stage (data loaded, epochs, the finished run) and the data crate's [`Observer`] events.
//! The command line draws a progress bar from it; tests and a server may use [`Silent`].

use std::path::Path;

use emojify_data::{Observer, Silent};

use crate::run::metrics::{EpochMetrics, RunSummary};

/// What a finished run has to show besides its summary.
#[derive(Debug, Clone)]
pub struct Finished<'a> {
    pub summary: &'a RunSummary,
    /// The test split's confusion matrix, as a text table.
    pub confusion: &'a str,
    /// The mislabelled test sentences, one per line.
    pub mislabelled: &'a str,
    pub run_dir: &'a Path,
}

/// Receives a training run's progress. Every method has a default that ignores it, so a
/// reporter implements only what it shows. Notes and warnings arrive as [`Observer`] events.
pub trait Reporter: Observer {
    /// Epochs `first..=last` are about to run (`first > 1` on resume).
    fn epochs(&self, _first: usize, _last: usize) {}
    /// An epoch has finished; `log` says whether this is one of the epochs the config's
    /// `log_every` asks to be shown.
    fn epoch(&self, _metrics: &EpochMetrics, _log: bool) {}
    /// Training stopped before the last epoch (Ctrl-C or an error).
    fn abandoned(&self) {}
    /// The run is written.
    fn finished(&self, _run: &Finished<'_>) {}
}

impl Reporter for Silent {}
