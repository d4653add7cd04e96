//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use emojify_train::config::RunConfig;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A config from `configs/`, pointed at the shared data mirror and writing runs under `out`.
pub fn config(name: &str, out: &Path) -> RunConfig {
    let path = root().join("configs").join(name);
    let mut c = RunConfig::load(&path).expect("config parses");
    c.data_dir = Some(root().join("../shared/data"));
    c.out = out.to_path_buf();
    c
}

/// Runs the `emojify` binary with the shared data mirror: (success, stdout, stderr).
pub fn emojify(args: &[&str]) -> (bool, String, String) {
    emojify_with(args, &[])
}

/// [`emojify`] with extra environment variables.
pub fn emojify_with(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emojify"))
        .args(args)
        .env("EMOJIFY_DATA", root().join("../shared/data"))
        .envs(env.iter().copied())
        .output()
        .expect("binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The Python with torch, onnxruntime, safetensors and numpy that the export checks and the
/// PyTorch benchmark reference run on: `$EMOJIFY_PYTHON` if set, else the venv that
/// `tests/python/setup.sh` makes (once, outside the clone; later calls find it ready). The
/// tests provision it themselves, so `cargo test` needs no manual step.
pub fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("EMOJIFY_PYTHON").filter(|p| !p.is_empty()) {
                return PathBuf::from(p);
            }
            let out = std::process::Command::new("bash")
                .arg(root().join("tests/python/setup.sh"))
                .stderr(std::process::Stdio::inherit())
                .output()
                .expect("bash runs tests/python/setup.sh");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "tests/python/setup.sh failed ({}): it needs python3 with venv and pip, and \
                 the package registry; output: {stdout}",
                out.status
            );
            PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
        })
        .clone()
}

/// The V1 config as `edit` makes it, written into `dir` as `run.toml`.
pub fn write_config(dir: &std::path::Path, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("configs/emojify_v1.toml")).expect("config");
    let path = dir.join("run.toml");
    std::fs::write(&path, edit(text)).expect("write");
    path
}

/// A V1 run trained for two epochs under `dir`.
pub fn small_run(dir: &std::path::Path) -> std::path::PathBuf {
    small_run_with(dir, |t| t.replace("epochs = 400", "epochs = 2"))
}

/// A V1 run of the config as `edit` makes it, trained under `dir`.
pub fn small_run_with(
    dir: &std::path::Path,
    edit: impl Fn(String) -> String,
) -> std::path::PathBuf {
    let config = write_config(dir, edit);
    let out = dir.join("runs");
    let (ok, _, err) = emojify(&[
        "train",
        "--config",
        config.to_str().expect("utf8"),
        "--out",
        out.to_str().expect("utf8"),
        "--quiet",
    ]);
    assert!(ok, "{err}");
    std::fs::read_dir(&out)
        .expect("runs")
        .next()
        .expect("one run")
        .expect("entry")
        .path()
}

/// Corrupts `file` in place: the lowest bit of its last byte flipped (a checksum must notice).
pub fn flip_last_bit(file: &Path) {
    let mut bytes = std::fs::read(file).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(file, &bytes).expect("write");
}
