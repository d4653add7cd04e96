//! A run directory `runs/<name>-<timestamp>/` and the names of the files in it: every file in it
//! is written atomically ([`RunDir::write`]).

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Config, metrics, weights, predictions and summary of one training run.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

pub const CONFIG_FILE: &str = "config.toml";
pub const METRICS_FILE: &str = "metrics.csv";
pub const WEIGHTS_FILE: &str = "model.bpk";
pub const PREDICTIONS_FILE: &str = "predictions.csv";
pub const SUMMARY_FILE: &str = "summary.json";
pub const CURVES_FILE: &str = "curves.png";
pub const CONFUSION_FILE: &str = "confusion.png";
/// The vocabulary built from the training data (tokens-csv runs), as a JSON list of words.
pub const VOCAB_FILE: &str = "vocab.json";
/// Which line of the one data file went to which side, for runs whose `data.split` held the test
/// rows out of it: `line,class,split`.
pub const HOLDOUT_FILE: &str = "holdout.csv";

/// The weights file of network `j` (from 0) of a run: [`WEIGHTS_FILE`] for the run's own, then
/// `model-2.bpk`, … for the other members of an ensemble (`train.ensemble`).
pub fn member_file(j: usize) -> String {
    if j == 0 {
        WEIGHTS_FILE.to_string()
    } else {
        format!("model-{}.bpk", j + 1)
    }
}

impl RunDir {
    /// Creates `<out>/<name>-<UTC timestamp>`, adding `-2`, `-3`… if that already exists.
    pub fn create(out: &Path, name: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let stamp = utc_stamp(std::time::SystemTime::now());
        for n in 1.. {
            let dir = if n == 1 {
                out.join(format!("{name}-{stamp}"))
            } else {
                out.join(format!("{name}-{stamp}-{n}"))
            };
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(RunDir { path: dir }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
            }
        }
        unreachable!("the loop returns")
    }

    /// Opens an existing run directory (it must hold a config).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let config = path.join(CONFIG_FILE);
        anyhow::ensure!(
            config.is_file(),
            "{} is not a run directory: {} is missing",
            path.display(),
            config.display()
        );
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    /// The most recently trained run under `out` (newest weights file), so `emojify text`
    /// works right after `emojify train` without copying a timestamped path.
    pub fn latest(out: &Path) -> anyhow::Result<Self> {
        let entries = std::fs::read_dir(out).with_context(|| {
            format!(
                "no trained run found: cannot read {} (train one, or pass --run DIR)",
                out.display()
            )
        })?;
        let newest = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let weights = e.path().join(WEIGHTS_FILE);
                let modified = weights.metadata().and_then(|m| m.modified()).ok()?;
                e.path()
                    .join(CONFIG_FILE)
                    .is_file()
                    .then_some((modified, e.path()))
            })
            .max();
        match newest {
            Some((_, path)) => Ok(RunDir { path }),
            None => anyhow::bail!(
                "no trained run found in {} (no directory with {WEIGHTS_FILE} and {CONFIG_FILE}); \
                 train one with `emojify train --config configs/emojify_v2.toml`, or pass --run DIR",
                out.display()
            ),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `name` inside the run directory atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        emojify_data::atomic::write_bytes_atomic(&self.file(name), bytes)?;
        Ok(())
    }
}

/// `t` as `YYYYMMDD-HHMMSS` in UTC (the run directories' suffix).
pub fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_files_follow_the_runs_own() {
        assert_eq!(member_file(0), "model.bpk");
        assert_eq!(member_file(2), "model-3.bpk");
    }

    #[test]
    fn stamps_known_dates() {
        let at = |s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        assert_eq!(utc_stamp(at(0)), "19700101-000000");
        assert_eq!(utc_stamp(at(951_782_400 + 3661)), "20000229-010101");
        assert_eq!(utc_stamp(at(1_795_392_000)), "20261123-000000");
    }

    #[test]
    fn latest_picks_the_newest_complete_run() {
        let out = tempfile::tempdir().expect("dir");
        assert!(RunDir::latest(out.path()).is_err());
        let old = RunDir::create(out.path(), "old").expect("old");
        let new = RunDir::create(out.path(), "new").expect("new");
        let unfinished = RunDir::create(out.path(), "unfinished").expect("unfinished");
        for run in [&old, &new] {
            run.write(CONFIG_FILE, b"").expect("config");
            std::thread::sleep(std::time::Duration::from_millis(20));
            run.write(WEIGHTS_FILE, b"").expect("weights");
        }
        unfinished.write(CONFIG_FILE, b"").expect("config");
        let latest = RunDir::latest(out.path()).expect("latest");
        assert_eq!(latest.path(), new.path());
    }

    #[test]
    fn same_second_runs_get_distinct_dirs() {
        let out = tempfile::tempdir().expect("dir");
        let a = RunDir::create(out.path(), "x").expect("a");
        let b = RunDir::create(out.path(), "x").expect("b");
        assert_ne!(a.path(), b.path());
    }
}
