//! One file per command: its flags (clap `Args`) and what it does with the library.

pub mod bench;
pub mod cv;
pub mod data;
pub mod export;
pub mod predict;
pub mod summary;
pub mod sweep;
pub mod text;
pub mod train;
pub mod vectors;
