//! Training, evaluation, run directories and prediction for emojify; the `emojify` binary is a
//! thin command-line layer over this library.

pub mod backend;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod cv;
pub mod eval;
pub mod export;
pub mod pipeline;
pub mod plot;
pub mod predict;
pub mod run_dir;
pub mod sweep;
pub mod train;
pub mod vectors;

pub use backend::BackendKind;
pub use config::RunConfig;
