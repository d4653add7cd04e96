//! The emojify pipeline as a library: a run's config, its inputs, fitting networks, training and
//! opening run directories, using a trained run (predict, evaluate, export) and experiments. It
//! prints nothing and knows no command line: progress reaches its caller through
//! [`run::report::Reporter`] (the `emojify` binary, in `crates/emojify-cli`, draws progress bars
//! from it).
//!
//! Folders by stage; a stage imports only the stages below it (and the foundation), never one
//! above (`../shared/tools/module-cycles` checks that no two files import each other,
//! `tests/stages.rs` that no import points up):
//!
//! ```text
//! experiments   cv, sweep, bench                                  ─┐
//! usage         predict, evaluate, export (safetensors, ONNX)      │ each imports
//! run           train a run directory end to end, checkpoints,     │ only what is
//!               metrics and summary, reporting, plots; open a run  │ below it
//! strategies    SST-2 pretraining, ensemble members, k-fold        │
//!               splits, calibration folds                          │
//! fit           fitting one network: model building, weights as    │
//!               bytes, optimizer and averaging, the epoch step,    │
//!               probabilities without autodiff, scores             │
//! inputs        data files, embedding lookup, splits, batcher,     │
//!               augmentation                                      ─┘
//! ─────────────────────────────────────────────────────────────────
//! foundation    config (one file per section), backend
//! ```
//!
//! Where things are: the LSTM itself is in the model crate (`emojify_model::lstm`); a model kind
//! is built from its config in [`fit::model::build_model_from`]; the epoch step is
//! [`fit::epoch`]; weights become bytes in [`fit::weights`] and files in the run directory in
//! [`run::train`] (via [`run::dir::RunDir::write`]); a trained run is opened by
//! [`run::open::TrainedRun`].

pub mod backend;
pub mod config;
pub mod experiments;
pub mod fit;
pub mod inputs;
pub mod run;
pub mod strategies;
pub mod usage;
