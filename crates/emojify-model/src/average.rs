//! Stochastic weight averaging (Izmailov et al., 2018): the running mean of a model's trainable
//! weights taken at the end of several epochs. On a training set as small as EMOJISET the weights
//! keep wandering once the training accuracy is 100 %, and the mean of those points generalises
//! more steadily than any one of them. The result is an ordinary model of the same shape, so
//! prediction and export do not change.

use std::collections::HashMap;

use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;

use crate::Classifier;

/// The running mean, held outside autodiff.
#[derive(Debug, Clone)]
pub struct WeightMean {
    mean: Classifier,
    count: usize,
}

impl WeightMean {
    /// Starts the mean at `model` (one point).
    pub fn new(model: &Classifier) -> Self {
        Self::resume(model.valid(), 1)
    }

    /// A mean of `count` points restored from a checkpoint.
    pub fn resume(mean: Classifier, count: usize) -> Self {
        Self {
            mean,
            count: count.max(1),
        }
    }

    /// Adds `model` — the model being trained, on an autodiff device — as one more point. Only
    /// parameters that take gradients are averaged: a frozen embedding is the same in every
    /// point and stays bit-identical (and costs nothing).
    pub fn add(&mut self, model: &Classifier) {
        let mut collect = Trainable::default();
        model.visit(&mut collect);
        self.count += 1;
        let mut update = Update {
            points: collect.tensors,
            weight: 1.0 / self.count as f64,
        };
        self.mean = self.mean.clone().map(&mut update);
    }

    /// The averaged model (no autodiff).
    pub fn model(&self) -> &Classifier {
        &self.mean
    }

    /// How many points the mean holds.
    pub fn count(&self) -> usize {
        self.count
    }
}

/// Trainable parameters by id, flattened, detached from the graph.
#[derive(Default)]
struct Trainable {
    tensors: HashMap<ParamId, Tensor<1>>,
}

impl ModuleVisitor for Trainable {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        if value.is_require_grad() {
            let flat: Tensor<1> = value.detach().flatten(0, D - 1);
            self.tensors.insert(param.id, flat.inner());
        }
    }
}

/// `mean += (point − mean) · weight` for every parameter that has a point.
struct Update {
    points: HashMap<ParamId, Tensor<1>>,
    weight: f64,
}

impl ModuleMapper for Update {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(point) = self.points.remove(&param.id) else {
            return param;
        };
        let weight = self.weight;
        param.map(|mean| {
            let point: Tensor<D> = point.reshape(mean.shape());
            mean.clone() + (point - mean) * weight
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MeanEmbeddingConfig;

    fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
        t.to_data().try_to_vec::<f32>().expect("f32")
    }

    #[test]
    fn mean_of_trainable_weights_with_the_frozen_embedding_untouched() {
        let device = Device::flex().autodiff();
        let embedding = Tensor::<2>::from_floats([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]], &device);
        let model = Classifier::MeanEmbedding(
            MeanEmbeddingConfig { num_classes: 3 }.init(embedding, 7, &device),
        );
        let weights = |m: &Classifier| match m {
            Classifier::MeanEmbedding(m) => (
                values(&m.embedding.weight.val()),
                values(&m.linear.weight.val()),
            ),
            _ => unreachable!("built above"),
        };
        let (emb0, w0) = weights(&model);
        let mut mean = WeightMean::new(&model);
        // Two more points, as after two optimizer steps: every trainable weight shifted.
        let shifted = |by: f64| model.clone().map(&mut Shift(by));
        mean.add(&shifted(1.0));
        mean.add(&shifted(5.0));
        assert_eq!(mean.count(), 3);
        let (emb, w) = weights(mean.model());
        assert_eq!(emb, emb0, "frozen embedding changed");
        for (a, b) in w.iter().zip(&w0) {
            assert!((a - (b + 2.0)).abs() < 1e-6, "{a} vs {b} + 2");
        }
    }

    /// Adds a constant to every parameter that takes gradients, as training would move them.
    struct Shift(f64);

    impl ModuleMapper for Shift {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let by = self.0;
            if param.val().is_require_grad() {
                param.map(|t| (t + by).detach().require_grad())
            } else {
                param
            }
        }
    }
}
