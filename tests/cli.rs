//! The `emojify` binary: errors are clear and name what is wrong, never a panic.
//! (Past 500 lines: every command's error paths live together, beside the helpers they share.)

mod common;

use common::{emojify, small_run, small_run_with, write_config};

/// The V1 config with `data_dir` pointing at `dir`, written into `dir`.
fn config_reading_data_from(dir: &std::path::Path) -> std::path::PathBuf {
    write_config(dir, |t| {
        t.replace("seed = 1", &format!("seed = 1\ndata_dir = {dir:?}"))
    })
}

#[test]
fn bad_configs_are_errors_naming_key_and_line() {
    let dir = tempfile::tempdir().expect("tmp");
    for (edit, expect) in [
        (("epochs = 400", "epochs = 400\nepohcs = 3"), "epohcs"),
        (
            ("learning_rate = 0.01", "learning_rate = -0.01"),
            "train.learning_rate",
        ),
        (("batch_size = 1", "batch_size = 0"), "train.batch_size"),
        (
            ("batch_size = 1", "batch_size = 1\nclip_grad_norm = -1.0"),
            "train.clip_grad_norm",
        ),
        (
            ("batch_size = 1", "batch_size = 1\nword_dropout = 1.0"),
            "train.word_dropout",
        ),
        (
            ("batch_size = 1", "batch_size = 1\nneighbour_swap = 1.5"),
            "train.neighbour_swap",
        ),
        (
            (
                "batch_size = 1",
                "batch_size = 1\nneighbour_swap = 0.1\nneighbours = 0",
            ),
            "train.neighbours",
        ),
        (
            ("batch_size = 1", "batch_size = 1\naverage_from = 0"),
            "train.average_from",
        ),
        (
            ("batch_size = 1", "batch_size = 1\naverage_from = 401"),
            "train.average_from",
        ),
        (("max_len = 10", "max_len = 0"), "data.max_len"),
        // Copies of data.train weigh it against extra_train files, which this config has none of.
        (
            ("max_len = 10", "max_len = 10\ntrain_copies = 2"),
            "data.train_copies",
        ),
        (("epochs = 400", "epochs = \"many\""), "line"),
    ] {
        let path = write_config(dir.path(), |t| t.replace(edit.0, edit.1));
        let (ok, _, err) = emojify(&["train", "--config", path.to_str().expect("utf8"), "--quiet"]);
        assert!(!ok, "{edit:?} accepted");
        assert!(err.contains(expect), "{edit:?}: {err}");
        assert!(err.contains("run.toml"), "{edit:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn missing_data_lists_every_place_searched() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = write_config(dir.path(), |t| {
        t.replace("emojiset/tesss.csv", "emojiset/nope.csv")
    });
    let (ok, _, err) = emojify(&["train", "--config", path.to_str().expect("utf8"), "--quiet"]);
    assert!(!ok);
    assert!(
        err.contains("emojiset/nope.csv not found; looked in:"),
        "{err}"
    );
    assert!(err.contains("../shared/data/emojiset/nope.csv"), "{err}");
}

#[test]
fn bad_data_row_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("emojiset");
    std::fs::create_dir_all(&data).expect("dir");
    std::fs::write(data.join("train_emoji.csv"), "i love you,0\nbad row,9\n").expect("write");
    std::fs::write(data.join("tesss.csv"), "i love you,0\n").expect("write");
    let path = config_reading_data_from(dir.path());
    let (ok, _, err) = emojify(&["train", "--config", path.to_str().expect("utf8"), "--quiet"]);
    assert!(!ok);
    assert!(
        err.contains("train_emoji.csv:2: label 9 is out of range"),
        "{err}"
    );
}

#[test]
fn summary_prints_parameter_totals() {
    let (ok, out, err) = emojify(&[
        "summary",
        "--config",
        common::root()
            .join("configs/emojify_v1.toml")
            .to_str()
            .expect("utf8"),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("Trainable params: 255"), "{out}");
    assert!(out.contains("Non-trainable params: 20,000,050"), "{out}");
}

#[test]
fn wgpu_without_the_requested_adapter_is_a_clear_error() {
    let config = common::root().join("configs/emojify_v2.toml");
    let (ok, _, err) = emojify(&[
        "train",
        "--config",
        config.to_str().expect("utf8"),
        "--backend",
        "wgpu",
        "--wgpu-device",
        "discrete:7",
        "--quiet",
    ]);
    assert!(!ok);
    assert!(
        err.contains("wgpu found no usable adapter for `discrete:7`"),
        "{err}"
    );
    assert!(err.contains("mesa-vulkan-drivers"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn predict_on_a_missing_run_is_a_clear_error() {
    let (ok, _, err) = emojify(&["predict", "--run", "/nonexistent/run", "hello"]);
    assert!(!ok);
    assert!(
        err.contains("/nonexistent/run is not a run directory"),
        "{err}"
    );
}

#[test]
fn bad_model_values_are_errors_naming_key_and_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let text =
        std::fs::read_to_string(common::root().join("configs/emojify_v2.toml")).expect("config");
    for (from, to, expect) in [
        ("dropout = 0.5", "dropout = 1.0", "model.dropout"),
        ("dropout = 0.5", "dropout = -0.1", "model.dropout"),
        ("hidden = 128", "hidden = 0", "model.hidden"),
    ] {
        let path = dir.path().join("v2.toml");
        std::fs::write(&path, text.replace(from, to)).expect("write");
        let (ok, _, err) = emojify(&["train", "--config", path.to_str().expect("utf8"), "--quiet"]);
        assert!(
            !ok && err.contains(expect) && err.contains("v2.toml:"),
            "{to}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn predict_handles_empty_unknown_and_overlong_input() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = small_run(dir.path());
    let long = "happy ".repeat(10_000);
    let (ok, out, err) = emojify(&[
        "predict",
        "--json",
        "--run",
        run.to_str().expect("utf8"),
        "",
        "qwxzzk vbnmpq",
        &long,
    ]);
    assert!(ok, "{err}");
    let p: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(p[0]["known_tokens"], 0);
    assert_eq!(
        (p[1]["known_tokens"].as_u64(), p[1]["oov_tokens"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(p[2]["known_tokens"], 10);
    assert_eq!(p[2]["truncated_tokens"], 9_990);
    for item in p.as_array().expect("array") {
        let sum: f64 = item["probabilities"]
            .as_array()
            .expect("probs")
            .iter()
            .filter_map(|v| v.as_f64())
            .sum();
        assert!((sum - 1.0).abs() < 1e-4, "{item}");
    }
    let (ok, out, _) = emojify(&["predict", "--run", run.to_str().expect("utf8"), "qwxzzk"]);
    assert!(ok && out.contains("no known words"), "{out}");
}

#[test]
fn a_run_with_an_incompatible_config_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = small_run(dir.path());
    // Point the V1 run's config at the V2 model: its weights cannot fit.
    let v2 = std::fs::read_to_string(common::root().join("configs/emojify_v2.toml")).expect("v2");
    let model =
        &v2[v2.find("[model]").expect("model table")..v2.find("[train]").expect("train table")];
    let config = std::fs::read_to_string(run.join("config.toml")).expect("config");
    let start = config.find("[model]").expect("model table");
    let end = config.find("[train]").expect("train table");
    std::fs::write(
        run.join("config.toml"),
        format!("{}{model}{}", &config[..start], &config[end..]),
    )
    .expect("write");
    let (ok, _, err) = emojify(&["predict", "--run", run.to_str().expect("utf8"), "hello"]);
    assert!(!ok && err.contains("model.bpk"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_corrupted_run_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = small_run(dir.path());
    common::flip_last_bit(&run.join("model.bpk"));
    let (ok, _, err) = emojify(&["predict", "--run", run.to_str().expect("utf8"), "hello"]);
    assert!(!ok && err.contains("checksum mismatch"), "{err}");
}

#[test]
fn unreadable_data_files_are_named_not_skipped() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("emojiset");
    std::fs::create_dir_all(data.join("tesss.csv")).expect("a directory where a file should be");
    let looped = data.join("train_emoji.csv");
    std::os::unix::fs::symlink(&looped, &looped).expect("symlink loop");
    let path = config_reading_data_from(dir.path());
    let (ok, _, err) = emojify(&["train", "--config", path.to_str().expect("utf8"), "--quiet"]);
    assert!(!ok);
    assert!(err.contains("train_emoji.csv:"), "{err}");
    assert!(
        !err.contains("not found") && !err.contains("panicked"),
        "{err}"
    );

    std::fs::remove_file(&looped).expect("rm");
    std::fs::write(&looped, "i love you,0\n").expect("write");
    let (ok, _, err) = emojify(&["train", "--config", path.to_str().expect("utf8"), "--quiet"]);
    assert!(!ok);
    assert!(err.contains("tesss.csv: is a directory"), "{err}");
}

/// Every config the repository ships parses and validates, so none can rot unnoticed.
#[test]
fn every_shipped_config_loads() {
    let dir = common::root().join("configs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("configs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = emojify_train::config::RunConfig::load(&path) {
                panic!("{}: {e}", path.display());
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 8,
        "only {checked} configs found in {}",
        dir.display()
    );
}

/// `emojify cv` runs its whole grid on the training split and reports every point.
#[test]
fn cv_reports_every_grid_point() {
    let dir = tempfile::tempdir().expect("tmp");
    let json = dir.path().join("cv.json");
    let plot = dir.path().join("cv.png");
    let config = common::root().join("configs/emojify_v2.toml");
    let (ok, stdout, stderr) = emojify(&[
        "cv",
        "--config",
        config.to_str().expect("utf-8 path"),
        "--folds",
        "2",
        "--seeds",
        "1",
        "--epochs",
        "2",
        "--learning-rate",
        "0.001,0.003",
        "--batch-size",
        "16,32",
        "--average-from",
        "0,1",
        "--json",
        json.to_str().expect("utf-8 path"),
        "--plot",
        plot.to_str().expect("utf-8 path"),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("| dropout | lr | batch |"), "{stdout}");
    let png = std::fs::read(&plot).expect("cv plot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    for lr in ["0.001", "0.003"] {
        for batch in ["16", "32"] {
            for average in ["off", "1"] {
                let row = format!("| 0.5 | {lr} | {batch} | {average} |");
                assert!(stdout.contains(&row), "no row {row}:\n{stdout}");
            }
        }
    }
    // Without the flags, the grid is the config's own values (emojify_v2_cv: batch 8, lr 0.003).
    let tuned = common::root().join("configs/emojify_v2_cv.toml");
    let (ok, stdout, stderr) = emojify(&[
        "cv",
        "--config",
        tuned.to_str().expect("utf-8 path"),
        "--folds",
        "2",
        "--seeds",
        "1",
        "--epochs",
        "1",
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("| 0.5 | 0.003 | 8 | off |"), "{stdout}");
    let curves: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("cv.json")).expect("json");
    let points = curves.as_array().expect("an array of grid points");
    assert_eq!(points.len(), 8);
    for p in points {
        let accs = p["mean_val_acc"].as_array().expect("curve");
        assert_eq!(accs.len(), 2, "one value per epoch");
        // One seed per fold: its "ensemble" is that one model.
        assert_eq!(p["ensemble_val_acc"], p["mean_val_acc"]);
        assert!(
            accs.iter()
                .all(|a| (0.0..=1.0).contains(&a.as_f64().unwrap_or(-1.0)))
        );
    }
}

/// `--folds-over train-file` validates on data.train's sentences only, the extra_train file in
/// every fold's training, and `data.train_copies` is trained with.
#[test]
fn cv_over_the_train_file_keeps_extra_files_training() {
    let dir = tempfile::tempdir().expect("tmp");
    let messages = common::root().join("data/messages/train.csv");
    let messages = messages.to_str().expect("utf-8 path");
    let config = write_config(dir.path(), |t| {
        t.replace(
            "max_len = 10",
            &format!("max_len = 10\nextra_train = [{messages:?}]\ntrain_copies = 2"),
        )
    });
    let json = dir.path().join("cv.json");
    let cv = |over: &str| {
        let (ok, stdout, stderr) = emojify(&[
            "cv",
            "--config",
            config.to_str().expect("utf-8 path"),
            "--folds-over",
            over,
            "--folds",
            "2",
            "--seeds",
            "1",
            "--epochs",
            "3",
            "--json",
            json.to_str().expect("utf-8 path"),
        ]);
        assert!(ok, "{stdout}\n{stderr}");
        let curves: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("cv.json")).expect("json");
        (stdout, curves[0]["mean_val_acc"].clone())
    };
    let (stdout, own) = cv("train-file");
    assert!(
        stdout.contains("cross-validation on data.train (data.extra_train always training)"),
        "{stdout}"
    );
    let (stdout, all) = cv("all");
    assert!(
        stdout.contains("cross-validation on the training split"),
        "{stdout}"
    );
    assert_ne!(
        own, all,
        "the two fold sets validate on different sentences"
    );
    let (ok, _, stderr) = emojify(&["cv", "--config", "x.toml", "--folds-over", "extra"]);
    assert!(
        !ok && stderr.contains("expected all or train-file"),
        "{stderr}"
    );
}

#[test]
fn sweep_trains_every_seed_and_summarises_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let (json, plot, out) = (
        dir.path().join("sweep.json"),
        dir.path().join("sweep.png"),
        dir.path().join("runs"),
    );
    let config = common::root().join("configs/emojify_v1.toml");
    let (ok, stdout, stderr) = emojify(&[
        "sweep",
        "--config",
        config.to_str().expect("utf-8 path"),
        "--seeds",
        "3",
        "--epochs",
        "2",
        "--out",
        out.to_str().expect("utf-8 path"),
        "--json",
        json.to_str().expect("utf-8 path"),
        "--plot",
        plot.to_str().expect("utf-8 path"),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(
        std::fs::read_dir(&out).expect("runs").count(),
        3,
        "one run per seed"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("valid");
    let mut test: Vec<f64> = summary["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["test_accuracy"].as_f64().expect("accuracy"))
        .collect();
    assert_eq!(test.len(), 3);
    for (seed, acc) in summary["runs"].as_array().expect("runs").iter().zip(&test) {
        let row = format!("| {} |", seed["seed"]);
        assert!(stdout.contains(&row), "no row {row}:\n{stdout}");
        assert!(stdout.contains(&format!("{acc:.4}")), "{stdout}");
    }
    test.sort_by(f64::total_cmp);
    let line = format!(
        "min {:.4} · median {:.4} · max {:.4}",
        test[0], test[1], test[2]
    );
    assert!(stdout.contains(&line), "{line}:\n{stdout}");
    let png = std::fs::read(&plot).expect("sweep plot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
}

/// `emojify eval` on the messages dev half: every figure is consistent with the others, the
/// plots are written, and a missing file names every place searched.
#[test]
fn eval_reports_scores_confusion_calibration_and_mislabelled_messages() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = small_run(dir.path());
    let data = common::root().join("data/messages/dev.csv");
    let plots = dir.path().join("plots");
    let (ok, out, err) = emojify(&[
        "eval",
        "--run",
        run.to_str().expect("utf8"),
        "--data",
        data.to_str().expect("utf8"),
        "--json",
        "--plot",
        plots.to_str().expect("utf8"),
    ]);
    assert!(ok, "{err}");
    let e: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(e["examples"], 165);
    let confusion: Vec<Vec<u64>> = serde_json::from_value(e["confusion"].clone()).expect("matrix");
    assert_eq!(confusion.iter().flatten().sum::<u64>(), 165);
    let right: u64 = (0..5).map(|i| confusion[i][i]).sum();
    let accuracy = e["accuracy"].as_f64().expect("accuracy");
    assert!((accuracy - right as f64 / 165.0).abs() < 1e-12);
    assert_eq!(
        e["mislabelled"].as_array().map(Vec::len),
        Some(165 - right as usize)
    );
    let classes = e["classes"].as_array().expect("classes");
    assert_eq!(classes.len(), 5);
    for (i, c) in classes.iter().enumerate() {
        assert_eq!(c["support"], 33, "{c}");
        let recall = confusion[i][i] as f64 / 33.0;
        assert!(
            (c["recall"].as_f64().unwrap_or(-1.0) - recall).abs() < 1e-12,
            "{c}"
        );
    }
    let bins = e["calibration"].as_array().expect("bins");
    assert_eq!(
        bins.iter()
            .map(|b| b["count"].as_u64().unwrap_or(0))
            .sum::<u64>(),
        165
    );
    let ece = e["ece"].as_f64().expect("ece");
    assert!((0.0..=1.0).contains(&ece), "{ece}");
    for png in ["confusion.png", "reliability.png"] {
        let bytes = std::fs::read(plots.join(png)).expect(png);
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 5_000,
            "{png}"
        );
    }
    let (ok, text, _) = emojify(&[
        "eval",
        "--run",
        run.to_str().expect("utf8"),
        "--data",
        data.to_str().expect("utf8"),
    ]);
    assert!(ok);
    assert!(
        text.contains("expected calibration error") && text.contains("mislabelled ("),
        "{text}"
    );
    let (ok, _, err) = emojify(&[
        "eval",
        "--run",
        run.to_str().expect("utf8"),
        "--data",
        "no/such.csv",
    ]);
    assert!(
        !ok && err.contains("no/such.csv") && err.contains("shared/data"),
        "{err}"
    );
}

/// `train.calibrate_folds`: the run stores a temperature fitted on folds, and `predict` gives
/// the raw probabilities scaled by it (`p^(1/T)`, normalised), the ranking unchanged.
#[test]
fn calibration_folds_store_a_temperature_that_predictions_apply() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = small_run_with(dir.path(), |t| {
        t.replace("epochs = 400", "epochs = 3\ncalibrate_folds = 2")
    });
    let summary_path = run.join("summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).expect("summary"))
            .expect("json");
    let t = summary["temperature"]
        .as_f64()
        .expect("a temperature is stored");
    assert!(t > 0.0 && t.is_finite(), "{t}");
    let probs = |run: &std::path::Path| -> Vec<f64> {
        let (ok, out, err) = emojify(&[
            "predict",
            "--run",
            run.to_str().expect("utf8"),
            "--json",
            "i love you",
        ]);
        assert!(ok, "{err}");
        let p: serde_json::Value = serde_json::from_str(&out).expect("json");
        p[0]["probabilities"]
            .as_array()
            .expect("p")
            .iter()
            .map(|v| v.as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let calibrated = probs(&run);
    summary["temperature"] = serde_json::json!(1.0);
    std::fs::write(&summary_path, summary.to_string()).expect("write");
    let raw = probs(&run);
    let scaled: Vec<f64> = raw.iter().map(|p| p.powf(1.0 / t)).collect();
    let sum: f64 = scaled.iter().sum();
    for (c, s) in calibrated.iter().zip(&scaled) {
        assert!(
            (c - s / sum).abs() < 1e-5,
            "{calibrated:?} vs raw {raw:?} at T = {t}"
        );
    }
}

/// The messages config, small (hidden 16, 2 epochs, no calibration), pretrained on `corpus`
/// (written into `dir`) for one epoch instead of SST-2.
fn pretraining_config(dir: &std::path::Path, corpus: &str) -> std::path::PathBuf {
    let file = dir.join("corpus.csv");
    std::fs::write(&file, corpus).expect("write corpus");
    let shipped = std::fs::read_to_string(common::root().join("configs/emojify_messages.toml"))
        .expect("config");
    // The shipped config's own `[pretrain]` (SST-2) gives way to the corpus here.
    let text = shipped
        .split("\n[pretrain]")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("extra_train") && !l.starts_with("ensemble ="))
        // Whatever the shipped epoch count, two are enough to exercise the cache.
        .map(|l| {
            if l.starts_with("epochs = ") {
                "epochs = 2"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replace("hidden = 128", "hidden = 16");
    let text = format!(
        "{text}\n[pretrain]\ntrain = {file:?}\nlabels = [\"negative\", \"positive\"]\nepochs = 1\nbatch_size = 4\n"
    );
    let path = dir.join("pretrain.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

const CORPUS: &str = "class,0,1,2,3,4\n\
    positive,a,great,movie,PAD,PAD\n\
    negative,not,good,at,all,.\n\
    positive,i,loved,it,OOV,PAD\n\
    negative,boring,and,dull,PAD,PAD\n\
    positive,wonderful,cast,PAD,PAD,PAD\n\
    negative,awful,PAD,PAD,PAD,PAD\n";

/// `[pretrain]`: the first run trains on the corpus and caches the layers under
/// `$EMOJIFY_CACHE/pretrained/<key>.bpk`; the second loads them (same key, same predictions);
/// another corpus is another key; a bad corpus row is an error naming file and line.
#[test]
fn pretraining_is_cached_by_what_produced_it() {
    let dir = tempfile::tempdir().expect("tmp");
    // A cache of its own, so the first run surely pretrains; GloVe linked in from the real one
    // (loaded, and fetched if absent, by `load_glove`) rather than converted again.
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).expect("cache dir");
    let real = emojify_data::fetch::cache_dir().expect("a cache dir");
    emojify_data::fetch::load_glove(&real, &emojify_data::Silent).expect("GloVe");
    let glove = emojify_data::fetch::GLOVE_CACHE_FILE;
    std::os::unix::fs::symlink(real.join(glove), cache.join(glove)).expect("link GloVe");
    let train = |config: &std::path::Path, out: &str| {
        let out = dir.path().join(out);
        let (ok, stdout, stderr) = common::emojify_with(
            &[
                "train",
                "--config",
                config.to_str().expect("utf8"),
                "--out",
                out.to_str().expect("utf8"),
            ],
            &[("EMOJIFY_CACHE", cache.as_os_str())],
        );
        let run = std::fs::read_dir(&out)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|e| e.path());
        (ok, format!("{stdout}{stderr}"), run)
    };
    let summary = |run: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).expect("summary"))
            .expect("json")
    };
    let config = pretraining_config(dir.path(), CORPUS);
    let (ok, first_log, first) = train(&config, "first");
    assert!(
        ok && first_log.contains("pretrained on 6 reviews"),
        "{first_log}"
    );
    let first_run = first.expect("a run");
    let first = summary(&first_run);
    let key = first["pretrained"].as_str().expect("a key").to_string();
    assert!(
        cache
            .join("pretrained")
            .join(format!("{key}.bpk"))
            .is_file()
    );

    let (ok, second_log, second) = train(&config, "second");
    assert!(ok && second_log.contains("from the cache"), "{second_log}");
    let second_run = second.expect("a run");
    assert_eq!(summary(&second_run)["pretrained"], first["pretrained"]);
    // The same trained model: every probability the same (the weights file's own hash also
    // covers parameter ids, which are new in every process).
    let predictions = |run: &std::path::Path| std::fs::read(run.join("predictions.csv"));
    assert_eq!(
        predictions(&second_run).expect("second"),
        predictions(&first_run).expect("first")
    );

    let other = tempfile::tempdir().expect("tmp");
    let changed = pretraining_config(other.path(), &CORPUS.replace("awful", "terrible"));
    let (ok, log, run) = train(&changed, "third");
    assert!(ok && log.contains("pretrained on 6 reviews"), "{log}");
    assert_ne!(
        summary(&run.expect("a run"))["pretrained"],
        first["pretrained"]
    );

    let bad = pretraining_config(
        other.path(),
        &CORPUS.replace("negative,awful", "neutral,awful"),
    );
    let (ok, log, _) = train(&bad, "fourth");
    assert!(
        !ok && log.contains("corpus.csv") && log.contains("neutral"),
        "{log}"
    );
}

/// `data.extra_train`: the extra file's sentences join the training split (they show up in
/// `predictions.csv` as training rows); a bad row in it is an error naming that file and line.
#[test]
fn extra_training_files_join_the_training_split() {
    let dir = tempfile::tempdir().expect("tmp");
    let extra = dir.path().join("extra.csv");
    std::fs::write(&extra, "Pizza night with friends!,4\nLove you loads <3,0\n").expect("write");
    fn with_extra(extra: &std::path::Path) -> impl Fn(String) -> String + '_ {
        move |t: String| {
            t.replace("epochs = 400", "epochs = 2").replace(
                "train = \"emojiset/train_emoji.csv\"",
                &format!("train = \"emojiset/train_emoji.csv\"\nextra_train = [{extra:?}]"),
            )
        }
    }
    let run = small_run_with(dir.path(), with_extra(&extra));
    let predictions = std::fs::read_to_string(run.join("predictions.csv")).expect("predictions");
    let train_rows = predictions
        .lines()
        .filter(|l| l.starts_with("train,"))
        .count();
    assert_eq!(train_rows, 132 + 2);
    assert!(
        predictions.contains("train,1,Pizza night with friends!,"),
        "{predictions}"
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "fine sentence,1\nbroken row,9\n").expect("write");
    let config = write_config(dir.path(), with_extra(&bad));
    let (ok, _, err) = emojify(&["train", "--config", config.to_str().expect("utf8")]);
    assert!(!ok && err.contains("bad.csv:2: label 9"), "{err}");
}
