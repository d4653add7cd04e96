//! Stage 5, using a trained run: classifying text ([`predict`]), scoring the run on a labelled
//! file ([`evaluate`]) and exporting it for other tools ([`export`]). Each starts from
//! [`crate::run::open::TrainedRun`].
//!
//! May import: [`crate::run`], [`crate::strategies`], [`crate::fit`], [`crate::inputs`] and the
//! foundation. Nothing above.

pub mod evaluate;
pub mod export;
pub mod predict;
