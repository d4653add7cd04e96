//! The `emojify` binary: errors are clear and name what is wrong, never a panic.

mod common;

use common::emojify;

fn write_config(dir: &std::path::Path, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let text =
        std::fs::read_to_string(common::root().join("configs/emojify_v1.toml")).expect("config");
    let path = dir.join("run.toml");
    std::fs::write(&path, edit(text)).expect("write");
    path
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
        (("max_len = 10", "max_len = 0"), "data.max_len"),
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
    let path = write_config(dir.path(), |t| {
        t.replace(
            "seed = 1",
            &format!("seed = 1\ndata_dir = {:?}", dir.path()),
        )
    });
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
