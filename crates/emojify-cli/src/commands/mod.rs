//! One file per command: its flags (clap `Args`) and what it does with the library.

pub mod bench;
pub mod bench_encoder;
pub mod bench_serve;
pub mod cv;
pub mod data;
pub mod eval;
pub mod export;
pub mod predict;
pub mod serve;
pub mod summary;
pub mod sweep;
pub mod text;
pub mod train;
pub mod vectors;
