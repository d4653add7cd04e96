//! The EMOJISET CSV reader on arbitrary bytes: an error or examples, never a panic; every
//! example's label is in range and its line number points into the input.
#![no_main]

use emojify_data::{BadRowPolicy, parse_labelled_csv};
use libfuzzer_sys::fuzz_target;

mod lines;

fuzz_target!(|data: &[u8]| {
    let lines = lines::line_count(data);
    for policy in [BadRowPolicy::Error, BadRowPolicy::Skip] {
        if let Ok(csv) = parse_labelled_csv(data, std::path::Path::new("fuzz.csv"), 5, policy) {
            for e in &csv.examples {
                assert!(e.label < 5);
                assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
                assert!(!e.text.trim().is_empty());
            }
        }
    }
});
