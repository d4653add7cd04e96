//! The run-config parser on arbitrary text: a config or an error naming the file, never a
//! panic; a config that parses has passed its range checks.
#![no_main]

use emojify_train::config::RunConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match RunConfig::parse(text, std::path::Path::new("fuzz.toml")) {
        Ok(c) => {
            assert!(c.train.batch_size > 0 && c.train.epochs > 0 && c.data.max_len > 0);
            assert!(c.train.learning_rate.is_finite() && c.train.learning_rate > 0.0);
        }
        Err(e) => assert!(e.to_string().contains("fuzz.toml"), "{e}"),
    }
});
