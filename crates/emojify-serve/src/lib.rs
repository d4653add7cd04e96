//! `emojify serve` as a library: a JSON API and a web page over a trained run (axum on tokio),
//! requests gathered into one forward pass by a dynamic [`batcher`], limits on everything a
//! client sends ([`api`]), and the [`load`] generator that measures it. The `emojify` binary
//! (crates/emojify-cli) parses flags and calls [`app::serve`].

pub mod api;
pub mod app;
pub mod batcher;
pub mod load;

pub use api::Limits;
pub use app::{ModelInfo, serve};
pub use batcher::Batcher;
