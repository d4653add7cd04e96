//! Emojifier-V1 trained on the real EMOJISET and GloVe 6B 50d, end to end.

mod common;

use emojify_data::Silent;
use emojify_train::run::dir as run_dir;
use emojify_train::run::train::train;
use emojify_train::usage::predict::Predictor;

#[test]
fn v1_learns_emojiset_and_predicts_from_its_run_directory() {
    let out = tempfile::tempdir().expect("tmp");
    let config = common::config("emojify_v1.toml", out.path());
    let outcome = train(&config, &Silent).expect("training runs");
    let s = &outcome.summary;
    assert!(s.test_accuracy >= 0.80, "test accuracy {}", s.test_accuracy);
    assert!(
        s.train_accuracy >= 0.90,
        "train accuracy {}",
        s.train_accuracy
    );
    assert_eq!(s.trainable_params, 50 * 5 + 5);
    assert_eq!(outcome.metrics.len(), config.train.epochs);
    let first = outcome.metrics.first().expect("metrics").loss;
    let last = outcome.metrics.last().expect("metrics").loss;
    assert!(last < first / 2.0, "loss {first} → {last}");

    let dir = outcome.run_dir.path();
    for f in [
        run_dir::CONFIG_FILE,
        run_dir::METRICS_FILE,
        run_dir::WEIGHTS_FILE,
        run_dir::PREDICTIONS_FILE,
        run_dir::SUMMARY_FILE,
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let metrics = std::fs::read_to_string(dir.join(run_dir::METRICS_FILE)).expect("metrics");
    assert_eq!(
        metrics.lines().next(),
        Some("epoch,loss,train_acc,test_acc,test_macro_f1,seconds")
    );
    assert_eq!(metrics.lines().count(), config.train.epochs + 1);
    let predictions = std::fs::read_to_string(dir.join(run_dir::PREDICTIONS_FILE)).expect("preds");
    assert_eq!(predictions.lines().count(), 1 + 132 + 56);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(run_dir::SUMMARY_FILE)).expect("summary"),
    )
    .expect("json");
    for key in [
        "train_accuracy",
        "test_accuracy",
        "epochs",
        "seconds",
        "backend",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    // The weights hold the trainable layer only, not an 80 MB copy of GloVe.
    let weights = std::fs::metadata(dir.join(run_dir::WEIGHTS_FILE))
        .expect("weights")
        .len();
    assert!(weights < 100_000, "weights file is {weights} bytes");

    // Reloaded from disk, the model gives the probabilities it gave at the end of training.
    let predictor = Predictor::from_run(dir, None, &Silent).expect("run loads");
    let texts: Vec<String> = [
        "i adore you",
        "lets play with a ball",
        "",
        "zzqx qqzx",
        &"food ".repeat(10_000),
    ]
    .map(String::from)
    .to_vec();
    let p = predictor.predict(&texts).expect("predicts");
    assert_eq!(p[0].display, "❤️");
    assert_eq!(p[1].display, "⚾");
    assert_eq!(
        (p[2].known_tokens, p[3].known_tokens, p[3].oov_tokens),
        (0, 0, 2)
    );
    assert_eq!((p[4].known_tokens, p[4].truncated_tokens), (10, 9_990));
    for q in &p {
        let total: f32 = q.probabilities.iter().sum();
        assert!((total - 1.0).abs() < 1e-4, "probabilities sum to {total}");
    }
    let test_line = predictions
        .lines()
        .find(|l| l.starts_with("test,"))
        .expect("a test row");
    let sentence = test_line.split(',').nth(2).expect("sentence");
    let confidence: f32 = test_line
        .rsplit(',')
        .next()
        .expect("conf")
        .parse()
        .expect("number");
    let again = predictor
        .predict(&[sentence.to_string()])
        .expect("predicts");
    assert!(
        (again[0].probability - confidence).abs() < 1e-3,
        "{} vs {confidence}",
        again[0].probability
    );
}
