//! `emojify bench`: every backend (wgpu on whatever adapter the machine has: lavapipe in CI) and
//! the PyTorch reference produce a row, and the table, JSON and chart are written.

mod common;

/// What a bench run leaves: its stdout, `bench.json`, the output folder, and the temporary
/// folder holding it.
type Bench = (
    String,
    serde_json::Value,
    std::path::PathBuf,
    tempfile::TempDir,
);

fn bench(extra: &[&str]) -> Bench {
    bench_with(extra, &[])
}

/// [`bench`] with extra environment variables for the binary.
fn bench_with(extra: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Bench {
    bench_on("emojify_v2.toml", extra, env)
}

/// [`bench_with`] on another config of `configs/`.
fn bench_on(config: &str, extra: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Bench {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("bench");
    let config = common::root().join("configs").join(config);
    let mut args = vec![
        "bench",
        "--config",
        config.to_str().expect("utf-8"),
        "--epochs",
        "2",
        "--reps",
        "2",
        "--threads",
        "2",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    args.extend(extra);
    let (ok, stdout, stderr) = common::emojify_with(&args, env);
    assert!(ok, "bench failed: {stderr}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).expect("json"))
            .expect("valid json");
    let png = std::fs::read(out.join("bench.png")).expect("png");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "bench.png"
    );
    let md = std::fs::read_to_string(out.join("bench.md")).expect("md");
    assert!(stdout.contains(md.trim()), "stdout carries the table");
    // Which CPU decides the verdict against PyTorch: the table and the JSON name it.
    let cpu = &json["cpu"];
    let vector = cpu["vector"].as_str().unwrap_or_default();
    assert!(
        !vector.is_empty() && cpu["cores"].as_u64().unwrap_or(0) >= 1,
        "{cpu}"
    );
    let model = cpu["model"].as_str().unwrap_or_default();
    assert!(
        md.lines()
            .any(|l| l.starts_with("CPU: ") && l.contains(model) && l.contains(vector)),
        "{md}"
    );
    (stdout, json, out, dir)
}

fn rows(json: &serde_json::Value) -> Vec<&serde_json::Value> {
    json["rows"].as_array().expect("rows").iter().collect()
}

#[test]
fn every_backend_gets_a_row_with_real_figures() {
    let (stdout, json, _, _dir) = bench(&["--backends", "flex,ndarray,wgpu"]);
    let rows = rows(&json);
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["backend"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["flex", "ndarray", "wgpu"]);
    for r in &rows {
        assert_eq!(r["train_sentences"], 132, "{r}");
        for key in [
            "warmup_s",
            "median_epoch_s",
            "train_sentences_per_s",
            "infer_b1_ms",
            "infer_b1024_sentences_per_s",
            "peak_rss_mib",
        ] {
            let v = r[key].as_f64().unwrap_or(f64::NAN);
            assert!(v.is_finite() && v > 0.0, "{key} = {v} in {r}");
        }
        let acc = r["test_accuracy"]
            .as_f64()
            .expect("EMOJISET has an accuracy");
        assert!((0.0..=1.0).contains(&acc));
    }
    // The wgpu row names the adapter it ran on (llvmpipe, i.e. the CPU, without a GPU).
    let adapter = rows[2]["device"].as_str().unwrap_or_default();
    assert!(!adapter.is_empty() && adapter != "cpu", "{adapter}");
    assert!(
        stdout.contains(&format!("| wgpu | {adapter} |")),
        "{stdout}"
    );
}

/// Also: `--rounds 2` runs both twice, reports medians and each round's ratios.
#[test]
fn synthetic_data_and_the_pytorch_reference() {
    let script = common::root().join("benches/pytorch_reference.py");
    let python = common::python();
    let env = [("EMOJIFY_PYTHON", python.as_os_str())];
    let (stdout, json, _, _dir) = bench_with(
        &[
            "--pytorch-script",
            script.to_str().expect("utf-8"),
            "--backends",
            "flex",
            "--synthetic",
            "300",
            "--random-embedding",
            "--compare-pytorch",
            "--batch",
            "64",
            "--rounds",
            "2",
        ],
        &env,
    );
    let rows = rows(&json);
    assert_eq!(rows.len(), 2);
    let rounds = json["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 2, "every round is kept");
    assert!(rounds.iter().all(|r| r.as_array().map_or(0, Vec::len) == 2));
    assert!(stdout.contains("median of 2 rounds"), "{stdout}");
    assert!(
        stdout.contains("- flex: total train time / PyTorch's per round"),
        "{stdout}"
    );
    assert_eq!(rows[1]["backend"], "pytorch");
    for r in &rows {
        assert_eq!(r["train_sentences"], 300);
        assert!(r["test_accuracy"].is_null(), "no accuracy on random labels");
        assert!(r["train_sentences_per_s"].as_f64().unwrap_or(0.0) > 0.0);
    }
    assert!(stdout.contains("synthetic 300 sentences"), "{stdout}");
    assert!(stdout.contains("(1.00×)"), "ratios to PyTorch: {stdout}");
}

/// The CNN on every backend against its PyTorch twin, on synthetic images (random pixels and
/// labels: the speed, not the accuracy); `--lstm` is refused for a network without LSTM layers.
#[test]
fn a_cnn_is_benched_on_every_backend_against_pytorch() {
    let script = common::root().join("benches/pytorch_reference.py");
    let python = common::python();
    let env = [("EMOJIFY_PYTHON", python.as_os_str())];
    let (stdout, json, _, _dir) = bench_on(
        "mnist_cnn.toml",
        &[
            "--backends",
            "flex,ndarray,wgpu",
            "--synthetic",
            "40",
            "--compare-pytorch",
            "--pytorch-script",
            script.to_str().expect("utf-8"),
        ],
        &env,
    );
    let names: Vec<&str> = rows(&json)
        .iter()
        .map(|r| r["backend"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["flex", "ndarray", "wgpu", "pytorch"], "{stdout}");
    for r in rows(&json) {
        assert_eq!(r["train_sentences"], 40, "{r}");
        assert!(
            r["train_sentences_per_s"].as_f64().unwrap_or(0.0) > 0.0,
            "{r}"
        );
    }
    let config = common::root().join("configs/mnist_cnn.toml");
    let (ok, _, err) = common::emojify(&[
        "bench",
        "--config",
        config.to_str().expect("utf-8"),
        "--lstm",
        "composed",
    ]);
    assert!(!ok && err.contains("has none"), "{err}");
}

/// `--composed-lstm` measures the tensor-op LSTM on the CPU backends (same work, same data), and
/// the table says so. (That both give the same numbers is `emojify_model::lstm::op`'s unit test.)
#[test]
fn composed_lstm_is_measured_on_request() {
    let common = [
        "--backends",
        "flex",
        "--synthetic",
        "200",
        "--random-embedding",
    ];
    let (_, fused, _, _a) = bench(&common);
    let (stdout, composed, _, _b) = bench(&[&common[..], &["--composed-lstm"]].concat());
    assert!(stdout.contains("composed LSTM"), "{stdout}");
    for json in [&fused, &composed] {
        let row = rows(json)[0];
        assert_eq!(row["train_sentences"], 200);
        assert!(row["train_sentences_per_s"].as_f64().unwrap_or(0.0) > 0.0);
    }
}

/// `emojify bench-encoder`: the sentence encoder on a backend and `transformers` on the same
/// sentences, the table with ratios and the JSON written.
#[test]
fn the_sentence_encoder_is_benched_against_transformers() {
    let dir = tempfile::tempdir().expect("tmp");
    let python = common::python();
    let script = common::root().join("benches/encoder_reference.py");
    // Our messages are under the repository's data/ (EMOJISET comes from the shared mirror).
    let data = common::root().join("data");
    let (ok, stdout, stderr) = common::emojify_with(
        &[
            "bench-encoder",
            "--backends",
            "flex",
            "--batches",
            "1,4",
            "--sentences",
            "8",
            "--reps",
            "1",
            "--threads",
            "2",
            "--compare-pytorch",
            "--pytorch-script",
            script.to_str().expect("utf-8"),
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--out",
            dir.path().to_str().expect("utf-8"),
        ],
        &[("EMOJIFY_PYTHON", python.as_os_str())],
    );
    assert!(ok, "{stderr}");
    for text in ["emojiset", "messages"] {
        assert!(
            stdout.contains(&format!("| flex | cpu | {text} |")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("| pytorch | cpu (torch"), "{stdout}");
    assert!(stdout.contains("×) |"), "ratios to PyTorch: {stdout}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("bench-encoder.json")).expect("json"),
    )
    .expect("valid json");
    let rows = json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 4, "{json}");
    for r in rows {
        let load = r["load_s"].as_f64().unwrap_or(f64::NAN);
        assert!(load > 0.0 && load.is_finite(), "{r}");
        assert_eq!(r["per_s"].as_array().map(Vec::len), Some(2), "{r}");
    }
}
