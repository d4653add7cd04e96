//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use emojify_train::RunConfig;

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
