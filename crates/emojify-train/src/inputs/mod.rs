//! Stage 1, the model's inputs: the config's data files read through the data crate
//! ([`files`]), the vocabulary and vectors words are looked up in ([`embedding`]), the splits
//! tokenized and encoded ([`splits`]), training-time augmentation ([`augment`]), the batcher
//! that turns encoded sentences into a model batch ([`batcher`]), and the pretrained sentence
//! encoder with its tokenizer ([`encoder`]).
//!
//! May import: the foundation (`config`, `backend`), the data and model crates. Nothing above.

pub mod augment;
pub mod batcher;
pub mod embedding;
pub mod encoder;
pub mod files;
pub mod splits;
