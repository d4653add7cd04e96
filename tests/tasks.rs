//! The two other sequence tasks through the same crates and commands: shapes (numeric input,
//! LSTM and MLP) and SST-2 (tokens, embedding trained from scratch). Nothing Emojify-specific.

mod common;

use common::emojify;
use emojify_data::Silent;
use emojify_train::run::train::train;

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// One line of the shapes test file without its class: the input `predict` takes.
fn first_test_curve() -> (String, String) {
    let text = std::fs::read_to_string(
        common::root().join("../shared/data/shapes/shape_classification_test.csv"),
    )
    .expect("shapes test file");
    let line = text.lines().nth(1).expect("a row");
    let (class, values) = line.split_once(',').expect("class,values");
    (class.to_string(), values.to_string())
}

#[test]
fn shapes_lstm_reaches_the_target_and_predicts_exports_and_reloads() {
    let out = tempfile::tempdir().expect("tmp");
    let outcome = train(&common::config("shapes_lstm.toml", out.path()), &Silent).expect("trains");
    // The target: ≥ 0.90 test accuracy (the lab reports 0.93).
    assert!(
        outcome.summary.test_accuracy >= 0.90,
        "shapes LSTM test accuracy {}",
        outcome.summary.test_accuracy
    );
    let run = outcome.run_dir.path().to_path_buf();
    // The class-name → index mapping is stored with the run, in the config's order.
    let saved = emojify_train::config::RunConfig::load(&run.join("config.toml")).expect("config");
    assert_eq!(saved.data.labels, ["ellipse", "square", "triangle"]);

    let (class, curve) = first_test_curve();
    let (ok, json, err) = emojify(&["predict", "--run", path(&run), "--json", &curve]);
    assert!(ok, "{err}");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(parsed[0]["display"], class.as_str(), "{json}");

    let (ok, _, err) = emojify(&["predict", "--run", path(&run), "1,2,3"]);
    assert!(!ok);
    assert!(err.contains("expected 55 numbers"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let export = out.path().join("export");
    let (ok, _, err) = emojify(&["export", "--run", path(&run), "--out", path(&export)]);
    assert!(ok, "{err}");
    assert!(export.join("model.onnx").is_file());
    let weights = export.join("model.safetensors");
    let (ok, again, err) = emojify(&["predict", "--weights", path(&weights), "--json", &curve]);
    assert!(ok, "{err}");
    assert_eq!(again, json, "the export predicts as the run does");
}

#[test]
fn shapes_mlp_baseline_trains_on_the_same_pipeline() {
    let out = tempfile::tempdir().expect("tmp");
    let outcome = train(&common::config("shapes_mlp.toml", out.path()), &Silent).expect("trains");
    assert_eq!(outcome.summary.trainable_params, 55 * 64 + 64 + 64 * 3 + 3);
    // Better than chance (1/3); the figure itself is reported in docs/results.md.
    assert!(outcome.summary.test_accuracy > 0.5, "{:?}", outcome.summary);
}

#[test]
fn sst2_vocabulary_is_built_from_training_data_and_travels_with_the_run() {
    let out = tempfile::tempdir().expect("tmp");
    let mut config = common::config("sst2_lstm.toml", out.path());
    config.train.epochs = 1;
    let outcome = train(&config, &Silent).expect("trains");
    // One epoch already beats chance clearly; the target is checked by the results command.
    assert!(
        outcome.summary.test_accuracy > 0.55,
        "{:?}",
        outcome.summary
    );
    let run = outcome.run_dir.path().to_path_buf();
    let vocab: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(run.join("vocab.json")).expect("vocab"))
            .expect("json list");
    assert!(vocab.iter().any(|w| w == "OOV") && !vocab.iter().any(|w| w == "PAD"));
    assert!(vocab.is_sorted() && vocab.len() > 1_000, "{}", vocab.len());
    // The trained embedding is in the weights: the run predicts without the data present.
    let sentences = ["a gorgeous , witty , seductive movie .", "zzzunseenword"];
    let (ok, json, err) = emojify(&[
        "predict",
        "--run",
        path(&run),
        "--json",
        sentences[0],
        sentences[1],
    ]);
    assert!(ok, "{err}");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("json");
    // An unseen word becomes the OOV token: counted, and still one step the model sees.
    assert_eq!(parsed[1]["oov_tokens"], 1, "{json}");
    assert_eq!(parsed[1]["known_tokens"], 1, "{json}");

    let weights = out.path().join("sst2.safetensors");
    let (ok, _, err) = emojify(&[
        "export",
        "--run",
        path(&run),
        "--format",
        "safetensors",
        "--out",
        path(&weights),
    ]);
    assert!(ok, "{err}");
    let (ok, again, err) = emojify(&[
        "predict",
        "--weights",
        path(&weights),
        "--json",
        sentences[0],
        sentences[1],
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        again, json,
        "the export carries its vocabulary and embedding"
    );
}

#[test]
fn task_configs_are_checked_for_input_kind_mismatches() {
    let dir = tempfile::tempdir().expect("tmp");
    let text =
        std::fs::read_to_string(common::root().join("configs/shapes_lstm.toml")).expect("config");
    for (from, to, expect) in [
        (
            "source = \"none\"",
            "source = \"glove-6b-50d\"",
            "embedding.source",
        ),
        (
            "kind = \"lstm\"\nhidden = 32\nlayers = 1\ndropout = 0.0\nstate = \"last-step\"",
            "kind = \"mean-embedding\"",
            "model.kind",
        ),
        ("bad_rows = \"error\"", "oov = \"oov-token\"", "data.oov"),
    ] {
        let file = dir.path().join("run.toml");
        std::fs::write(&file, text.replace(from, to)).expect("write");
        let (ok, _, err) = emojify(&["train", "--config", path(&file), "--quiet"]);
        assert!(!ok, "{to} accepted");
        assert!(err.contains(expect), "{to}: {err}");
    }
}

#[test]
fn summary_and_bench_take_the_task_configs_unchanged() {
    let config = |name: &str| common::root().join("configs").join(name);
    for (name, total) in [
        ("shapes_lstm.toml", "Total params: 4,451"),
        ("shapes_mlp.toml", "Total params: 3,779"),
        ("sst2_lstm.toml", "Trainable params: 162,722"),
        ("mnist_cnn.toml", "Total params: 34,826"),
        ("mnist_cnn_1x1.toml", "Total params: 33,546"),
        ("mnist_cnn_28x28.toml", "Total params: 25,450"),
    ] {
        let (ok, out, err) = emojify(&["summary", "--config", path(&config(name))]);
        assert!(ok, "{name}: {err}");
        assert!(out.contains(total), "{name}: {out}");
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (ok, out, err) = emojify(&[
        "bench",
        "--config",
        path(&config("shapes_mlp.toml")),
        "--backends",
        "flex",
        "--epochs",
        "2",
        "--reps",
        "1",
        "--out",
        path(dir.path()),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("| flex | cpu |"), "{out}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("bench.json")).expect("bench.json"),
    )
    .expect("json");
    assert!(json.to_string().contains("\"test_accuracy\":0."), "{json}");
}

/// The first `rows` digits of the public MNIST file, as a plain (not gzipped) pixel CSV in `dir`.
fn mnist_sample(dir: &std::path::Path, rows: usize) -> std::path::PathBuf {
    use std::io::Read;
    let gz = std::fs::read(common::root().join("../shared/data/mnist/mnist_test.csv.gz"))
        .expect("mnist file");
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut text)
        .expect("gzip");
    let sample: Vec<&str> = text.lines().take(rows + 1).collect();
    let file = dir.join("digits.csv");
    std::fs::write(&file, sample.join("\n") + "\n").expect("write sample");
    file
}

#[test]
fn mnist_cnn_learns_digits_from_one_file_and_predicts_a_row_of_pixels() {
    let out = tempfile::tempdir().expect("tmp");
    let outcome = train(&common::config("mnist_cnn.toml", out.path()), &Silent).expect("trains");
    assert_eq!(outcome.summary.trainable_params, 34_826);
    // The target is a median over 5 seeds (docs/results.md); one seed clears 0.95.
    assert!(
        outcome.summary.test_accuracy >= 0.95,
        "{:?}",
        outcome.summary
    );
    let run = outcome.run_dir.path().to_path_buf();

    // Which line went where: all 10,000 digits, 2,000 held out, each class about a fifth.
    let holdout = std::fs::read_to_string(run.join("holdout.csv")).expect("holdout.csv");
    let rows: Vec<Vec<&str>> = holdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 10_000);
    assert_eq!(rows.iter().filter(|r| r[2] == "test").count(), 2_000);
    for digit in ["0", "5", "9"] {
        let all = rows.iter().filter(|r| r[1] == digit).count() as f64;
        let held = rows
            .iter()
            .filter(|r| r[1] == digit && r[2] == "test")
            .count() as f64;
        assert!((held / all - 0.2).abs() < 0.002, "{digit}: {held} of {all}");
    }
    assert_eq!(rows[0][0], "2", "lines are the file's, header on line 1");

    // `predict` takes a row of 784 pixel values as the file holds them (0–255).
    let sample = mnist_sample(out.path(), 3);
    let text = std::fs::read_to_string(&sample).expect("sample");
    let (class, pixels) = text
        .lines()
        .nth(1)
        .and_then(|l| l.split_once(','))
        .expect("row");
    let (ok, json, err) = emojify(&["predict", "--run", path(&run), "--json", pixels]);
    assert!(ok, "{err}");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(parsed[0]["display"], class, "{json}");
    let (ok, shown, err) = emojify(&["predict", "--run", path(&run), pixels]);
    assert!(ok, "{err}");
    assert!(shown.contains("… (784 numbers) → "), "{shown}");
    for (bad, reason) in [
        ("1,2,3".to_string(), "expected 784 numbers"),
        (
            pixels.replacen('0', "256", 1),
            "pixel 1x1: 256 is outside 0–255",
        ),
    ] {
        let (ok, _, err) = emojify(&["predict", "--run", path(&run), &bad]);
        assert!(
            !ok && err.contains(reason) && !err.contains("panicked"),
            "{err}"
        );
    }

    // `text` decorates sentences: a run over pixels is refused, pointing at `predict`.
    let (ok, _, err) = emojify(&["text", "--run", path(&run), "hello there"]);
    assert!(
        !ok && err.contains("pixels-csv") && err.contains("emojify predict"),
        "{err}"
    );

    // The lab's point: a 1×1 kernel sees one pixel, and the network is clearly worse for it.
    let narrow = train(&common::config("mnist_cnn_1x1.toml", out.path()), &Silent)
        .expect("trains")
        .summary;
    assert!(
        narrow.test_accuracy < outcome.summary.test_accuracy - 0.05,
        "1×1 {} against 3×3 {}",
        narrow.test_accuracy,
        outcome.summary.test_accuracy
    );
}

#[test]
fn a_cnn_gives_the_same_answers_on_flex_ndarray_and_wgpu() {
    use emojify_train::backend::{BackendKind, WgpuChoice};
    use emojify_train::fit::model::build_model;
    use emojify_train::fit::probabilities::probabilities;
    use emojify_train::inputs::splits::load_data;

    let out = tempfile::tempdir().expect("tmp");
    let mut config = common::config("mnist_cnn.toml", out.path());
    config.data.train = mnist_sample(out.path(), 300);
    config.train.epochs = 3;
    let (embeddings, train_split, _) = load_data(&config, &Silent).expect("data");
    assert_eq!(train_split.examples.len(), 240);
    let mut answers = Vec::new();
    for backend in [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu] {
        // The same seed builds the same network everywhere: its untrained answers agree.
        let device = backend.device(WgpuChoice::Default).expect("device");
        let model = build_model(&config, &embeddings, &device);
        let probs = probabilities(&model, &train_split.encoded[..64], &device).expect("forward");
        answers.push(probs.concat());
        // And each backend trains it (convolution and pooling backward included).
        config.backend = backend;
        let summary = train(&config, &Silent).expect("trains").summary;
        assert!(summary.test_accuracy > 0.5, "{backend}: {summary:?}");
    }
    for (i, other) in answers.iter().enumerate().skip(1) {
        let worst = answers[0]
            .iter()
            .zip(other)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "backend {i} differs from flex by {worst}");
    }
}

/// TweetEval's format (`*_text.txt` + `*_labels.txt`, classes in `mapping.txt`) as a data kind:
/// a V1 trains on a sample of it, `eval` reads a split of it, and what does not fit the format is
/// an error naming the file and line.
#[test]
fn tweeteval_text_and_labels_files_train_and_evaluate() {
    let shared = common::root().join("../shared/data/tweeteval/emoji");
    let dir = tempfile::tempdir().expect("tmp");
    let sample = |split: &str, lines: usize| {
        for part in ["text", "labels"] {
            let all = std::fs::read_to_string(shared.join(format!("{split}_{part}.txt")))
                .expect("tweeteval file");
            let head: Vec<&str> = all.lines().take(lines).collect();
            std::fs::write(
                dir.path().join(format!("{split}_{part}.txt")),
                head.join("\n") + "\n",
            )
            .expect("write sample");
        }
    };
    sample("train", 600);
    sample("val", 200);
    std::fs::copy(shared.join("mapping.txt"), dir.path().join("mapping.txt")).expect("mapping");
    let (emoji, names) =
        emojify_data::read_mapping(&dir.path().join("mapping.txt")).expect("mapping reads");
    assert_eq!(emoji.len(), 20);
    let list = |v: &[String]| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let config = |labels: &str| {
        format!(
            "name = \"tweets\"\nout = {out:?}\ndata_dir = {data:?}\n[data]\nkind = \"text-labels\"\n\
             train = \"train_text.txt\"\ntest = \"val_text.txt\"\nmapping = \"mapping.txt\"\n\
             normalize = true\nmax_len = 30\nlabels = [{labels}]\nlabel_names = [{names}]\n\
             [model]\nkind = \"mean-embedding\"\n[train]\noptimizer = \"adam\"\n\
             learning_rate = 0.01\nepochs = 3\nbatch_size = 32\n",
            out = dir.path().join("runs"),
            data = dir.path(),
            names = list(&names),
        )
    };
    let file = dir.path().join("run.toml");
    std::fs::write(&file, config(&list(&emoji))).expect("config");
    let (ok, out, err) = emojify(&["train", "--config", path(&file)]);
    assert!(ok, "{err}");
    assert!(
        out.contains("train: 600 sentences") && out.contains("test: 200 sentences"),
        "{out}"
    );
    let run = std::fs::read_dir(dir.path().join("runs"))
        .expect("runs")
        .next()
        .expect("a run")
        .expect("entry")
        .path();
    let (ok, report, err) = emojify(&[
        "eval",
        "--run",
        path(&run),
        "--data",
        path(&dir.path().join("val_text.txt")),
    ]);
    assert!(ok, "{err}");
    assert!(
        report.contains("(200 examples)") && report.contains("macro F1"),
        "{report}"
    );

    // macro-F1 is the benchmark's: scikit-learn's `classification_report` on the gold labels
    // and the labels `predict --format labels` writes, to 4 decimals; the run's summary has it.
    let (ok, labels_out, err) = emojify(&[
        "predict",
        "--run",
        path(&run),
        "--data",
        path(&dir.path().join("val_text.txt")),
        "--format",
        "labels",
    ]);
    assert!(ok, "{err}");
    assert_eq!(labels_out.lines().count(), 200);
    let predictions = dir.path().join("predictions.txt");
    std::fs::write(&predictions, &labels_out).expect("write predictions");
    let script = "import sys\nfrom sklearn.metrics import classification_report\n\
                  gold = [int(l) for l in open(sys.argv[1]).read().split()]\n\
                  pred = [int(l) for l in open(sys.argv[2]).read().split()]\n\
                  r = classification_report(gold, pred, output_dict=True, zero_division=0)\n\
                  print(r['macro avg']['f1-score'])\n";
    let sklearn = std::process::Command::new(common::python())
        .args(["-c", script])
        .arg(dir.path().join("val_labels.txt"))
        .arg(&predictions)
        .output()
        .expect("python runs");
    assert!(
        sklearn.status.success(),
        "{}",
        String::from_utf8_lossy(&sklearn.stderr)
    );
    let official: f64 = String::from_utf8_lossy(&sklearn.stdout)
        .trim()
        .parse()
        .expect("a number");
    let (ok, json, err) = emojify(&[
        "eval",
        "--run",
        path(&run),
        "--data",
        path(&dir.path().join("val_text.txt")),
        "--json",
    ]);
    assert!(ok, "{err}");
    let ours = serde_json::from_str::<serde_json::Value>(&json).expect("json")["macro_f1"]
        .as_f64()
        .expect("macro_f1");
    assert!(
        (ours - official).abs() < 5e-5,
        "ours {ours} against scikit-learn's {official}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).expect("summary"))
            .expect("json");
    let in_summary = summary["test_macro_f1"].as_f64().expect("test_macro_f1");
    assert!(
        (in_summary - official).abs() < 5e-5,
        "{in_summary} against {official}"
    );

    // Cross-validation can choose by macro-F1 (on the training split's folds only).
    let (ok, table, err) = emojify(&[
        "cv",
        "--config",
        path(&file),
        "--folds",
        "2",
        "--seeds",
        "1",
        "--epochs",
        "2",
        "--metric",
        "macro-f1",
    ]);
    assert!(ok, "{err}");
    assert!(
        table.contains("mean validation macro-F1") && table.contains("best val macro-F1"),
        "{table}"
    );

    // The mapping decides what a class index means: other labels are refused.
    let mut swapped = emoji.clone();
    swapped.swap(0, 1);
    std::fs::write(&file, config(&list(&swapped))).expect("config");
    let (ok, _, err) = emojify(&["train", "--config", path(&file)]);
    assert!(!ok && err.contains("mapping.txt: its classes are"), "{err}");
    // A labels file one line short: named, with the line that has no partner.
    std::fs::write(&file, config(&list(&emoji))).expect("config");
    let labels = dir.path().join("val_labels.txt");
    let text = std::fs::read_to_string(&labels).expect("labels");
    let short: Vec<&str> = text.lines().take(199).collect();
    std::fs::write(&labels, short.join("\n") + "\n").expect("write");
    let (ok, _, err) = emojify(&["train", "--config", path(&file)]);
    assert!(
        !ok && err.contains("val_text.txt:200:") && err.contains("has 200 lines but"),
        "{err}"
    );
}
