//! Stage 6, experiments made of many trainings: k-fold cross-validation over a grid ([`cv`]),
//! the same run over several seeds ([`sweep`]), the backend benchmark ([`bench`]) and the
//! sentence encoder's ([`encoder_bench`]).
//!
//! May import: every stage below it and the foundation.

pub mod bench;
pub mod cv;
pub mod encoder_bench;
pub mod sweep;
