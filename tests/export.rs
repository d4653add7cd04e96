//! Exports proven by their consumers: PyTorch loads the safetensors file, onnxruntime runs the
//! ONNX graph, and both give the Rust model's probabilities on all 56 test sentences, in the
//! Python environment `tests/python/setup.sh` makes (the tests run it: `common::python`).

mod common;

use emojify_data::Silent;
use std::path::{Path, PathBuf};

use emojify_train::inputs::embedding::load_embeddings;
use emojify_train::inputs::splits::load_splits;
use emojify_train::run::train::train;
use emojify_train::usage::predict::Predictor;

/// Trains `config` briefly, exports it, writes the Rust side's answers on the test set, and has
/// PyTorch and onnxruntime check theirs against them.
fn export_and_check(
    config_name: &str,
    epochs: usize,
    edit: impl FnOnce(&mut emojify_train::config::RunConfig),
) -> (PathBuf, PathBuf, tempfile::TempDir) {
    export_and_check_cases(config_name, epochs, 56, edit)
}

/// [`export_and_check`] on a test set of `cases` examples.
fn export_and_check_cases(
    config_name: &str,
    epochs: usize,
    cases: usize,
    edit: impl FnOnce(&mut emojify_train::config::RunConfig),
) -> (PathBuf, PathBuf, tempfile::TempDir) {
    let expected_cases = cases;
    let out = tempfile::tempdir().expect("tmp");
    let mut config = common::config(config_name, out.path());
    config.train.epochs = epochs;
    edit(&mut config);
    let run = train(&config, &Silent)
        .expect("training runs")
        .run_dir
        .path()
        .to_path_buf();
    let export_dir = out.path().join("export");
    let (ok, stdout, stderr) = common::emojify(&[
        "export",
        "--run",
        run.to_str().expect("utf-8 path"),
        "--out",
        export_dir.to_str().expect("utf-8 path"),
    ]);
    assert!(ok, "export failed: {stderr}");
    let numeric = config.data.kind.numeric();
    let files: &[&str] = if numeric {
        &["model.safetensors", "model.onnx"]
    } else {
        &["model.safetensors", "model.onnx", "vocab.txt"]
    };
    for f in files {
        assert!(stdout.contains(f), "export did not report {f}: {stdout}");
    }

    let embeddings = load_embeddings(&config, &Silent).expect("embeddings");
    let (_, test) = load_splits(&config, &embeddings, &Silent).expect("splits");
    assert_eq!(test.examples.len(), expected_cases);
    let predictor = Predictor::from_run(&run, None, &Silent).expect("run loads");
    let texts: Vec<String> = if config.data.kind == emojify_train::config::DataKind::PixelsCsv {
        // An image's row as `predict` takes it: the pixel values as the file holds them.
        let max = f32::from(config.data.pixel_max);
        let row = |v: &[f32]| -> Vec<String> {
            v.iter().map(|p| (p * max).round().to_string()).collect()
        };
        test.encoded
            .iter()
            .map(|e| row(&e.values).join(","))
            .collect()
    } else {
        test.examples.iter().map(|e| e.text.clone()).collect()
    };
    let predictions = predictor.predict(&texts).expect("predict");
    let cases: Vec<serde_json::Value> = texts
        .iter()
        .zip(&predictions)
        .map(|(text, p)| {
            let encoded = predictor.encode(text).expect("test examples encode");
            if numeric {
                serde_json::json!({
                    "text": text,
                    "values": encoded.values,
                    "probabilities": p.probabilities,
                })
            } else {
                serde_json::json!({
                    "text": text,
                    "tokens": emojify_data::tokenize(text),
                    "ids": encoded.ids,
                    "probabilities": p.probabilities,
                })
            }
        })
        .collect();
    let cases_path = out.path().join("cases.json");
    std::fs::write(&cases_path, serde_json::to_string(&cases).expect("json")).expect("cases");

    let mut inputs = vec![
        ("--safetensors", export_dir.join("model.safetensors")),
        ("--onnx", export_dir.join("model.onnx")),
        ("--cases", cases_path),
    ];
    if !numeric {
        inputs.push(("--vocab", export_dir.join("vocab.txt")));
    }
    let check = std::process::Command::new(common::python())
        .arg(common::root().join("tests/python/check_exports.py"))
        .args(
            inputs
                .into_iter()
                .flat_map(|(flag, path)| [PathBuf::from(flag), path]),
        )
        .output()
        .expect("python runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        check.status.success(),
        "{config_name}: consumers disagree:\n{report}"
    );
    assert!(
        report.contains(&format!("ok: {expected_cases} sentences")),
        "{report}"
    );
    eprintln!("{config_name}: {report}");
    (run, export_dir, out)
}

fn predict_json(model_flag: &str, path: &Path, sentences: &[&str]) -> String {
    let mut args = vec![
        "predict",
        "--json",
        model_flag,
        path.to_str().expect("utf-8"),
    ];
    args.extend(sentences);
    let (ok, stdout, stderr) = common::emojify(&args);
    assert!(ok, "predict {model_flag} failed: {stderr}");
    stdout
}

const SENTENCES: [&str; 4] = [
    "i adore you",
    "not feeling happy",
    "Let's go see the baseball game tonight!",
    "",
];

#[test]
fn v2_exports_load_in_pytorch_and_onnxruntime_and_round_trip() {
    let (run, export_dir, out) = export_and_check("emojify_v2.toml", 10, |_| {});
    let weights = export_dir.join("model.safetensors");

    // Round trip: the safetensors file predicts exactly what the run does.
    assert_eq!(
        predict_json("--weights", &weights, &SENTENCES),
        predict_json("--run", &run, &SENTENCES)
    );

    // Without the embedding: a small file that still predicts the same.
    let slim = out.path().join("slim.safetensors");
    let (ok, _, stderr) = common::emojify(&[
        "export",
        "--run",
        run.to_str().expect("utf-8"),
        "--format",
        "safetensors",
        "--no-embedding",
        "--out",
        slim.to_str().expect("utf-8"),
    ]);
    assert!(ok, "{stderr}");
    let size = std::fs::metadata(&slim).expect("slim file").len();
    assert!(size < 2_000_000, "slim export is {size} bytes");
    assert_eq!(
        predict_json("--weights", &slim, &SENTENCES),
        predict_json("--run", &run, &SENTENCES)
    );

    // ONNX needs the embedding: asking for it without one is a clear error.
    let (ok, _, stderr) = common::emojify(&[
        "export",
        "--run",
        run.to_str().expect("utf-8"),
        "--format",
        "onnx",
        "--no-embedding",
    ]);
    assert!(
        !ok && stderr.contains("--no-embedding applies to safetensors only"),
        "{stderr}"
    );

    // A damaged file is refused, never loaded as garbage.
    let mut bytes = std::fs::read(&slim).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    let corrupt = out.path().join("corrupt.safetensors");
    std::fs::write(&corrupt, &bytes).expect("write");
    let refused = |expect: &str| {
        let (ok, _, stderr) = common::emojify(&[
            "predict",
            "--weights",
            corrupt.to_str().expect("utf-8"),
            "hi",
        ]);
        assert!(!ok && stderr.contains(expect), "{stderr}");
    };
    refused("does not match its checksum");
    std::fs::write(&corrupt, &bytes[..bytes.len() / 2]).expect("write");
    refused("not a valid safetensors file");
}

#[test]
fn last_token_v2_exports_agree_too() {
    // The masked variant reads each row's state at its true last token: in ONNX via
    // `sequence_lens`, in PyTorch by indexing.
    export_and_check("emojify_v2.toml", 3, |c| {
        if let emojify_train::config::ModelConfig::Lstm { state, .. } = &mut c.model {
            *state = emojify_model::StateChoice::LastToken;
        }
    });
}

#[test]
fn v2_with_the_mean_word_vector_exports_agree_too() {
    // `word_mean`: the dense layer reads the state and V1's masked mean side by side.
    let with_mean = |c: &mut emojify_train::config::RunConfig| {
        if let emojify_train::config::ModelConfig::Lstm { word_mean, .. } = &mut c.model {
            *word_mean = true;
        }
    };
    export_and_check("emojify_v2.toml", 3, with_mean);
    // Numbers have no padding: the mean is over every step.
    export_and_check_cases("shapes_lstm.toml", 3, 300, with_mean);
}

#[test]
fn v1_exports_agree() {
    let (run, export_dir, _out) = export_and_check("emojify_v1.toml", 2, |_| {});
    assert_eq!(
        predict_json(
            "--weights",
            &export_dir.join("model.safetensors"),
            &SENTENCES
        ),
        predict_json("--run", &run, &SENTENCES)
    );
}

#[test]
fn other_tasks_export_to_pytorch_and_onnxruntime() {
    // Numeric input, no embedding, LSTM and MLP.
    export_and_check_cases("shapes_lstm.toml", 3, 300, |_| {});
    export_and_check_cases("shapes_mlp.toml", 3, 300, |_| {});
    // A trained embedding over the training vocabulary, last-token state.
    export_and_check_cases("sst2_lstm.toml", 1, 1821, |_| {});
}

#[test]
fn cnn_exports_to_pytorch_and_onnxruntime() {
    // Images: convolutions, pooling and the dense layer over channel-major features, on the
    // 2,000 held-out digits.
    export_and_check_cases("mnist_cnn.toml", 1, 2000, |_| {});
    // One 28×28 kernel and no pooling (a `pools` list left out).
    export_and_check_cases("mnist_cnn_28x28.toml", 1, 2000, |c| {
        if let emojify_train::config::ModelConfig::Cnn { pools, .. } = &mut c.model {
            pools.clear();
        }
    });
}
