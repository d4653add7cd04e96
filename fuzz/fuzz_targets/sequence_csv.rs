//! The `class,0,…,N` reader (shapes, SST-2) on arbitrary bytes, both step kinds: an error or
//! examples, never a panic; every example's class is one of the labels, its line points into the
//! input, numeric rows hold exactly the header's number of finite values, and no token is `PAD`.
#![no_main]

use emojify_data::BadRowPolicy;
use emojify_data::sequence_csv::{PAD, StepKind, parse_sequence_csv};
use libfuzzer_sys::fuzz_target;

mod lines;

fuzz_target!(|data: &[u8]| {
    let labels = ["square".to_string(), "triangle".to_string()];
    let lines = lines::line_count(data);
    for kind in [StepKind::Numbers, StepKind::Tokens] {
        for policy in [BadRowPolicy::Error, BadRowPolicy::Skip] {
            let path = std::path::Path::new("fuzz.csv");
            if let Ok(csv) = parse_sequence_csv(data, path, kind, &labels, policy) {
                for e in &csv.examples {
                    assert!(e.label < labels.len());
                    assert!(e.line >= 2 && e.line <= lines, "line {} of {lines}", e.line);
                    match kind {
                        StepKind::Numbers => {
                            assert_eq!(e.values.len(), csv.steps);
                            assert!(e.values.iter().all(|v| v.is_finite()));
                        }
                        StepKind::Tokens => assert!(e.tokens.iter().all(|t| t != PAD)),
                    }
                }
            }
        }
    }
});
