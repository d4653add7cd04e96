//! Checkpoints inside a run directory (`checkpoint/`): trainable weights, optimizer state and
//! where training stands. The data order and dropout masks are functions of (seed, epoch, batch),
//! so that position is all the RNG state there is. A run that averages weights
//! (`train.average_from`) also keeps the running mean.
//!
//! `state.json` is the commit point: each save writes its weight files under new names
//! (`model.<generation>.bpk`, …), then `state.json` naming that generation with the files'
//! SHA-256, then removes the previous generation. A process killed mid-save leaves the previous
//! checkpoint whole; a damaged file is refused, never loaded.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use emojify_data::hash::sha256_hex as sha256;

use crate::fit::optim::Average;
use crate::run::dir::RunDir;
use crate::run::metrics::EpochMetrics;

pub const DIR: &str = "checkpoint";
const MODEL: &str = "model";
const OPTIMIZER: &str = "optimizer";
const AVERAGE: &str = "average";
const STATE: &str = "state.json";

/// The file of `stem` in `generation` (0: the unnumbered names of checkpoints written before
/// generations existed).
fn file_name(stem: &str, generation: u64) -> String {
    match generation {
        0 => format!("{stem}.bpk"),
        g => format!("{stem}.{g}.bpk"),
    }
}

/// Where training stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Position {
    /// The epoch to run next (1-based); `batch` > 0 means it is partly done. One past the last
    /// epoch: the run's own network is trained, the networks after it (`train.ensemble`,
    /// calibration folds) are not.
    pub epoch: usize,
    /// Batches of `epoch` already trained.
    pub batch: usize,
    /// The partial epoch's summed loss so far, exactly as the loop holds it (f32).
    pub loss_sum: f32,
    /// Seconds spent in the partial epoch.
    pub seconds: f64,
    /// Metrics of the completed epochs.
    pub metrics: Vec<EpochMetrics>,
}

impl Position {
    /// The start of a new run.
    pub fn start() -> Self {
        Self::start_of(1)
    }

    /// The start of `epoch`, with no metrics recorded.
    pub fn start_of(epoch: usize) -> Self {
        Position {
            epoch,
            batch: 0,
            loss_sum: 0.0,
            seconds: 0.0,
            metrics: Vec::new(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct State {
    position: Position,
    /// Which files hold this checkpoint (see [`file_name`]).
    #[serde(default)]
    generation: u64,
    model_sha256: String,
    optimizer_sha256: String,
    /// SHA-256 of the weight mean and its number of points, when the run averages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    average: Option<(String, usize)>,
}

fn dir(run: &RunDir) -> PathBuf {
    run.path().join(DIR)
}

fn read_state(dir: &Path) -> anyhow::Result<State> {
    let path = dir.join(STATE);
    let text = std::fs::read_to_string(&path)?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid checkpoint state", path.display()))
}

/// Writes a checkpoint: new weight files, then the state that names them, then the previous
/// generation's files are removed.
pub fn save(
    run: &RunDir,
    model: &[u8],
    optimizer: &[u8],
    average: Option<&Average>,
    position: Position,
) -> anyhow::Result<()> {
    let dir = dir(run);
    let generation = read_state(&dir).map_or(0, |s| s.generation) + 1;
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        emojify_data::atomic::write_bytes_atomic(&dir.join(name), bytes)?;
        Ok(())
    };
    write(&file_name(MODEL, generation), model)?;
    write(&file_name(OPTIMIZER, generation), optimizer)?;
    if let Some(a) = average {
        write(&file_name(AVERAGE, generation), &a.weights)?;
    }
    let state = State {
        position,
        generation,
        model_sha256: sha256(model),
        optimizer_sha256: sha256(optimizer),
        average: average.map(|a| (sha256(&a.weights), a.points)),
    };
    write(STATE, serde_json::to_string_pretty(&state)?.as_bytes())?;
    // Older generations (and the leftovers of a save that was killed) are no longer referenced.
    let current: Vec<String> = [MODEL, OPTIMIZER, AVERAGE]
        .iter()
        .map(|stem| file_name(stem, generation))
        .collect();
    for entry in std::fs::read_dir(&dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".bpk") && !current.contains(&name) {
            // A file that cannot be removed only costs disk space.
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// A checkpoint read back and verified.
pub struct Loaded {
    pub position: Position,
    pub model: Vec<u8>,
    pub optimizer: Vec<u8>,
    pub average: Option<Average>,
}

/// Reads the checkpoint of `run`, refusing a missing, truncated or altered one.
pub fn load(run: &RunDir) -> anyhow::Result<Loaded> {
    let dir = dir(run);
    let state_path = dir.join(STATE);
    anyhow::ensure!(
        state_path.is_file(),
        "{} has no checkpoint ({} is missing): set `checkpoint_every` under [train] to get \
         checkpoints",
        run.path().display(),
        state_path.display()
    );
    let state = read_state(&dir)?;
    let read = |stem: &str, expected: &str| -> anyhow::Result<Vec<u8>> {
        let path = dir.join(file_name(stem, state.generation));
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        anyhow::ensure!(
            sha256(&bytes) == expected,
            "{}: checksum mismatch (truncated or corrupted); the checkpoint cannot be used",
            path.display()
        );
        Ok(bytes)
    };
    Ok(Loaded {
        model: read(MODEL, &state.model_sha256)?,
        optimizer: read(OPTIMIZER, &state.optimizer_sha256)?,
        average: match &state.average {
            Some((sha, points)) => Some(Average {
                weights: read(AVERAGE, sha)?,
                points: *points,
            }),
            None => None,
        },
        position: state.position,
    })
}

/// Whether `path` holds a checkpoint at all.
pub fn exists(run_dir: &Path) -> bool {
    run_dir.join(DIR).join(STATE).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_is_refused() {
        let out = tempfile::tempdir().expect("tmp");
        let run = RunDir::create(out.path(), "r").expect("run");
        assert!(load(&run).is_err());
        let position = Position {
            epoch: 3,
            batch: 2,
            loss_sum: 1.25,
            seconds: 0.5,
            metrics: Vec::new(),
        };
        let average = Average {
            weights: b"mean".to_vec(),
            points: 4,
        };
        save(&run, b"model", b"optim", Some(&average), position).expect("save");
        assert!(exists(run.path()));
        let loaded = load(&run).expect("load");
        assert_eq!(
            (loaded.model.as_slice(), loaded.optimizer.as_slice()),
            (&b"model"[..], &b"optim"[..])
        );
        let average = loaded.average.expect("average kept");
        assert_eq!(
            (average.weights.as_slice(), average.points),
            (&b"mean"[..], 4)
        );
        assert_eq!(
            (
                loaded.position.epoch,
                loaded.position.batch,
                loaded.position.loss_sum
            ),
            (3, 2, 1.25)
        );
        for name in [file_name(MODEL, 1), file_name(AVERAGE, 1)] {
            let path = run.path().join(DIR).join(&name);
            let intact = std::fs::read(&path).expect("read");
            std::fs::write(&path, &intact[..intact.len() - 1]).expect("truncate");
            let err = load(&run).err().expect("refused").to_string();
            assert!(err.contains("checksum mismatch"), "{name}: {err}");
            std::fs::write(&path, intact).expect("restore");
        }
    }

    #[test]
    fn a_save_killed_before_its_state_leaves_the_previous_checkpoint_whole() {
        let out = tempfile::tempdir().expect("tmp");
        let run = RunDir::create(out.path(), "r").expect("run");
        let at = |epoch| Position {
            epoch,
            batch: 0,
            loss_sum: 0.0,
            seconds: 0.0,
            metrics: Vec::new(),
        };
        save(&run, b"model 1", b"optim 1", None, at(2)).expect("save");
        // The next save got as far as its weight files, then the process died.
        let dir = run.path().join(DIR);
        std::fs::write(dir.join(file_name(MODEL, 2)), b"model 2").expect("write");
        let loaded = load(&run).expect("the first checkpoint still loads");
        assert_eq!(
            (loaded.model.as_slice(), loaded.position.epoch),
            (&b"model 1"[..], 2)
        );
        // A complete save moves on to generation 2 and removes generation 1.
        save(&run, b"model 2", b"optim 2", None, at(3)).expect("save");
        let loaded = load(&run).expect("load");
        assert_eq!(
            (loaded.model.as_slice(), loaded.position.epoch),
            (&b"model 2"[..], 3)
        );
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["model.2.bpk", "optimizer.2.bpk", "state.json"]);
    }
}
