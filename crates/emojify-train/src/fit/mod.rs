//! Stage 2, fitting one network: a fresh model for a config ([`model`], the one builder that
//! knows model kinds), its weights as bytes ([`weights`]), the optimizer and weight averaging
//! ([`optim`]) assembled with the model ([`setup`]), the epoch step ([`epoch`]), class
//! probabilities without autodiff ([`probabilities`]) and the scores computed from them
//! ([`scores`]).
//!
//! May import: [`crate::inputs`] and the foundation. Nothing above.

pub mod epoch;
pub mod model;
pub mod optim;
pub mod probabilities;
pub mod scores;
pub mod setup;
pub mod weights;
