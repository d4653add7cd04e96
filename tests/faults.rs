//! Training survives faults: a run killed with SIGKILL, or stopped with Ctrl-C mid-epoch,
//! resumes from its checkpoint and ends exactly where an uninterrupted run ends (CPU backends).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// V2 with small batches (33 per epoch) so an epoch lasts long enough to be interrupted; with
/// `average_from`, weight averaging too (its running mean must survive the fault as well).
fn config(dir: &Path, epochs: usize, average_from: Option<usize>) -> PathBuf {
    let text = std::fs::read_to_string(common::root().join("configs/emojify_v2.toml"))
        .expect("config")
        .replace("epochs = 60", &format!("epochs = {epochs}"))
        .replace("batch_size = 32", "batch_size = 4");
    assert!(text.contains("batch_size = 4"), "config template changed");
    let path = dir.join("v2.toml");
    let average = average_from.map_or(String::new(), |e| format!("average_from = {e}\n"));
    std::fs::write(&path, format!("{text}checkpoint_every = 2\n{average}")).expect("write");
    path
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_emojify"))
        .args(args)
        .env("EMOJIFY_DATA", common::root().join("../shared/data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("emojify starts")
}

/// `emojify train --config CONFIG --out OUT --quiet`, started in the background.
fn start_training(config: &Path, out: &Path) -> Child {
    spawn(&[
        "train",
        "--config",
        config.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--quiet",
    ])
}

fn only_run(out: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("out dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs.into_iter().next().expect("one run")
}

/// metrics.csv without its timing column, and predictions.csv.
fn results(run: &Path) -> (Vec<String>, String) {
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).expect("metrics");
    let metrics = metrics
        .lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head).to_string())
        .collect();
    let predictions = std::fs::read_to_string(run.join("predictions.csv")).expect("predictions");
    (metrics, predictions)
}

fn train_uninterrupted(config: &Path, out: &Path) -> (Vec<String>, String) {
    let status = start_training(config, out).wait().expect("train");
    assert!(status.success());
    results(&only_run(out))
}

fn resume(run: &Path) {
    let out = spawn(&["train", "--resume", run.to_str().expect("utf-8"), "--quiet"])
        .wait_with_output()
        .expect("resume");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until `path` exists (or fails after a minute).
fn wait_for(path: impl Fn() -> Option<PathBuf>) -> PathBuf {
    let start = Instant::now();
    loop {
        if let Some(p) = path() {
            return p;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends Ctrl-C (SIGINT) to `child`; returns its stderr once it has exited with status 130.
fn ctrl_c(child: Child) -> String {
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let output = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    stderr
}

fn checkpoint_of(out: &Path) -> Option<PathBuf> {
    let run = std::fs::read_dir(out).ok()?.next()?.ok()?.path();
    run.join("checkpoint/state.json").is_file().then_some(run)
}

#[test]
fn sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().expect("tmp");
    // Averaging from epoch 1: the first checkpoint (after epoch 2) already holds a mean.
    let config = config(dir.path(), 8, Some(1));
    let expected = train_uninterrupted(&config, &dir.path().join("clean"));

    let out = dir.path().join("killed");
    let mut child = start_training(&config, &out);
    let run = wait_for(|| checkpoint_of(&out));
    std::thread::sleep(Duration::from_millis(150)); // into the next epoch
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert!(
        !run.join("summary.json").exists(),
        "the run finished before it was killed"
    );
    resume(&run);
    assert_eq!(results(&run), expected);
}

#[test]
fn ctrl_c_checkpoints_mid_epoch_and_resume_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), 8, None);
    let expected = train_uninterrupted(&config, &dir.path().join("clean"));

    let out = dir.path().join("interrupted");
    let child = start_training(&config, &out);
    let run = wait_for(|| checkpoint_of(&out));
    std::thread::sleep(Duration::from_millis(150));
    let stderr = ctrl_c(child);
    assert!(
        stderr.contains("Resume with: emojify train --resume"),
        "{stderr}"
    );
    resume(&run);
    assert_eq!(results(&run), expected);

    // A finished run has nothing to resume.
    let again = spawn(&["train", "--resume", run.to_str().expect("utf-8")])
        .wait_with_output()
        .expect("runs");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already finished"));
}

#[test]
fn a_corrupted_checkpoint_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), 8, None);
    let out = dir.path().join("run");
    let mut child = start_training(&config, &out);
    let run = wait_for(|| checkpoint_of(&out));
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    // The weights of the generation that state.json names.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("checkpoint/state.json")).expect("state"),
    )
    .expect("json");
    let generation = state["generation"].as_u64().expect("generation");
    let weights = run.join(format!("checkpoint/model.{generation}.bpk"));
    let bytes = std::fs::read(&weights).expect("weights");
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).expect("truncate");
    let out = spawn(&["train", "--resume", run.to_str().expect("utf-8")])
        .wait_with_output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("checksum mismatch"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `config` with `train.ensemble = 2`: a second network trains after the run's own.
fn ensemble_config(dir: &Path, epochs: usize) -> PathBuf {
    let path = config(dir, epochs, None);
    let text = std::fs::read_to_string(&path).expect("config");
    std::fs::write(&path, format!("{text}ensemble = 2\n")).expect("write");
    path
}

/// The run's metrics.csv once it holds every epoch of the run's own network.
fn first_network_done(out: &Path, epochs: usize) -> Option<PathBuf> {
    let run = std::fs::read_dir(out).ok()?.next()?.ok()?.path();
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).ok()?;
    (metrics.lines().count() > epochs).then_some(run)
}

#[test]
fn ctrl_c_in_an_ensembles_second_network_resumes_to_the_uninterrupted_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let epochs = 8;
    let config = ensemble_config(dir.path(), epochs);
    let expected = train_uninterrupted(&config, &dir.path().join("clean"));

    let out = dir.path().join("interrupted");
    let child = start_training(&config, &out);
    let run = wait_for(|| first_network_done(&out, epochs));
    let stderr = ctrl_c(child);
    assert!(
        stderr.contains("in the networks trained after it") && !run.join("summary.json").exists(),
        "{stderr}"
    );
    resume(&run);
    assert_eq!(results(&run), expected);
    assert!(run.join("model-2.bpk").is_file());
}
