//! The batcher: encoded examples to a model batch (token ids `[B, T]` or numbers `[B, T, 1]`)
//! on a device. The order of batches is the data crate's `batch_order`.

use burn::prelude::*;
use emojify_data::Encoded;
use emojify_model::{Input, SeqBatch};

/// Turns encoded examples (all of one kind and length) into a model batch on `device`.
pub fn model_batch(encoded: &[&Encoded], device: &Device) -> SeqBatch {
    let lengths = encoded.iter().map(|e| e.length).collect();
    let b = encoded.len();
    let input = match encoded.first() {
        Some(first) if !first.values.is_empty() => {
            let steps = first.values.len();
            let values: Vec<f32> = encoded
                .iter()
                .flat_map(|e| e.values.iter().copied())
                .collect();
            Input::Values(Tensor::from_data(
                TensorData::new(values, [b, steps, 1]),
                device,
            ))
        }
        first => {
            let max_len = first.map_or(1, |e| e.ids.len());
            let ids: Vec<i64> = encoded
                .iter()
                .flat_map(|e| e.ids.iter().map(|&i| i64::from(i)))
                .collect();
            Input::Ids(Tensor::from_data(
                TensorData::new(ids, [b, max_len]),
                device,
            ))
        }
    };
    SeqBatch { input, lengths }
}
