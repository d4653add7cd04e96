//! Emojifier-V2 on the real data: learning, a frozen embedding, the wgpu path on whatever adapter
//! the machine has (Mesa's lavapipe in CI), and identical logits across backends.

mod common;

use burn::prelude::*;
use emojify_data::Silent;
use emojify_data::fetch::{cache_dir, load_glove};
use emojify_model::Classifier;
use emojify_train::backend::{BackendKind, WgpuChoice};
use emojify_train::config::RunConfig;
use emojify_train::fit::model::build_model;
use emojify_train::fit::weights::{load_weights, weights_bytes};
use emojify_train::inputs::batcher::model_batch;
use emojify_train::inputs::splits::encode;
use emojify_train::run::train::train;
use emojify_train::usage::predict::Predictor;

fn v2(out: &std::path::Path) -> RunConfig {
    common::config("emojify_v2.toml", out)
}

fn embedding_values(model: &Classifier) -> Vec<f32> {
    let Classifier::Lstm(m) = model else {
        panic!("expected the LSTM model")
    };
    m.embedding
        .as_ref()
        .expect("V2 has an embedding")
        .weight
        .val()
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("f32 data")
}

#[test]
fn v2_learns_keeps_the_embedding_frozen_and_predicts() {
    let out = tempfile::tempdir().expect("tmp");
    let config = v2(out.path());
    let outcome = train(&config, &Silent).expect("training runs");
    let s = &outcome.summary;
    assert_eq!(s.trainable_params, 223_877);
    assert_eq!(s.total_params, 20_223_927);
    assert!(
        s.train_accuracy >= 0.90,
        "train accuracy {}",
        s.train_accuracy
    );
    assert!(s.test_accuracy >= 0.75, "test accuracy {}", s.test_accuracy);

    // The frozen embedding is bit-for-bit the GloVe matrix after training.
    let glove = load_glove(&cache_dir().expect("cache"), &Silent).expect("glove");
    let after = embedding_values(outcome.model.first());
    assert!(
        after == glove.matrix(),
        "the frozen embedding changed during training"
    );

    for plot in ["curves.png", "confusion.png"] {
        let bytes = std::fs::read(outcome.run_dir.file(plot)).expect(plot);
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 5_000,
            "{plot} is not a real PNG"
        );
    }

    // Weights on disk exclude the 80 MB embedding; predictions come back from the run dir.
    let weights = std::fs::metadata(outcome.run_dir.file("model.bpk"))
        .expect("weights")
        .len();
    assert!(weights < 2_000_000, "weights file is {weights} bytes");
    let predictor = Predictor::from_run(outcome.run_dir.path(), None, &Silent).expect("loads");
    let p = predictor
        .predict(&["not feeling happy".into(), "i adore you".into()])
        .expect("predicts");
    assert_eq!(
        p[0].display, "😞",
        "not feeling happy → {:?}",
        p[0].probabilities
    );
    assert_eq!(p[1].display, "❤️", "i adore you → {:?}", p[1].probabilities);

    // `emojify text` splits a message into sentences and appends each one's emoji.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emojify"))
        .arg("text")
        .arg("--run")
        .arg(outcome.run_dir.path())
        .arg("Congratulations on the promotion! Lets get coffee and talk. Love you!")
        .output()
        .expect("emojify runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let emojis = ["❤️", "⚾", "😊", "😞", "🍴"];
    let line = stdout.strip_suffix('\n').unwrap_or(&stdout);
    let mut rest = line;
    let mut got = Vec::new();
    for sentence in [
        "Congratulations on the promotion! ",
        "Lets get coffee and talk. ",
        "Love you! ",
    ] {
        rest = rest
            .strip_prefix(sentence)
            .unwrap_or_else(|| panic!("{sentence:?} missing in {stdout:?}"));
        let e = emojis
            .iter()
            .find(|e| rest.starts_with(**e))
            .unwrap_or_else(|| panic!("no emoji after {sentence:?} in {stdout:?}"));
        got.push(*e);
        rest = rest[e.len()..].trim_start();
    }
    assert!(rest.is_empty(), "annotated message: {stdout:?}");
    // Each sentence gets what `predict` gives it on its own.
    let alone = predictor
        .predict(&[
            "Congratulations on the promotion!".into(),
            "Lets get coffee and talk.".into(),
            "Love you!".into(),
        ])
        .expect("predicts");
    let expected: Vec<&str> = alone.iter().map(|p| p.display.as_str()).collect();
    assert_eq!(got, expected, "annotated message: {stdout:?}");
    assert!(stdout.lines().count() == 1, "annotated message: {stdout:?}");
}

#[test]
fn v2_trains_on_wgpu() {
    let out = tempfile::tempdir().expect("tmp");
    let mut config = v2(out.path());
    config.backend = BackendKind::Wgpu;
    config.train.epochs = 3;
    // Weight averaging over epochs 2–3 too, so its tensor path runs on the GPU backend.
    config.train.average_from = Some(2);
    let outcome = train(&config, &Silent).expect("wgpu training runs");
    let losses: Vec<f64> = outcome.metrics.iter().map(|m| m.loss).collect();
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(
        losses[2] < losses[0],
        "loss did not fall on wgpu: {losses:?}"
    );
    assert!(outcome.run_dir.file("model.bpk").is_file());
}

#[test]
fn same_weights_give_the_same_logits_on_every_backend() {
    let out = tempfile::tempdir().expect("tmp");
    let config = v2(out.path());
    let glove = load_glove(&cache_dir().expect("cache"), &Silent).expect("glove");
    let reference = build_model(&config, &glove, &Device::flex());
    let weights = out.path().join("w.bpk");
    std::fs::write(&weights, weights_bytes(&reference, false).expect("bytes")).expect("write");

    let sentences =
        std::fs::read_to_string(common::root().join("../shared/data/emojiset/tesss.csv"))
            .expect("test set");
    let encoded: Vec<_> = sentences
        .lines()
        .filter_map(|l| l.split(',').next())
        .map(|t| encode(&config, &glove, t).expect("sentences always encode"))
        .collect();
    let refs: Vec<_> = encoded.iter().collect();
    let logits = |backend: BackendKind| -> Vec<f32> {
        let device = backend.device(WgpuChoice::Default).expect("device");
        let mut model = build_model(&config, &glove, &device);
        load_weights(&mut model, &weights, false).expect("weights load");
        model
            .forward(&model_batch(&refs, &device))
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("f32")
    };
    let flex = logits(BackendKind::Flex);
    assert_eq!(flex.len(), 56 * 5);
    for backend in [BackendKind::Ndarray, BackendKind::Wgpu] {
        let other = logits(backend);
        let worst = flex
            .iter()
            .zip(&other)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst <= 1e-4, "{backend} differs from flex by {worst}");
    }
}

/// The same config and seed on a CPU backend give byte-identical metrics (timing aside).
#[test]
fn same_seed_gives_identical_metrics_on_cpu_backends() {
    for backend in [BackendKind::Flex, BackendKind::Ndarray] {
        let metrics = || {
            let out = tempfile::tempdir().expect("tmp");
            let mut config = v2(out.path());
            config.backend = backend;
            config.train.epochs = 4;
            let outcome = train(&config, &Silent).expect("training runs");
            let csv = std::fs::read_to_string(outcome.run_dir.file("metrics.csv")).expect("csv");
            csv.lines()
                .map(|l| {
                    l.rsplit_once(',')
                        .map_or(l, |(head, _seconds)| head)
                        .to_string()
                })
                .collect::<Vec<_>>()
        };
        let (a, b) = (metrics(), metrics());
        assert_eq!(a.len(), 5, "header and 4 epochs");
        assert_eq!(a, b, "{backend} is not deterministic");
    }
}

/// The shipped messages model (seed 1): an ensemble whose every network starts from its own
/// SST-2 pretraining (each key in the summary, each found in the cache by a second start), it
/// reads our messages dev half far better than V2 does (median 0.697, docs/results.md), and it
/// answers the four sentences #19 asks about as it does on all 10 measured seeds.
#[test]
fn messages_model_pretrains_on_sst2_and_reads_messages() {
    let out = tempfile::tempdir().expect("tmp");
    let mut config = common::config("emojify_messages.toml", out.path());
    // Our own training messages live in the repository's `data/`, which the lookup finds from
    // the repository root; tests run from the crate's directory.
    for extra in &mut config.data.extra_train {
        *extra = common::root().join("data").join(&*extra);
    }
    let outcome = train(&config, &Silent).expect("training runs");
    let key = outcome
        .summary
        .pretrained
        .clone()
        .expect("a pretrained start");

    // Every network of the ensemble has its own pretrained start, now in the cache.
    let members = &outcome.summary.members;
    assert_eq!(members.len(), config.train.ensemble - 1, "{members:?}");
    let glove = load_glove(&cache_dir().expect("cache"), &Silent).expect("glove");
    let device = config.backend.device(config.wgpu_device).expect("device");
    for (j, recorded) in std::iter::once(Some(key))
        .chain(members.iter().map(|m| m.pretrained.clone()))
        .enumerate()
    {
        let again = emojify_train::strategies::pretrain::start(
            &emojify_train::strategies::ensemble::member_config(&config, j),
            &glove,
            &device,
            &Silent,
        )
        .expect("pretraining")
        .expect("the config pretrains");
        assert!(
            again.cached,
            "network {}'s second start trained again",
            j + 1
        );
        assert_eq!(Some(again.key), recorded);
    }

    let run = emojify_train::run::open::TrainedRun::open(outcome.run_dir.path(), None, &Silent)
        .expect("run opens");
    assert_eq!(run.model.members().len(), config.train.ensemble);
    let dev = common::root().join("data/messages/dev.csv");
    let e = emojify_train::usage::evaluate::evaluate(&run, &dev, &Silent).expect("eval");
    assert!(e.accuracy >= 0.85, "messages dev accuracy {}", e.accuracy);

    let predictor = Predictor::from_run(outcome.run_dir.path(), None, &Silent).expect("loads");
    let p = predictor
        .predict(&[
            "i adore you".into(),
            "Can we order some noodles?".into(),
            "not feeling happy".into(),
            "this movie is not good and not enjoyable".into(),
        ])
        .expect("predict");
    assert_eq!(p[0].display, "❤️", "i adore you → {:?}", p[0].probabilities);
    assert_eq!(p[1].display, "🍴", "noodles → {:?}", p[1].probabilities);
    assert_eq!(
        p[2].display, "😞",
        "not feeling happy → {:?}",
        p[2].probabilities
    );
    assert_eq!(
        p[3].display, "😞",
        "this movie is not good and not enjoyable → {:?}",
        p[3].probabilities
    );
}
