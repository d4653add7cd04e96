//! benches/gpu/run.sh, the one-shot GPU benchmark, end to end at its CI size on whatever Vulkan
//! adapter this machine has (lavapipe in CI): a pack as benches/gpu/pack.sh lays it out (this
//! build's binary gzipped, EMOJISET, the GloVe vectors of its words by `emojify vectors subset`, the V2
//! config pointed at them, a font), then the script, whose every step must give its table.

mod common;

use std::path::Path;

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("{} → {}: {e}", from.display(), to.display()));
}

/// `emojify vectors subset` of the EMOJISET files in `dir`, written to `out`.
fn emojiset_subset(dir: &Path, out: &Path) {
    let (ok, stdout, stderr) = common::emojify(&[
        "vectors",
        "subset",
        "--words-from",
        dir.join("train_emoji.csv").to_str().expect("utf-8"),
        dir.join("tesss.csv").to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(ok, "vectors subset: {stderr}");
    let words: usize = stdout
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!((300..2000).contains(&words), "EMOJISET's words: {stdout}");
}

#[test]
fn the_gpu_script_runs_every_step_and_writes_its_tables() {
    let root = common::root();
    let tmp = tempfile::tempdir().expect("tmp");
    let pack = tmp.path().join("pack");
    let data = pack.join("data/emojiset");
    std::fs::create_dir_all(&data).expect("pack dirs");
    copy(
        Path::new(env!("CARGO_BIN_EXE_emojify")),
        &pack.join("emojify"),
    );
    for f in ["train_emoji.csv", "tesss.csv"] {
        copy(&root.join("../shared/data/emojiset").join(f), &data.join(f));
    }
    copy(
        Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        &pack.join("DejaVuSans.ttf"),
    );
    let subset = pack.join("data/glove-emojiset.emjv");
    emojiset_subset(&data, &subset);
    let config = std::fs::read_to_string(root.join("configs/emojify_v2.toml")).expect("config");
    let config = config.replace(
        "source = \"glove-6b-50d\"",
        "source = \"glove-emojiset.emjv\"",
    );
    std::fs::write(pack.join("emojify_v2.toml"), config).expect("config written");

    let out = tmp.path().join("out");
    let run = std::process::Command::new("bash")
        .arg(root.join("benches/gpu/run.sh"))
        .env("EMOJIFY_GPU_PACK", &pack)
        .env("EMOJIFY_GPU_SIZE", "ci")
        .env("OUT", &out)
        .output()
        .expect("bash runs");
    let md = std::fs::read_to_string(out.join("gpu-bench.md")).unwrap_or_default();
    assert!(
        run.status.success(),
        "run.sh failed ({}):\n{}\n{md}",
        run.status,
        String::from_utf8_lossy(&run.stdout)
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("gpu-bench.json")).expect("gpu-bench.json"),
    )
    .expect("valid JSON");
    let steps = [
        ("v2-emojiset-b32", vec!["wgpu", "flex"]),
        ("synthetic-b1024", vec!["wgpu", "flex"]),
        ("synthetic-b4096", vec!["wgpu", "flex"]),
        (
            "lstm-designs-b1024",
            vec![
                "wgpu",
                "wgpu (persistent LSTM)",
                "wgpu (per-step LSTM)",
                "wgpu (composed LSTM)",
            ],
        ),
    ];
    for (name, backends) in steps {
        assert!(
            md.contains(&format!("## {name}")),
            "{name} in the tables:\n{md}"
        );
        let rows = json[name]["rows"].as_array().expect("rows");
        let got: Vec<&str> = rows.iter().filter_map(|r| r["backend"].as_str()).collect();
        assert_eq!(got, backends, "{name}");
        for r in rows {
            assert!(
                r["train_sentences_per_s"].as_f64().unwrap_or(0.0) > 0.0,
                "{r}"
            );
            assert!(
                r["infer_b1024_sentences_per_s"].as_f64().unwrap_or(0.0) > 0.0,
                "{r}"
            );
        }
        assert!(
            json[name]["cpu"]["vector"].is_string(),
            "{name}: the CPU is named"
        );
    }
    let emojiset = &json["v2-emojiset-b32"]["rows"][1];
    assert_eq!(emojiset["train_sentences"], 132, "{emojiset}");
}

/// The GloVe subset gives V2 the same words and vectors as all of GloVe, so a run on it is the
/// shipped config's run: the same prediction and confidence for every sentence.
#[test]
fn a_run_on_the_glove_subset_is_the_run_on_all_of_glove() {
    let root = common::root();
    let tmp = tempfile::tempdir().expect("tmp");
    let emojiset = root.join("../shared/data/emojiset");
    let subset = tmp.path().join("glove-emojiset.emjv");
    emojiset_subset(&emojiset, &subset);
    let v2 = std::fs::read_to_string(root.join("configs/emojify_v2.toml")).expect("config");
    let full = root.join("configs/emojify_v2.toml");
    let small = tmp.path().join("v2-subset.toml");
    let pointed = v2.replace(
        "source = \"glove-6b-50d\"",
        &format!("source = {:?}", subset.display().to_string()),
    );
    assert_ne!(pointed, v2, "the config names its source");
    std::fs::write(&small, pointed).expect("config written");
    let predictions = |config: &Path, out: &str| {
        let out = tmp.path().join(out);
        let (ok, _, stderr) = common::emojify(&[
            "train",
            "--config",
            config.to_str().expect("utf-8"),
            "--epochs",
            "4",
            "--out",
            out.to_str().expect("utf-8"),
            "--quiet",
        ]);
        assert!(ok, "train: {stderr}");
        let run = std::fs::read_dir(&out)
            .expect("runs")
            .flatten()
            .next()
            .expect("a run");
        std::fs::read_to_string(run.path().join("predictions.csv")).expect("predictions")
    };
    assert_eq!(predictions(&small, "small"), predictions(&full, "full"));
}
