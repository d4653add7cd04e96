//! A convolutional classifier for small images (the RNN lab's review of CNNs on MNIST digits):
//! per layer a square convolution with ReLU, then max-pooling; flattened → dropout → dense.
//! Built from burn's own `Conv2d` and `MaxPool2d`; only the initialisation is ours, Keras'
//! Glorot-uniform drawn from the run's seed, so a seed gives the same weights on every backend.
//!
//! Layout is burn's and PyTorch's (`[batch, channels, height, width]`), so the flattened
//! features are in PyTorch's order and the export loads into `nn.Conv2d`/`nn.Linear` unchanged.

use burn::module::Param;
use burn::nn::Linear;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::MaxPool2dConfig;
use burn::prelude::*;
use burn::tensor::activation::relu;
use rand::rngs::StdRng;

use crate::dropout::dropout;
use crate::input::{SeqBatch, sequence};
use crate::{LayerSummary, ModelSummary, init};

/// Hyper-parameters of [`CnnClassifier`]: one entry per convolution in `channels`, `kernels`
/// and `pools` (1 = no pooling).
#[derive(Config, Debug)]
pub struct CnnConfig {
    pub num_classes: usize,
    pub height: usize,
    pub width: usize,
    pub channels: Vec<usize>,
    pub kernels: Vec<usize>,
    pub pools: Vec<usize>,
    #[config(default = 0.0)]
    pub dropout: f64,
}

#[derive(Module, Debug)]
pub struct CnnClassifier {
    pub convs: Vec<Conv2d>,
    /// The max-pooling window after each convolution (1: none).
    pub pools: Vec<usize>,
    pub dense: Linear,
    pub dropout: f64,
    /// The input image's `[height, width]`.
    pub image: [usize; 2],
}

/// The max-pooling window after convolution `i` (1, or `pools` too short: none).
fn pool(pools: &[usize], i: usize) -> usize {
    pools.get(i).copied().unwrap_or(1).max(1)
}

/// One layer's `[height, width]` after its convolution, then after its max-pool.
pub type LayerShape = ([usize; 2], [usize; 2]);

/// `(height, width)` after each convolution (square `kernels[i]`, stride 1, no padding) and after
/// its max-pool, for a `height × width` image; or why a kernel or pool does not fit what reaches
/// it, naming the layer (`[i] …`). The config check and the network's own sizes both read this.
pub fn layer_shapes(
    height: usize,
    width: usize,
    kernels: &[usize],
    pools: &[usize],
) -> Result<Vec<LayerShape>, String> {
    let (mut h, mut w) = (height, width);
    let mut out = Vec::with_capacity(kernels.len());
    for (i, &k) in kernels.iter().enumerate() {
        if k > h || k > w {
            return Err(format!(
                "[{i}] = {k} is larger than the {h}×{w} input of convolution {}",
                i + 1
            ));
        }
        (h, w) = (h - k + 1, w - k + 1);
        let conv = [h, w];
        let p = pool(pools, i);
        if p > h || p > w {
            return Err(format!(
                "[{i}]: pooling {p}×{p} does not fit the {h}×{w} output of convolution {}",
                i + 1
            ));
        }
        (h, w) = (h / p, w / p);
        out.push((conv, [h, w]));
    }
    Ok(out)
}

impl CnnConfig {
    /// The shape after each layer (empty for kernels that do not fit, which the caller's config
    /// check has refused).
    fn shapes(&self) -> Vec<LayerShape> {
        layer_shapes(self.height, self.width, &self.kernels, &self.pools).unwrap_or_default()
    }

    /// Glorot-uniform kernels (fan-in `in·k·k`, fan-out `out·k·k`, as Keras) and zero biases.
    /// The caller has checked that the kernels and pools fit the image.
    pub fn init(&self, seed: u64, device: &Device) -> CnnClassifier {
        let mut rng = init::rng(seed);
        let mut convs = Vec::with_capacity(self.channels.len());
        let mut input = 1;
        for (&out, &k) in self.channels.iter().zip(&self.kernels) {
            let mut conv = Conv2dConfig::new([input, out], [k, k]).init(device);
            let limit = (6.0 / ((input + out) * k * k) as f64).sqrt();
            conv.weight =
                Param::from_tensor(init::uniform([out, input, k, k], limit, &mut rng, device));
            conv.bias = Some(Param::from_tensor(Tensor::zeros([out], device)));
            convs.push(conv);
            input = out;
        }
        let [h, w] = self
            .shapes()
            .last()
            .map_or([self.height, self.width], |s| s.1);
        let features = input * h * w;
        let limit = (6.0 / (features + self.num_classes) as f64).sqrt();
        let dense = init::linear(
            init::uniform([features, self.num_classes], limit, &mut rng, device),
            device,
        );
        CnnClassifier {
            convs,
            pools: (0..self.channels.len())
                .map(|i| pool(&self.pools, i))
                .collect(),
            dense,
            dropout: self.dropout,
            image: [self.height, self.width],
        }
    }
}

impl CnnClassifier {
    /// Logits `[batch, classes]` from pixels `[batch, height·width, 1]` (row-major); dropout
    /// before the dense layer only when `rng` is given.
    pub fn forward(&self, batch: &SeqBatch, rng: Option<&mut StdRng>) -> Tensor<2> {
        let x = sequence(None, &batch.input);
        let [b, _, _] = x.dims();
        let [height, width] = self.image;
        let mut x: Tensor<4> = x.reshape([b, 1, height, width]);
        for (conv, &p) in self.convs.iter().zip(&self.pools) {
            x = relu(conv.forward(x));
            if p > 1 {
                x = MaxPool2dConfig::new([p, p]).init().forward(x);
            }
        }
        let [b, c, h, w] = x.dims();
        let mut x = x.reshape([b, c * h * w]);
        if let Some(rng) = rng {
            x = dropout(x, self.dropout, rng);
        }
        self.dense.forward(x)
    }

    fn config(&self) -> CnnConfig {
        let [_, classes] = self.dense.weight.dims();
        let dims = |c: &Conv2d| c.weight.dims();
        CnnConfig::new(
            classes,
            self.image[0],
            self.image[1],
            self.convs.iter().map(|c| dims(c)[0]).collect(),
            self.convs.iter().map(|c| dims(c)[2]).collect(),
            self.pools.clone(),
        )
    }

    /// Keras' summary of the same network: shapes written channels-last as Keras prints them.
    pub fn summary(&self) -> ModelSummary {
        let config = self.config();
        let mut layers = Vec::new();
        let row = |name: String, kind: &str, shape: String, params: usize| LayerSummary {
            name,
            kind: kind.into(),
            output_shape: shape,
            params,
            trainable: true,
        };
        let mut input = 1;
        for (i, (conv, (after_conv, after_pool))) in
            self.convs.iter().zip(config.shapes()).enumerate()
        {
            let [out, _, k, _] = conv.weight.dims();
            let [h, w] = after_conv;
            layers.push(row(
                format!("conv2d_{}", i + 1),
                "Conv2D, ReLU",
                format!("(None, {h}, {w}, {out})"),
                out * input * k * k + out,
            ));
            if self.pools[i] > 1 {
                let [h, w] = after_pool;
                layers.push(row(
                    format!("max_pooling2d_{}", i + 1),
                    "MaxPooling2D",
                    format!("(None, {h}, {w}, {out})"),
                    0,
                ));
            }
            input = out;
        }
        let [features, classes] = self.dense.weight.dims();
        layers.push(row(
            "flatten".into(),
            "Flatten",
            format!("(None, {features})"),
            0,
        ));
        if self.dropout > 0.0 {
            layers.push(row(
                "dropout".into(),
                "Dropout",
                format!("(None, {features})"),
                0,
            ));
        }
        layers.push(row(
            "dense".into(),
            "Dense",
            format!("(None, {classes})"),
            features * classes + classes,
        ));
        layers.push(row(
            "softmax".into(),
            "Activation",
            format!("(None, {classes})"),
            0,
        ));
        ModelSummary { layers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Input;

    fn lab(kernel: usize, pools: Vec<usize>, channels: Vec<usize>) -> CnnClassifier {
        let kernels = vec![kernel; channels.len()];
        CnnConfig::new(10, 28, 28, channels, kernels, pools).init(1, &Device::flex())
    }

    #[test]
    fn the_lab_networks_have_keras_parameter_counts_and_shapes() {
        // Keras: Conv2D(32, 3×3) 320, Conv2D(64, 3×3) 18,496, Dense(10) on 5·5·64 16,010.
        let m = lab(3, vec![2, 2], vec![32, 64]);
        let s = m.summary();
        assert_eq!(s.trainable(), 34_826);
        let shapes: Vec<&str> = s.layers.iter().map(|l| l.output_shape.as_str()).collect();
        assert_eq!(
            shapes,
            [
                "(None, 26, 26, 32)",
                "(None, 13, 13, 32)",
                "(None, 11, 11, 64)",
                "(None, 5, 5, 64)",
                "(None, 1600)",
                "(None, 10)",
                "(None, 10)"
            ]
        );
        // 1×1 kernels: 64 + 2,112 + 7·7·64·10 + 10.
        assert_eq!(
            lab(1, vec![2, 2], vec![32, 64]).summary().trainable(),
            33_546
        );
        // One 28×28 kernel, no pooling: a dense layer in disguise. 32·785 + 32·10 + 10.
        assert_eq!(lab(28, vec![1], vec![32]).summary().trainable(), 25_450);

        let device = Device::flex();
        let batch = SeqBatch {
            input: Input::Values(Tensor::<3>::ones([3, 784, 1], &device)),
            lengths: vec![784; 3],
        };
        assert_eq!(m.forward(&batch, None).dims(), [3, 10]);
    }

    #[test]
    fn a_convolution_sees_neighbouring_pixels_a_1x1_kernel_does_not() {
        // One 2×2 filter summing its window, on a 3×3 image with one lit pixel: a 2×2 kernel
        // lights every window containing it, a 1×1 kernel only the pixel itself.
        let device = Device::flex();
        let mut m = CnnConfig::new(2, 3, 3, vec![1], vec![2], vec![1]).init(1, &device);
        m.convs[0].weight = Param::from_tensor(Tensor::ones([1, 1, 2, 2], &device));
        let mut pixels = vec![0.0f32; 9];
        pixels[4] = 1.0; // the centre
        let x = Tensor::<3>::from_data(TensorData::new(pixels, [1, 9, 1]), &device);
        let out = relu(m.convs[0].forward(x.reshape([1, 1, 3, 3])));
        let values = out.into_data().try_into_vec_as::<f32>().expect("f32");
        assert_eq!(values, [1.0, 1.0, 1.0, 1.0]);
    }
}
