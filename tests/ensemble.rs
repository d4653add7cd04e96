//! `train.ensemble`: a run of several networks answers with the mean of their probabilities,
//! its first network is the run a single network would have been, every network's weights are
//! checked when the run is opened, and exports (one network each) refuse it clearly.

mod common;

use std::path::Path;

use common::{emojify, small_run_with};

const SENTENCES: [&str; 3] = ["i love you", "lets play ball", "food is ready"];

/// Each sentence's probabilities as `emojify predict --json` gives them.
fn predict(run: &Path) -> Vec<Vec<f64>> {
    let mut args = vec!["predict", "--json", "--run", run.to_str().expect("utf8")];
    args.extend(SENTENCES);
    let (ok, out, err) = emojify(&args);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v.as_array()
        .expect("array")
        .iter()
        .map(|p| {
            p["probabilities"]
                .as_array()
                .expect("probabilities")
                .iter()
                .map(|x| x.as_f64().unwrap_or(f64::NAN))
                .collect()
        })
        .collect()
}

fn summary(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).expect("summary"))
        .expect("json")
}

/// A copy of the ensemble run in `run` holding only its network `j` (from 0), as a run of one.
fn member_alone(run: &Path, j: usize, dir: &Path) -> std::path::PathBuf {
    let copy = dir.join(format!("member-{j}"));
    std::fs::create_dir_all(&copy).expect("dir");
    for name in ["config.toml", "vocab.json"] {
        if run.join(name).is_file() {
            std::fs::copy(run.join(name), copy.join(name)).expect("copy");
        }
    }
    let config = std::fs::read_to_string(run.join("config.toml")).expect("config");
    std::fs::write(
        copy.join("config.toml"),
        config.replace("ensemble = 3\n", ""),
    )
    .expect("config");
    let mut s = summary(run);
    let file = if j == 0 {
        "model.bpk".to_string()
    } else {
        let m = s["members"][j - 1].clone();
        s["weights_sha256"] = m["weights_sha256"].clone();
        m["weights"].as_str().expect("file").to_string()
    };
    s.as_object_mut().expect("object").remove("members");
    std::fs::write(copy.join("summary.json"), s.to_string()).expect("summary");
    std::fs::copy(run.join(file), copy.join("model.bpk")).expect("weights");
    copy
}

#[test]
fn an_ensemble_answers_with_its_networks_mean() {
    let dir = tempfile::tempdir().expect("tmp");
    for sub in ["ensemble", "single"] {
        std::fs::create_dir(dir.path().join(sub)).expect("dir");
    }
    let ensemble = small_run_with(&dir.path().join("ensemble"), |t| {
        t.replace("epochs = 400", "epochs = 3\nensemble = 3")
    });
    let s = summary(&ensemble);
    let members = s["members"].as_array().expect("members listed");
    assert_eq!(members.len(), 2, "{s}");
    let seeds: Vec<u64> = members.iter().filter_map(|m| m["seed"].as_u64()).collect();
    assert!(
        seeds.len() == 2 && !seeds.contains(&1) && seeds[0] != seeds[1],
        "{seeds:?}"
    );
    for m in members {
        let file = m["weights"].as_str().expect("file");
        assert!(ensemble.join(file).is_file(), "{file}");
    }

    let alone: Vec<Vec<Vec<f64>>> = (0..3)
        .map(|j| predict(&member_alone(&ensemble, j, dir.path())))
        .collect();
    let together = predict(&ensemble);
    for (i, probs) in together.iter().enumerate() {
        for (c, p) in probs.iter().enumerate() {
            let mean = alone.iter().map(|a| a[i][c]).sum::<f64>() / 3.0;
            assert!((p - mean).abs() < 1e-5, "{together:?} vs {alone:?}");
        }
    }
    // The networks differ (else the mean would be one of them)...
    assert!(alone[0] != alone[1] && alone[1] != alone[2], "{alone:?}");
    // ... and the first is the run one network with the same seed would have been.
    let single = small_run_with(&dir.path().join("single"), |t| {
        t.replace("epochs = 400", "epochs = 3")
    });
    assert_eq!(predict(&single), alone[0]);

    let (ok, out, err) = emojify(&[
        "eval",
        "--run",
        ensemble.to_str().expect("utf8"),
        "--data",
        common::root()
            .join("data/messages/dev.csv")
            .to_str()
            .expect("utf8"),
    ]);
    assert!(ok && out.contains("accuracy"), "{out}{err}");
}

#[test]
fn an_ensemble_checks_every_network_and_refuses_export() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = small_run_with(dir.path(), |t| {
        t.replace("epochs = 400", "epochs = 2\nensemble = 3")
    });
    let out = dir.path().join("export");
    let (ok, _, err) = emojify(&[
        "export",
        "--run",
        run.to_str().expect("utf8"),
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(!ok && err.contains("ensemble of 3 networks"), "{err}");
    assert!(!out.exists(), "nothing is written");

    common::flip_last_bit(&run.join("model-3.bpk"));
    let (ok, _, err) = emojify(&["predict", "--run", run.to_str().expect("utf8"), "hello"]);
    assert!(
        !ok && err.contains("checksum mismatch") && err.contains("model-3.bpk"),
        "{err}"
    );

    std::fs::remove_file(run.join("model-2.bpk")).expect("remove");
    let (ok, _, err) = emojify(&["predict", "--run", run.to_str().expect("utf8"), "hello"]);
    assert!(
        !ok && err.contains("model-2.bpk") && err.contains("network 2 of the run's 3"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_ensemble_is_calibrated_as_an_ensemble() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = small_run_with(dir.path(), |t| {
        t.replace(
            "epochs = 400",
            "epochs = 2\nensemble = 2\ncalibrate_folds = 2",
        )
    });
    let t = summary(&run)["temperature"].as_f64().expect("temperature");
    assert!(t.is_finite() && t > 0.0, "{t}");
    let bad = common::write_config(dir.path(), |t| {
        t.replace("epochs = 400", "epochs = 2\nensemble = 0")
    });
    let (ok, _, err) = emojify(&["train", "--config", bad.to_str().expect("utf8"), "--quiet"]);
    assert!(
        !ok && err.contains("train.ensemble") && err.contains("run.toml"),
        "{err}"
    );
}

#[test]
fn summary_counts_every_network_of_an_ensemble() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = common::write_config(dir.path(), |t| {
        t.replace("epochs = 400", "epochs = 400\nensemble = 3")
    });
    let (ok, out, err) = emojify(&["summary", "--config", config.to_str().expect("utf8")]);
    assert!(ok, "{err}");
    assert!(out.contains("Trainable params: 255"), "{out}");
    assert!(
        out.contains("An ensemble of 3 such networks") && out.contains("765 trainable"),
        "{out}"
    );
}
