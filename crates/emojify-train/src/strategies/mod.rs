//! Stage 3, strategies built on fitting one network: pretraining on a larger corpus
//! ([`pretrain`]), ensembles of networks from different seeds ([`ensemble`]), stratified k-fold
//! splits of the training split ([`folds`]) and temperature scaling fitted on held-out folds
//! ([`calibrate`]).
//!
//! May import: [`crate::fit`], [`crate::inputs`] and the foundation. Nothing above.

pub mod calibrate;
pub mod ensemble;
pub mod folds;
pub mod pretrain;
