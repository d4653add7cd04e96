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
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emojify"))
        .args(args)
        .env("EMOJIFY_DATA", root().join("../shared/data"))
        .output()
        .expect("binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
