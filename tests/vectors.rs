//! Word-vector tools on GloVe 6B 50d: known analogies, the invariants of neutralize and
//! equalize, a debiased copy a config can train on, and the `emojify vectors` CLI.

mod common;

use emojify_data::Silent;
use emojify_data::fetch::{cache_dir, load_embeddings, load_glove};
use emojify_data::wordvec::{WordVectors, cosine, equalize, neutralize};
use emojify_data::{DataDir, Embeddings};

fn glove() -> WordVectors {
    WordVectors::new(load_glove(&cache_dir().expect("cache dir"), &Silent).expect("GloVe loads"))
}

#[test]
fn glove_knows_the_courses_analogies() {
    let v = glove();
    for (a, b, c, want) in [
        ("man", "woman", "boy", "girl"),
        ("italy", "italian", "spain", "spanish"),
        ("small", "smaller", "large", "larger"),
        ("india", "delhi", "japan", "tokyo"),
    ] {
        let got = v.analogy(a, b, c, 1).expect("known words");
        assert_eq!(got[0].word, want, "{a}:{b} :: {c}:? gave {got:?}");
    }
    let near = v.nearest("frog", 3).expect("known");
    assert!(near.iter().any(|s| s.word == "toad"), "{near:?}");
    assert!(v.similarity("father", "mother").expect("known") > 0.85);
}

#[test]
fn neutralize_and_equalize_hold_their_invariants_on_glove() {
    let v = glove();
    let g = v.axis("woman-man").expect("axis").g;
    for w in ["receptionist", "doctor", "engineer", "babysit"] {
        let n = neutralize(&v.vector(w).expect("known"), &g);
        assert!(cosine(&n, &g).abs() < 1e-6, "{w} not orthogonal");
    }
    let (e1, e2) = equalize(
        &v.vector("man").expect("known"),
        &v.vector("woman").expect("known"),
        &g,
    );
    // The course's reference values for this pair.
    assert!((cosine(&e1, &g) + 0.700_436).abs() < 1e-5);
    assert!((cosine(&e2, &g) - 0.700_436).abs() < 1e-5);
    // Equally far from μ⊥ (their new mean), with opposite projections on the axis.
    let mu: Vec<f64> = e1.iter().zip(&e2).map(|(a, b)| (a + b) / 2.0).collect();
    let dist = |e: &[f64]| e.iter().zip(&mu).map(|(a, m)| (a - m).powi(2)).sum::<f64>();
    assert!((dist(&e1) - dist(&e2)).abs() < 1e-9);
    let dot = |e: &[f64]| e.iter().zip(&g).map(|(a, b)| a * b).sum::<f64>();
    assert!((dot(&e1) + dot(&e2)).abs() < 1e-9);
}

#[test]
fn a_debiased_copy_is_neutral_and_loads_as_an_embedding_source() {
    let v = glove();
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("debiased.emjv");
    let pairs = common::root().join("configs/gender_pairs.txt");
    let (ok, _, stderr) = common::emojify(&[
        "vectors",
        "debias",
        "--axis",
        "woman-man",
        "--equalize-pairs",
        pairs.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(ok, "debias: {stderr}");

    let loaded: Embeddings = load_embeddings(
        out.to_str().expect("utf-8 path"),
        &DataDir::new(Some(dir.path())),
        &Silent,
    )
    .expect("a config can point at the debiased file");
    assert_ne!(loaded.sha256, v.embeddings().sha256, "a new identity");
    assert_eq!(loaded.rows(), v.embeddings().rows());
    let after = WordVectors::new(loaded);
    let g = v.axis("woman-man").expect("axis").g;
    // Every word outside the definitional list and the pairs is orthogonal to the axis.
    let definitional =
        std::fs::read_to_string(common::root().join("configs/gender_definitional.txt"))
            .expect("the built-in definitional list");
    let (keep, _) = v.parse_word_list(&definitional, "built-in");
    let paired = after.read_pairs(&pairs).expect("pairs");
    let mut worst = 0.0f64;
    for i in 1..after.embeddings().rows() as u32 {
        if keep.contains(&i) || paired.iter().any(|&(a, b)| a == i || b == i) {
            continue;
        }
        let e: Vec<f64> = after
            .embeddings()
            .vector(i)
            .expect("row")
            .iter()
            .map(|&x| f64::from(x))
            .collect();
        let c = cosine(&e, &g);
        if !c.is_nan() {
            worst = worst.max(c.abs());
        }
    }
    assert!(worst < 1e-6, "largest |cos| with the axis: {worst}");
    // Definitional words keep their vectors; pairs are symmetric.
    assert_eq!(after.vector("mommy").ok(), v.vector("mommy").ok());
    let (a, b) = (
        after.vector("actor").expect("known"),
        after.vector("actress").expect("known"),
    );
    assert!((cosine(&a, &g) + cosine(&b, &g)).abs() < 1e-5);
}

#[test]
fn the_cli_answers_in_text_and_json_and_names_unknown_words() {
    let (ok, out, err) = common::emojify(&["vectors", "analogy", "man", "woman", "boy", "--json"]);
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(json["answers"][0]["word"], "girl");

    let (ok, out, err) = common::emojify(&["vectors", "bias", "--axis", "woman-man", "lipstick"]);
    assert!(ok, "{err}");
    assert!(out.contains("lipstick") && out.contains('+'), "{out}");

    let (ok, _, err) = common::emojify(&["vectors", "similarity", "womna", "man"]);
    assert!(!ok);
    assert!(
        err.contains("unknown word `womna`") && err.contains("`woman`"),
        "{err}"
    );
    let (ok, _, err) = common::emojify(&["vectors", "bias", "--axis", "woman"]);
    assert!(!ok && err.contains("axis `woman`"), "{err}");
}
