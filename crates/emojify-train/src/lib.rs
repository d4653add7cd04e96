//! The emojify pipeline as a library: configs, data splits and embeddings, models, training,
//! evaluation, run directories, prediction, export and benchmarks. It prints nothing and knows
//! no command line: progress reaches its caller through [`report::Reporter`] (the `emojify`
//! binary, in `crates/emojify-cli`, draws progress bars from it).
//!
//! Where things are: the batcher is [`batcher`], the epoch step `train::epoch`
//! ([`train::train_epoch`]), weights are written and read in [`weights`], a trained run is
//! opened by [`run::TrainedRun`], several networks are trained and averaged in [`ensemble`].

pub mod backend;
pub mod batcher;
pub mod bench;
pub mod calibrate;
pub mod checkpoint;
pub mod config;
pub mod cv;
pub mod embedding;
pub mod ensemble;
pub mod eval;
pub mod evaluate;
pub mod export;
pub mod files;
pub mod inference;
pub mod metrics;
pub mod model;
pub mod plot;
pub mod predict;
pub mod pretrain;
pub mod report;
pub mod run;
pub mod run_dir;
pub mod splits;
pub mod sweep;
pub mod train;
pub mod weights;

pub use backend::BackendKind;
pub use config::RunConfig;
