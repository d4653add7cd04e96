//! Data for emojify: dataset readers, tokenizer, vocabulary, GloVe embeddings and batching.
//!
//! This crate knows nothing of burn: it turns files into plain Rust values (examples, token ids,
//! an embedding matrix, padded id batches). The model and trainer crates build tensors from them.
//! It prints nothing: what a caller should hear goes to an [`Observer`].

pub mod atomic;
pub mod batch;
pub mod dataset;
pub mod embeddings;
pub mod error;
pub mod fetch;
pub mod hash;
pub mod holdout;
pub mod normalize;
pub mod observe;
pub mod paths;
pub mod sentences;
pub mod sequence_csv;
pub mod subword;
pub mod text_labels;
pub mod tokenizer;
pub mod vocab;
pub mod wordvec;

pub use batch::{Batch, Encoded, batch_order};
pub use dataset::{
    BadRowPolicy, Example, LabelledCsv, RowError, parse_labelled_csv, read_labelled_csv,
};
pub use embeddings::Embeddings;
pub use error::DataError;
pub use holdout::{Holdout, stratified_split};
pub use observe::{Event, Observer, Silent};
pub use paths::DataDir;
pub use sentences::split_sentences;
pub use sequence_csv::{
    SequenceCsv, SequenceExample, StepKind, pixel_name, read_sequence_csv, scale_pixel,
};
pub use subword::{SubwordBatch, SubwordTokenizer};
pub use text_labels::{read_mapping, read_text_labels};
pub use tokenizer::tokenize;
pub use vocab::{OovPolicy, Vocabulary};
pub use wordvec::WordVectors;
