//! Hashes the sources that decide what training computes (this crate, the model and data
//! crates, and Cargo.lock's dependency versions) into `EMOJIFY_SOURCE_SHA256`. Pretrained
//! layers are cached across runs, keyed by it: a change to the code that would train them
//! differently must not be answered from a cache written by the old code.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let crates = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut paths = Vec::new();
    for name in ["emojify-train", "emojify-model", "emojify-data"] {
        let dir = crates.join(name);
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("Cargo.toml").display()
        );
        files(&dir.join("src"), &mut paths);
        paths.push(dir.join("Cargo.toml"));
    }
    let lock = crates.join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    paths.push(lock);
    paths.sort();
    let mut hash = Sha256::new();
    for path in &paths {
        let relative = path.strip_prefix(&crates).unwrap_or(path);
        hash.update(relative.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update(std::fs::read(path).unwrap_or_default());
        hash.update([0]);
    }
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env=EMOJIFY_SOURCE_SHA256={hex}");
}
