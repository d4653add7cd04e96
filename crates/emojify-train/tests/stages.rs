//! The trainer's folders are stages, and a stage imports only the stages below it (lib.rs draws
//! the order). `module-cycles` (CI) finds loops between files; this finds any import that points
//! up, loop or not: a `crate::<stage>` path outside tests and comments, in a file of a lower stage.

use std::path::Path;

/// The stages from the bottom; the foundation (config, backend) is below them all.
const ORDER: [&str; 8] = [
    "backend",
    "config",
    "inputs",
    "fit",
    "strategies",
    "run",
    "usage",
    "experiments",
];

fn rank(stage: &str) -> Option<usize> {
    match stage {
        "backend" | "config" => Some(0),
        other => ORDER.iter().position(|s| *s == other),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_stage_imports_a_stage_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 30, "found the sources: {files:?}");
    let mut upward = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let top = relative.components().next().expect("a path");
        let stage = top
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if stage == "lib" {
            continue;
        }
        let own = rank(&stage).unwrap_or_else(|| panic!("{stage}: a folder the order lacks"));
        let text = std::fs::read_to_string(file).expect("readable");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or_default();
            for (at, _) in line.match_indices("crate::") {
                let target: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if rank(&target).is_some_and(|r| r > own) {
                    upward.push(format!(
                        "{}:{}: {stage} imports {target}",
                        relative.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports pointing up:\n{}",
        upward.join("\n")
    );
}
