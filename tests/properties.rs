//! The fuzz targets' properties (fuzz/) as a proptest suite in the normal tests: CI has no
//! nightly compiler for libFuzzer, so this is what runs there on every build.

use std::io::Write;
use std::path::Path;

use emojify_data::sequence_csv::{PAD, StepKind, parse_sequence_csv};
use emojify_data::{BadRowPolicy, Embeddings, parse_labelled_csv, split_sentences, tokenize};
use proptest::prelude::*;

// The fuzz targets' line counter, so both suites check line numbers against the same oracle.
#[path = "../fuzz/fuzz_targets/lines.rs"]
mod lines;
use lines::line_count;

/// Bytes that look like EMOJISET rows often enough to reach past the first parse error.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b"I love you,0\n".to_vec()),
            Just(b"food is ready,4\t\n".to_vec()),
            Just(b"\"quoted, text\",2\n".to_vec()),
            Just(b",\n".to_vec()),
            Just(b"x,99\n".to_vec()),
            Just(b"\xff\xfe,1\n".to_vec()),
            prop::collection::vec(any::<u8>(), 0..12),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn glove_ish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b"the 0.1 -0.2 0.3\n".to_vec()),
            Just(b"a 1 2 3\n".to_vec()),
            Just(b"b nan 1 2\n".to_vec()),
            Just(b"c 1 2\n".to_vec()),
            Just(b" 1 2 3\n".to_vec()),
            Just(b"\n".to_vec()),
            prop::collection::vec(any::<u8>(), 0..12),
        ],
        0..10,
    )
    .prop_map(|parts| parts.concat())
}

/// Bytes that look like `class,0,…,N` files (shapes / SST-2) often enough to reach the rows.
fn sequence_csvish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b"class,0,1,2\n".to_vec()),
            Just(b"square,0,1.5,-2\n".to_vec()),
            Just(b"triangle,a,\",\",PAD\n".to_vec()),
            Just(b"circle,1,2,3\n".to_vec()),
            Just(b"square,1,NaN,inf\n".to_vec()),
            Just(b"square,1\n".to_vec()),
            Just(b"class,1x1,1x2\n".to_vec()),
            Just(b"triangle,255,0\n".to_vec()),
            Just(b"square,7,300\n".to_vec()),
            Just(b"\n".to_vec()),
            prop::collection::vec(any::<u8>(), 0..12),
        ],
        0..10,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn csv_reader_never_panics_and_keeps_its_promises(data in csvish()) {
        let lines = line_count(&data);
        for policy in [BadRowPolicy::Error, BadRowPolicy::Skip] {
            if let Ok(csv) = parse_labelled_csv(&data, Path::new("p.csv"), 5, policy) {
                for e in &csv.examples {
                    prop_assert!(e.label < 5);
                    prop_assert!(e.line >= 1 && e.line <= lines);
                    prop_assert!(!e.text.trim().is_empty());
                }
            }
        }
    }

    #[test]
    fn tokens_and_sentences_are_well_formed(text in "\\PC{0,80}") {
        for token in tokenize(&text) {
            prop_assert!(!token.is_empty());
            prop_assert!(!token.chars().any(char::is_whitespace));
        }
        for sentence in split_sentences(&text) {
            prop_assert!(!sentence.trim().is_empty());
            prop_assert!(text.contains(sentence));
        }
    }

    #[test]
    fn glove_text_reader_gives_finite_vectors_or_an_error(data in glove_ish()) {
        let mut file = tempfile::Builder::new().suffix(".txt").tempfile().expect("tmp");
        file.write_all(&data).expect("write");
        if let Ok(e) = Embeddings::from_glove_text(file.path()) {
            prop_assert!(e.dim > 0);
            prop_assert_eq!(e.matrix().len(), e.rows() * e.dim);
            prop_assert!(e.matrix().iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn sequence_csv_reader_never_panics_and_keeps_its_promises(data in sequence_csvish()) {
        let labels = ["square".to_string(), "triangle".to_string()];
        let lines = line_count(&data);
        let pixels = StepKind::Pixels { height: 1, width: 2, max: 255 };
        for kind in [StepKind::Numbers, StepKind::Tokens, pixels] {
            for policy in [BadRowPolicy::Error, BadRowPolicy::Skip] {
                if let Ok(csv) = parse_sequence_csv(&data, Path::new("p.csv"), kind, &labels, policy) {
                    for e in &csv.examples {
                        prop_assert!(e.label < labels.len());
                        prop_assert!(e.line >= 2 && e.line <= lines);
                        match kind {
                            StepKind::Numbers => {
                                prop_assert_eq!(e.values.len(), csv.steps);
                                prop_assert!(e.values.iter().all(|v| v.is_finite()));
                            }
                            StepKind::Tokens => prop_assert!(e.tokens.iter().all(|t| t != PAD)),
                            StepKind::Pixels { .. } => {
                                prop_assert_eq!(e.values.len(), 2);
                                prop_assert!(e.values.iter().all(|v| (0.0..=1.0).contains(v)));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The input proptest found in CI: lone carriage returns before the first row are line breaks,
/// so the row is on line 3, and the property's own line count must agree.
#[test]
fn lone_carriage_returns_count_as_lines_in_the_csv_property() {
    let data = b"\r\rI love you,0\n";
    let csv = parse_labelled_csv(data, Path::new("p.csv"), 5, BadRowPolicy::Error).expect("parses");
    assert_eq!(csv.examples.len(), 1);
    assert_eq!(csv.examples[0].line, 3);
    assert_eq!(line_count(data), 4);
}
