//! The tokenizer and sentence splitter on arbitrary text: never a panic, no empty tokens, no
//! whitespace inside a token, and every sentence is a non-blank piece of the input.
#![no_main]

use emojify_data::{split_sentences, tokenize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for token in tokenize(text) {
        assert!(!token.is_empty());
        assert!(!token.chars().any(char::is_whitespace), "{token:?}");
    }
    for sentence in split_sentences(text) {
        assert!(!sentence.trim().is_empty());
        assert!(text.contains(sentence));
    }
});
