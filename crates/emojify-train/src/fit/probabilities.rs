//! Inference without autodiff: class probabilities for encoded sentences, in batches, and the
//! predicted class of each. Training's evaluation, prediction, cross-validation and benchmarks
//! all go through here.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use emojify_data::Encoded;
use emojify_model::Classifier;

use crate::fit::scores::argmax;
use crate::inputs::batcher::model_batch;

/// Class probabilities for every encoded sentence, computed in batches without autodiff.
pub fn probabilities(
    model: &Classifier,
    encoded: &[Encoded],
    device: &Device,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(encoded.len());
    for chunk in encoded.chunks(512) {
        let refs: Vec<&Encoded> = chunk.iter().collect();
        let batch = model_batch(&refs, device);
        let probs = softmax(model.forward(&batch), 1);
        let [_, classes] = probs.dims();
        let values = probs
            .into_data()
            .try_into_vec_as::<f32>()
            .map_err(|e| anyhow::anyhow!("reading probabilities: {e:?}"))?;
        out.extend(values.chunks(classes).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// The most probable class of each row.
pub fn predicted(probs: &[Vec<f32>]) -> Vec<usize> {
    probs.iter().map(|p| argmax(p)).collect()
}
