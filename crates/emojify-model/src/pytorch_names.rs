//! The models' parameters under PyTorch's names and layouts, so other tools can load them with
//! `load_state_dict` unchanged — and so weights trained elsewhere come back in.
//!
//! burn keeps linear and LSTM kernels as `[in, out]` (it computes `x · W`); PyTorch keeps
//! `[out, in]`. PyTorch's LSTM has two biases per gate where ours (as Keras) has one: the export
//! puts ours in `bias_ih` and zeros in `bias_hh`, the import adds the two. Gate order is i, f, g, o
//! in both.

use std::collections::HashMap;

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::prelude::*;

use crate::Classifier;
use crate::lstm::FusedLstm;

/// One parameter in PyTorch's layout (row-major `shape`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    #[error("missing tensor `{0}`")]
    Missing(String),
    #[error("tensor `{name}` has shape {found:?}, this model needs {expected:?}")]
    Shape {
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("unexpected tensor `{0}` (not part of this model)")]
    Unexpected(String),
    #[error("reading tensor `{name}`: {reason}")]
    Read { name: String, reason: String },
}

/// Name of the `index`-th (0-based) convolution: `conv1`, `conv2`, …
pub fn conv_name(index: usize) -> String {
    format!("conv{}", index + 1)
}

/// Name of the `index`-th (0-based) LSTM layer: `lstm1`, `lstm2`, …
pub fn lstm_name(index: usize) -> String {
    format!("lstm{}", index + 1)
}

impl Classifier {
    /// The input embedding, if any, and whether training updates it.
    fn embedding_mut(&mut self) -> (Option<&mut Embedding>, bool) {
        match self {
            Classifier::MeanEmbedding(m) => (Some(&mut m.embedding), false),
            Classifier::Lstm(m) => (m.embedding.as_mut(), m.embedding_trainable),
            Classifier::Mlp(m) => (m.embedding.as_mut(), m.embedding_trainable),
            Classifier::Cnn(_) => (None, false),
        }
    }

    /// Every parameter in PyTorch's layout. A frozen embedding is included only if
    /// `with_embedding`; a trained one always (it is part of what was learned).
    pub fn to_pytorch(&self, with_embedding: bool) -> Result<Vec<NamedTensor>, ParamError> {
        let mut out = Vec::new();
        let (embedding, trainable) = match self {
            Classifier::MeanEmbedding(m) => {
                out.extend(linear_to_pytorch("linear", &m.linear)?);
                (Some(&m.embedding), false)
            }
            Classifier::Lstm(m) => {
                for (i, lstm) in m.lstms.iter().enumerate() {
                    out.extend(lstm_to_pytorch(&lstm_name(i), "", lstm)?);
                    if let Some(reverse) = m.reverse.as_ref().filter(|_| i == 0) {
                        out.extend(lstm_to_pytorch(&lstm_name(i), REVERSE, reverse)?);
                    }
                }
                if let Some(attention) = &m.attention {
                    out.extend(linear_to_pytorch(ATTENTION, attention)?);
                }
                out.extend(linear_to_pytorch("dense", &m.dense)?);
                (m.embedding.as_ref(), m.embedding_trainable)
            }
            Classifier::Mlp(m) => {
                out.extend(linear_to_pytorch("hidden", &m.hidden)?);
                out.extend(linear_to_pytorch("output", &m.output)?);
                (m.embedding.as_ref(), m.embedding_trainable)
            }
            Classifier::Cnn(m) => {
                for (i, conv) in m.convs.iter().enumerate() {
                    let weight = conv.weight.val();
                    let shape = weight.dims().to_vec();
                    out.push(named(&format!("{}.weight", conv_name(i)), shape, weight)?);
                    if let Some(bias) = &conv.bias {
                        let bias = bias.val();
                        let shape = bias.dims().to_vec();
                        out.push(named(&format!("{}.bias", conv_name(i)), shape, bias)?);
                    }
                }
                out.extend(linear_to_pytorch("dense", &m.dense)?);
                (None, false)
            }
        };
        if let Some(embedding) = embedding.filter(|_| with_embedding || trainable) {
            let weight = embedding.weight.val();
            let shape = weight.dims().to_vec();
            out.insert(0, named("embedding.weight", shape, weight)?);
        }
        Ok(out)
    }

    /// Replaces the trainable parameters with `tensors` (PyTorch layout, as [`Self::to_pytorch`]
    /// writes). `embedding.weight` is loaded when present; it may be absent only for a frozen
    /// embedding (the caller has verified the model's own copy by its identity); any other name
    /// is an error.
    pub fn load_pytorch(
        &mut self,
        tensors: &HashMap<String, NamedTensor>,
    ) -> Result<(), ParamError> {
        let mut expected: Vec<String> = Vec::new();
        let mut linear = |prefix: &str, l: &Linear| -> Result<Linear, ParamError> {
            expected.extend([format!("{prefix}.weight"), format!("{prefix}.bias")]);
            linear_from_pytorch(prefix, l, tensors)
        };
        match self {
            Classifier::MeanEmbedding(m) => m.linear = linear("linear", &m.linear)?,
            Classifier::Lstm(m) => {
                m.dense = linear("dense", &m.dense)?;
                let mut lstm_names = |name: &str, suffix: &str| {
                    expected.extend(
                        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
                            .map(|p| format!("{name}.{p}{suffix}")),
                    );
                };
                for (i, lstm) in m.lstms.iter_mut().enumerate() {
                    let name = lstm_name(i);
                    *lstm = lstm_from_pytorch(&name, "", lstm, tensors)?;
                    lstm_names(&name, "");
                }
                if let Some(reverse) = &mut m.reverse {
                    let name = lstm_name(0);
                    *reverse = lstm_from_pytorch(&name, REVERSE, reverse, tensors)?;
                    lstm_names(&name, REVERSE);
                }
                if let Some(attention) = &mut m.attention {
                    let [input, output] = attention.weight.dims();
                    let device = attention.weight.device();
                    let name = format!("{ATTENTION}.weight");
                    attention.weight =
                        kernel_from_pytorch(tensors, &name, [input, output], &device)?;
                    expected.push(name);
                }
            }
            Classifier::Mlp(m) => {
                m.hidden = linear("hidden", &m.hidden)?;
                m.output = linear("output", &m.output)?;
            }
            Classifier::Cnn(m) => {
                m.dense = linear("dense", &m.dense)?;
                for (i, conv) in m.convs.iter_mut().enumerate() {
                    // Same layout in both: `[out, in, kh, kw]`.
                    let device = conv.weight.device();
                    let dims = conv.weight.dims();
                    let name = format!("{}.weight", conv_name(i));
                    let w = get(tensors, &name, &dims)?;
                    conv.weight = Param::from_tensor(Tensor::from_data(
                        TensorData::new(w.values.clone(), dims),
                        &device,
                    ));
                    let bias = format!("{}.bias", conv_name(i));
                    let b = get(tensors, &bias, &[dims[0]])?;
                    conv.bias = Some(vector(b.values.clone(), &device));
                    expected.extend([name, bias]);
                }
            }
        }
        if let (Some(embedding), trainable) = self.embedding_mut() {
            let dims = embedding.weight.dims();
            match tensors.get("embedding.weight") {
                Some(t) => {
                    check_shape(t, &dims)?;
                    let device = embedding.weight.device();
                    embedding.weight = Param::from_tensor(Tensor::from_data(
                        TensorData::new(t.values.clone(), dims),
                        &device,
                    ))
                    .set_require_grad(trainable);
                }
                None if trainable => return Err(ParamError::Missing("embedding.weight".into())),
                None => {}
            }
            expected.push("embedding.weight".into());
        }
        match tensors.keys().find(|k| !expected.contains(k)) {
            Some(extra) => Err(ParamError::Unexpected(extra.clone())),
            None => Ok(()),
        }
    }
}

fn named<const D: usize>(
    name: &str,
    shape: Vec<usize>,
    tensor: Tensor<D>,
) -> Result<NamedTensor, ParamError> {
    let values = tensor
        .into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| ParamError::Read {
            name: name.into(),
            reason: format!("{e:?}"),
        })?;
    Ok(NamedTensor {
        name: name.into(),
        shape,
        values,
    })
}

/// `[rows, cols]` row-major → `[cols, rows]` row-major.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// A burn `[in, out]` kernel as PyTorch's `[out, in]` weight.
fn kernel_to_pytorch(name: &str, kernel: Tensor<2>) -> Result<NamedTensor, ParamError> {
    let [rows, cols] = kernel.dims();
    let mut t = named(name, vec![cols, rows], kernel)?;
    t.values = transpose(&t.values, rows, cols);
    Ok(t)
}

fn linear_to_pytorch(prefix: &str, linear: &Linear) -> Result<Vec<NamedTensor>, ParamError> {
    let mut out = vec![kernel_to_pytorch(
        &format!("{prefix}.weight"),
        linear.weight.val(),
    )?];
    if let Some(bias) = &linear.bias {
        let bias = bias.val();
        out.push(named(
            &format!("{prefix}.bias"),
            bias.dims().to_vec(),
            bias,
        )?);
    }
    Ok(out)
}

/// PyTorch's suffix of a bidirectional LSTM's backward weights (`weight_ih_l0_reverse`).
const REVERSE: &str = "_reverse";
/// The attention scores: `nn.Linear(H, 1, bias=False)`.
const ATTENTION: &str = "attention";

fn lstm_to_pytorch(
    prefix: &str,
    suffix: &str,
    lstm: &FusedLstm,
) -> Result<Vec<NamedTensor>, ParamError> {
    let bias = lstm.bias.val();
    let gates = bias.dims()[0];
    Ok(vec![
        kernel_to_pytorch(&format!("{prefix}.weight_ih_l0{suffix}"), lstm.w_ih.val())?,
        kernel_to_pytorch(&format!("{prefix}.weight_hh_l0{suffix}"), lstm.w_hh.val())?,
        named(&format!("{prefix}.bias_ih_l0{suffix}"), vec![gates], bias)?,
        NamedTensor {
            name: format!("{prefix}.bias_hh_l0{suffix}"),
            shape: vec![gates],
            values: vec![0.0; gates],
        },
    ])
}

fn get<'a>(
    tensors: &'a HashMap<String, NamedTensor>,
    name: &str,
    expected: &[usize],
) -> Result<&'a NamedTensor, ParamError> {
    let t = tensors
        .get(name)
        .ok_or_else(|| ParamError::Missing(name.into()))?;
    check_shape(t, expected)?;
    Ok(t)
}

fn check_shape(t: &NamedTensor, expected: &[usize]) -> Result<(), ParamError> {
    if t.shape != expected || t.values.len() != expected.iter().product::<usize>() {
        return Err(ParamError::Shape {
            name: t.name.clone(),
            found: t.shape.clone(),
            expected: expected.to_vec(),
        });
    }
    Ok(())
}

/// PyTorch's `[out, in]` weight back to a burn `[in, out]` kernel.
fn kernel_from_pytorch(
    tensors: &HashMap<String, NamedTensor>,
    name: &str,
    [rows, cols]: [usize; 2],
    device: &Device,
) -> Result<Param<Tensor<2>>, ParamError> {
    let t = get(tensors, name, &[cols, rows])?;
    let values = transpose(&t.values, cols, rows);
    Ok(Param::from_tensor(Tensor::from_data(
        TensorData::new(values, [rows, cols]),
        device,
    )))
}

fn vector(values: Vec<f32>, device: &Device) -> Param<Tensor<1>> {
    let n = values.len();
    Param::from_tensor(Tensor::from_data(TensorData::new(values, [n]), device))
}

fn linear_from_pytorch(
    prefix: &str,
    linear: &Linear,
    tensors: &HashMap<String, NamedTensor>,
) -> Result<Linear, ParamError> {
    let device = linear.weight.device();
    let [input, output] = linear.weight.dims();
    let weight = kernel_from_pytorch(
        tensors,
        &format!("{prefix}.weight"),
        [input, output],
        &device,
    )?;
    let bias = get(tensors, &format!("{prefix}.bias"), &[output])?;
    Ok(Linear {
        weight,
        bias: Some(vector(bias.values.clone(), &device)),
    })
}

fn lstm_from_pytorch(
    prefix: &str,
    suffix: &str,
    lstm: &FusedLstm,
    tensors: &HashMap<String, NamedTensor>,
) -> Result<FusedLstm, ParamError> {
    let device = lstm.w_ih.device();
    let (input, hidden) = (lstm.input(), lstm.hidden());
    let w_ih = kernel_from_pytorch(
        tensors,
        &format!("{prefix}.weight_ih_l0{suffix}"),
        [input, 4 * hidden],
        &device,
    )?;
    let w_hh = kernel_from_pytorch(
        tensors,
        &format!("{prefix}.weight_hh_l0{suffix}"),
        [hidden, 4 * hidden],
        &device,
    )?;
    let b_ih = get(
        tensors,
        &format!("{prefix}.bias_ih_l0{suffix}"),
        &[4 * hidden],
    )?;
    let b_hh = get(
        tensors,
        &format!("{prefix}.bias_hh_l0{suffix}"),
        &[4 * hidden],
    )?;
    let bias = b_ih.values.iter().zip(&b_hh.values).map(|(a, b)| a + b);
    Ok(FusedLstm {
        w_ih,
        w_hh,
        bias: vector(bias.collect(), &device),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        CnnConfig, Input, InputLayer, LstmClassifierConfig, MeanEmbeddingConfig, MlpConfig,
        SeqBatch,
    };

    fn models(device: &Device) -> Vec<Classifier> {
        let embedding = || crate::init::normal([7, 4], 1.0, &mut crate::init::rng(1), device);
        let trained = || InputLayer::Embedding {
            matrix: embedding(),
            trainable: true,
        };
        vec![
            Classifier::MeanEmbedding(MeanEmbeddingConfig::new(3).init(embedding(), 2, device)),
            Classifier::Lstm(
                LstmClassifierConfig::new(3)
                    .with_hidden(5)
                    .with_dropout(0.0)
                    .init(InputLayer::frozen(embedding()), 3, device),
            ),
            Classifier::Lstm(
                LstmClassifierConfig::new(3)
                    .with_hidden(5)
                    .with_layers(1)
                    .init(trained(), 4, device),
            ),
            Classifier::Mlp(
                MlpConfig::new(3, 3)
                    .with_hidden(6)
                    .init(trained(), 5, device),
            ),
            Classifier::Lstm(
                LstmClassifierConfig::new(3)
                    .with_hidden(5)
                    .with_bidirectional(true)
                    .with_state(crate::StateChoice::Attention)
                    .init(InputLayer::frozen(embedding()), 6, device),
            ),
            // The ids read as the pixels of a 1×3 image; biases of 1 keep ReLU from zeroing all.
            Classifier::Cnn({
                let mut m =
                    CnnConfig::new(3, 1, 3, vec![2, 4], vec![1, 1], vec![1, 1]).init(7, device);
                for conv in &mut m.convs {
                    let [out, ..] = conv.weight.dims();
                    conv.bias = Some(Param::from_tensor(Tensor::ones([out], device)));
                }
                m
            }),
        ]
    }

    fn logits(m: &Classifier, device: &Device) -> Vec<f32> {
        let ids = Tensor::from_data(TensorData::new(vec![1i64, 2, 3, 6, 0, 0], [2, 3]), device);
        let batch = SeqBatch {
            input: Input::Ids(ids),
            lengths: vec![3, 1],
        };
        m.forward(&batch)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap_or_default()
    }

    #[test]
    fn pytorch_names_and_shapes() {
        let device = Device::flex();
        let [v1, v2, _, mlp, bidirectional, cnn] =
            <[Classifier; 6]>::try_from(models(&device)).expect("models");
        let shapes = |m: &Classifier, e| -> Vec<(String, Vec<usize>)> {
            m.to_pytorch(e)
                .expect("export")
                .into_iter()
                .map(|t| (t.name, t.shape))
                .collect()
        };
        let s = |n: &str, shape: &[usize]| (n.to_string(), shape.to_vec());
        assert_eq!(
            shapes(&v1, true),
            vec![
                s("embedding.weight", &[7, 4]),
                s("linear.weight", &[3, 4]),
                s("linear.bias", &[3])
            ]
        );
        // One LSTM's four tensors, PyTorch's names (hidden 5: 20 gate rows).
        let lstm = |name: &str, suffix: &str, input: usize| {
            ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
                .into_iter()
                .zip([vec![20, input], vec![20, 5], vec![20], vec![20]])
                .map(|(p, shape)| (format!("{name}.{p}{suffix}"), shape))
                .collect::<Vec<_>>()
        };
        let dense = vec![s("dense.weight", &[3, 5]), s("dense.bias", &[3])];
        assert_eq!(
            shapes(&v2, false),
            [lstm("lstm1", "", 4), lstm("lstm2", "", 5), dense.clone()].concat()
        );
        // PyTorch's names for a bidirectional layer's backward weights; the second layer reads
        // both directions; attention scores as `nn.Linear(H, 1, bias=False)`.
        assert_eq!(
            shapes(&bidirectional, false),
            [
                lstm("lstm1", "", 4),
                lstm("lstm1", "_reverse", 4),
                lstm("lstm2", "", 10),
                vec![s("attention.weight", &[1, 5])],
                dense,
            ]
            .concat()
        );
        // A trained embedding is part of the weights even without `with_embedding`.
        assert_eq!(
            shapes(&mlp, false),
            vec![
                s("embedding.weight", &[7, 4]),
                s("hidden.weight", &[6, 12]),
                s("hidden.bias", &[6]),
                s("output.weight", &[3, 6]),
                s("output.bias", &[3]),
            ]
        );
        // `nn.Conv2d`'s `[out, in, kh, kw]`; the dense layer reads 4 channels × 1×3 pixels.
        assert_eq!(
            shapes(&cnn, true),
            vec![
                s("conv1.weight", &[2, 1, 1, 1]),
                s("conv1.bias", &[2]),
                s("conv2.weight", &[4, 2, 1, 1]),
                s("conv2.bias", &[4]),
                s("dense.weight", &[3, 12]),
                s("dense.bias", &[3]),
            ]
        );
    }

    #[test]
    fn round_trip_gives_identical_logits_and_rejects_misfits() {
        let device = Device::flex();
        for (source, mut target) in models(&device).into_iter().zip(
            // Same architecture, other seeds: different weights until loaded.
            models(&device).into_iter().map(|m| match m {
                Classifier::MeanEmbedding(mut m) => {
                    m.linear.weight = Param::from_tensor(m.linear.weight.val() * 2.0);
                    Classifier::MeanEmbedding(m)
                }
                Classifier::Lstm(mut m) => {
                    m.dense.weight = Param::from_tensor(m.dense.weight.val() * 2.0);
                    if let Some(r) = m.reverse.as_mut() {
                        r.w_ih = Param::from_tensor(r.w_ih.val() * 2.0);
                    }
                    if let Some(a) = m.attention.as_mut() {
                        a.weight = Param::from_tensor(a.weight.val() * 2.0);
                    }
                    if let Some(e) = m.embedding.as_mut().filter(|_| m.embedding_trainable) {
                        e.weight = Param::from_tensor(e.weight.val() * 2.0);
                    }
                    Classifier::Lstm(m)
                }
                Classifier::Mlp(mut m) => {
                    m.output.weight = Param::from_tensor(m.output.weight.val() * 2.0);
                    Classifier::Mlp(m)
                }
                Classifier::Cnn(mut m) => {
                    m.convs[1].weight = Param::from_tensor(m.convs[1].weight.val() * 2.0);
                    Classifier::Cnn(m)
                }
            }),
        ) {
            assert_ne!(logits(&source, &device), logits(&target, &device));
            let exported = source.to_pytorch(true).expect("export");
            let name = exported.last().expect("a tensor").name.clone();
            let tensors: HashMap<_, _> =
                exported.into_iter().map(|t| (t.name.clone(), t)).collect();
            target.load_pytorch(&tensors).expect("import");
            assert_eq!(logits(&source, &device), logits(&target, &device));

            let mut wrong = tensors.clone();
            if let Some(t) = wrong.get_mut(&name) {
                t.shape.push(1);
            }
            assert!(matches!(
                target.load_pytorch(&wrong),
                Err(ParamError::Shape { .. })
            ));
            wrong.remove(&name);
            let missing = target.load_pytorch(&wrong).expect_err("missing");
            assert!(
                matches!(missing, ParamError::Missing(ref n) if *n == name),
                "{missing}"
            );
            let mut extra = tensors.clone();
            extra.insert(
                "lstm9.weight".into(),
                NamedTensor {
                    name: "lstm9.weight".into(),
                    shape: vec![1],
                    values: vec![0.0],
                },
            );
            assert!(matches!(
                target.load_pytorch(&extra),
                Err(ParamError::Unexpected(_))
            ));
        }
    }
}
