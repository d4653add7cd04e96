//! The GloVe text reader on arbitrary bytes (written to a temporary file, as users give it
//! files): an error or vectors, never a panic; vectors are finite and rows have one dimension.
#![no_main]

use std::io::Write;

use emojify_data::Embeddings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = tempfile::Builder::new().suffix(".txt").tempfile() else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    if let Ok(e) = Embeddings::from_glove_text(file.path()) {
        assert!(e.dim > 0);
        assert_eq!(e.matrix().len(), e.rows() * e.dim);
        assert!(e.matrix().iter().all(|v| v.is_finite()));
        assert!(
            e.matrix()[..e.dim].iter().all(|&v| v == 0.0),
            "row 0 is padding"
        );
    }
});
