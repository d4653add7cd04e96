//! Stage 4, a run: training a run directory end to end ([`train`]: data, network, epochs,
//! checkpoints, the strategies the config asks for, then weights, predictions, summary and
//! plots written), the directory and its file names ([`dir`]), checkpoints ([`checkpoint`]),
//! what a run records ([`metrics`]), how progress reaches the caller ([`report`]), PNG plots
//! ([`plot`]), and opening a trained run ([`open`]).
//!
//! May import: [`crate::strategies`], [`crate::fit`], [`crate::inputs`] and the foundation.
//! Nothing above.

pub mod checkpoint;
pub mod dir;
pub mod metrics;
pub mod open;
pub mod plot;
pub mod report;
pub mod train;
