//! Stage 6, experiments made of many trainings: k-fold cross-validation over a grid ([`cv`]),
//! the same run over several seeds ([`sweep`]) and the backend benchmark ([`bench`]).
//!
//! May import: every stage below it and the foundation.

pub mod bench;
pub mod cv;
pub mod sweep;
