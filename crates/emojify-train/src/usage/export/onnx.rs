//! A standard ONNX graph (opset 13) of the trained model, built with the `onnx-protobuf` crate's
//! generated messages: `Gather` → `LSTM`… (`Concat` with the masked mean under `word_mean`) →
//! `Gemm` → `Softmax` for V2, a masked mean → `Gemm` →
//! `Softmax` for V1, `Flatten` → `Gemm` → `Relu` → `Gemm` → `Softmax` for the MLP, `Reshape` →
//! (`Conv` → `Relu` → `MaxPool`)… → `Flatten` → `Gemm` → `Softmax` for the CNN. Input: int64
//! token ids `[batch, max_len]` (`token_ids`), or for numbers (sequences, an image's pixels in
//! row-major order, scaled to [0, 1]) float `values` `[batch, max_len, 1]`; output:
//! probabilities `[batch, classes]`.

use std::collections::HashMap;

use anyhow::Context;
use emojify_model::pytorch_names::{NamedTensor, lstm_name};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::tensor_shape_proto::{Dimension, dimension};
use onnx_protobuf::type_proto;
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use protobuf::{EnumOrUnknown, MessageField};

use crate::config::{ModelConfig, RunConfig};
use crate::run::open::TrainedRun;
use crate::usage::export::metadata::{metadata, single};
use emojify_model::pytorch_names::conv_name;

pub const OPSET: i64 = 13;
/// IR version 7 is the one that goes with opset 13.
const IR_VERSION: i64 = 7;
pub const INPUT: &str = "token_ids";
/// The input of numeric-sequence models.
pub const VALUES_INPUT: &str = "values";
pub const OUTPUT: &str = "probabilities";

/// The run's model as ONNX bytes (the embedding is always included: the graph looks words up).
pub fn to_onnx(run: &TrainedRun) -> anyhow::Result<Vec<u8>> {
    let tensors: HashMap<String, NamedTensor> = single(run)?
        .to_pytorch(true)?
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect();
    let classes = run.config.num_classes();
    let max_len = run.config.data.max_len;
    let mut g = Graph::default();
    let numbers = run.config.data.kind.numeric();
    if numbers {
        g.input(VALUES_INPUT, DataType::FLOAT, &[max_len, 1]);
        g.node("Identity", &[VALUES_INPUT], &["embedded"], vec![]);
    } else {
        g.input(INPUT, DataType::INT64, &[max_len]);
        g.parameter(take(&tensors, "embedding.weight")?);
        g.node(
            "Gather",
            &["embedding.weight", INPUT],
            &["embedded"],
            vec![int("axis", 0)],
        );
    }
    g.output(OUTPUT, DataType::FLOAT, classes);
    let logits_input = match &run.config.model {
        ModelConfig::MeanEmbedding {} => {
            masked_mean(&mut g);
            g.parameter(take(&tensors, "linear.weight")?);
            g.parameter(take(&tensors, "linear.bias")?);
            ["mean", "linear.weight", "linear.bias"]
        }
        ModelConfig::Lstm {
            layers,
            state,
            bidirectional,
            word_mean,
            ..
        } => {
            anyhow::ensure!(
                !bidirectional && !state.pools(),
                "ONNX export covers one-directional LSTMs read at the last step or the last \
                 token; this run has `bidirectional = {bidirectional}`, `state = {state:?}` \
                 (safetensors export covers every model)"
            );
            // Numeric rows have no padding: their last token is the last step.
            let state = if numbers {
                emojify_model::StateChoice::LastStep
            } else {
                *state
            };
            lstm_stack(&mut g, &tensors, *layers, state)?;
            g.parameter(take(&tensors, "dense.weight")?);
            g.parameter(take(&tensors, "dense.bias")?);
            if *word_mean {
                // The dense layer reads the state, then the mean input vector.
                if numbers {
                    g.node(
                        "ReduceMean",
                        &["embedded"],
                        &["mean"],
                        vec![ints("axes", &[1]), int("keepdims", 0)],
                    );
                } else {
                    masked_mean(&mut g);
                }
                g.node(
                    "Concat",
                    &["last_hidden", "mean"],
                    &["features"],
                    vec![int("axis", 1)],
                );
                ["features", "dense.weight", "dense.bias"]
            } else {
                ["last_hidden", "dense.weight", "dense.bias"]
            }
        }
        ModelConfig::Mlp { .. } => {
            for name in [
                "hidden.weight",
                "hidden.bias",
                "output.weight",
                "output.bias",
            ] {
                g.parameter(take(&tensors, name)?);
            }
            g.node("Flatten", &["embedded"], &["flat"], vec![int("axis", 1)]);
            g.node(
                "Gemm",
                &["flat", "hidden.weight", "hidden.bias"],
                &["hidden_pre"],
                vec![int("transB", 1)],
            );
            g.node("Relu", &["hidden_pre"], &["hidden_act"], vec![]);
            ["hidden_act", "output.weight", "output.bias"]
        }
        ModelConfig::Cnn { pools, .. } => {
            convolutions(&mut g, &tensors, &run.config, pools)?;
            g.parameter(take(&tensors, "dense.weight")?);
            g.parameter(take(&tensors, "dense.bias")?);
            ["flat", "dense.weight", "dense.bias"]
        }
    };
    g.node("Gemm", &logits_input, &["logits"], vec![int("transB", 1)]);
    g.node("Softmax", &["logits"], &[OUTPUT], vec![int("axis", 1)]);

    let model = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
            ..Default::default()
        }],
        producer_name: "emojify".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!("emojify run `{}`", run.config.name),
        graph: MessageField::some(g.finish()),
        metadata_props: metadata(&run.config, &run.embeddings, true)
            .into_iter()
            .map(|(key, value)| StringStringEntryProto {
                key,
                value,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    model.write_to_bytes().context("encoding the ONNX protobuf")
}

/// The CNN's layers: the pixels reshaped to `[batch, 1, height, width]`, each convolution
/// (valid padding, stride 1) with ReLU and its max-pooling, then flattened (channel-major, as
/// burn and PyTorch flatten) into `flat`.
fn convolutions(
    g: &mut Graph,
    tensors: &HashMap<String, NamedTensor>,
    config: &RunConfig,
    pools: &[usize],
) -> anyhow::Result<()> {
    let (Some(height), Some(width)) = (config.data.height, config.data.width) else {
        anyhow::bail!("a CNN reads pixels-csv images: the config names no height and width");
    };
    g.initializer(tensor_i64(
        "image_shape",
        &[4],
        &[-1, 1, height as i64, width as i64],
    ));
    g.node("Reshape", &["embedded", "image_shape"], &["x0"], vec![]);
    let mut x = "x0".to_string();
    for i in 0.. {
        let name = conv_name(i);
        let Some(w) = tensors.get(&format!("{name}.weight")) else {
            break;
        };
        let k = w.shape[2] as i64;
        g.parameter(w);
        g.parameter(take(tensors, &format!("{name}.bias"))?);
        let (pre, act) = (format!("{name}.pre"), format!("{name}.act"));
        g.node(
            "Conv",
            &[&x, &format!("{name}.weight"), &format!("{name}.bias")],
            &[&pre],
            vec![ints("kernel_shape", &[k, k])],
        );
        g.node("Relu", &[&pre], &[&act], vec![]);
        x = act;
        let p = pools.get(i).copied().unwrap_or(1) as i64;
        if p > 1 {
            let pooled = format!("{name}.pool");
            g.node(
                "MaxPool",
                &[&x],
                &[&pooled],
                vec![ints("kernel_shape", &[p, p]), ints("strides", &[p, p])],
            );
            x = pooled;
        }
    }
    g.node("Flatten", &[&x], &["flat"], vec![int("axis", 1)]);
    Ok(())
}

/// V1's mean over non-padding tokens: `sum(embedded · mask) / max(count, 1)`.
fn masked_mean(g: &mut Graph) {
    g.initializer(tensor_i64("axis1", &[1], &[1]));
    g.initializer(tensor_i64("axis2", &[1], &[2]));
    g.initializer(tensor_f32("one", &[], &[1.0]));
    is_token(g);
    g.node(
        "Cast",
        &["is_token"],
        &["mask"],
        vec![int("to", DataType::FLOAT as i64)],
    );
    g.node("Unsqueeze", &["mask", "axis2"], &["mask3"], vec![]);
    g.node("Mul", &["embedded", "mask3"], &["masked"], vec![]);
    g.node(
        "ReduceSum",
        &["masked", "axis1"],
        &["summed"],
        vec![int("keepdims", 0)],
    );
    g.node(
        "ReduceSum",
        &["mask", "axis1"],
        &["count"],
        vec![int("keepdims", 1)],
    );
    g.node("Max", &["count", "one"], &["count1"], vec![]);
    g.node("Div", &["summed", "count1"], &["mean"], vec![]);
}

/// `is_token [batch, max_len]` (bool): true where the id is not padding. Made once, however
/// many parts of the graph read it.
fn is_token(g: &mut Graph) {
    if g.has_output("is_token") {
        return;
    }
    g.initializer(tensor_i64("zero_id", &[], &[0]));
    g.node("Equal", &[INPUT, "zero_id"], &["is_padding"], vec![]);
    g.node("Not", &["is_padding"], &["is_token"], vec![]);
}

/// Stacked LSTMs over time-major input; the last one's final state (after the padded steps, or
/// at each row's last token via `sequence_lens`) becomes `last_hidden [batch, H]`.
fn lstm_stack(
    g: &mut Graph,
    tensors: &HashMap<String, NamedTensor>,
    layers: usize,
    state: emojify_model::StateChoice,
) -> anyhow::Result<()> {
    let last_token = state == emojify_model::StateChoice::LastToken;
    g.initializer(tensor_i64("axis0", &[1], &[0]));
    if layers > 1 || last_token {
        g.initializer(tensor_i64("axis1", &[1], &[1]));
    }
    g.node(
        "Transpose",
        &["embedded"],
        &["x0"],
        vec![ints("perm", &[1, 0, 2])],
    );
    if last_token {
        // A row's true length is its count of non-padding ids (at least 1, as in training).
        g.initializer(tensor_i64("one_id", &[], &[1]));
        is_token(g);
        g.node(
            "Cast",
            &["is_token"],
            &["is_token64"],
            vec![int("to", DataType::INT64 as i64)],
        );
        g.node(
            "ReduceSum",
            &["is_token64", "axis1"],
            &["length"],
            vec![int("keepdims", 0)],
        );
        g.node("Max", &["length", "one_id"], &["length1"], vec![]);
        g.node(
            "Cast",
            &["length1"],
            &["sequence_lens"],
            vec![int("to", DataType::INT32 as i64)],
        );
    }
    let layers = layers.max(1);
    for l in 0..layers {
        let name = lstm_name(l);
        let w = take(tensors, &format!("{name}.weight_ih_l0"))?;
        let r = take(tensors, &format!("{name}.weight_hh_l0"))?;
        let b_ih = take(tensors, &format!("{name}.bias_ih_l0"))?;
        let b_hh = take(tensors, &format!("{name}.bias_hh_l0"))?;
        let hidden = r.shape[1];
        let onnx_w = format!("{name}.W");
        let onnx_r = format!("{name}.R");
        let onnx_b = format!("{name}.B");
        g.initializer(tensor_f32(
            &onnx_w,
            &[1, w.shape[0], w.shape[1]],
            &onnx_gate_order(&w.values, hidden),
        ));
        g.initializer(tensor_f32(
            &onnx_r,
            &[1, r.shape[0], r.shape[1]],
            &onnx_gate_order(&r.values, hidden),
        ));
        let mut bias = onnx_gate_order(&b_ih.values, hidden);
        bias.extend(onnx_gate_order(&b_hh.values, hidden));
        g.initializer(tensor_f32(&onnx_b, &[1, bias.len()], &bias));

        let x = format!("x{l}");
        let attrs = vec![int("hidden_size", hidden as i64)];
        if l + 1 < layers {
            let y = format!("{name}.Y");
            g.node("LSTM", &[&x, &onnx_w, &onnx_r, &onnx_b], &[&y], attrs);
            g.node("Squeeze", &[&y, "axis1"], &[&format!("x{}", l + 1)], vec![]);
        } else {
            let y_h = format!("{name}.Y_h");
            let mut inputs = vec![x.as_str(), &onnx_w, &onnx_r, &onnx_b];
            if last_token {
                inputs.push("sequence_lens");
            }
            g.node("LSTM", &inputs, &["", &y_h], attrs);
            g.node("Squeeze", &[&y_h, "axis0"], &["last_hidden"], vec![]);
        }
    }
    Ok(())
}

/// PyTorch's gate blocks (i, f, g, o) along the first axis → ONNX's (i, o, f, c).
fn onnx_gate_order(values: &[f32], hidden: usize) -> Vec<f32> {
    let block = values.len() / 4;
    debug_assert_eq!(block % hidden, 0);
    [0, 3, 1, 2]
        .iter()
        .flat_map(|&gate| &values[gate * block..(gate + 1) * block])
        .copied()
        .collect()
}

fn take<'a>(
    tensors: &'a HashMap<String, NamedTensor>,
    name: &str,
) -> anyhow::Result<&'a NamedTensor> {
    tensors
        .get(name)
        .with_context(|| format!("the model has no tensor `{name}`"))
}

#[derive(Default)]
struct Graph {
    proto: GraphProto,
}

impl Graph {
    fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) {
        let n = self.proto.node.len();
        self.proto.node.push(NodeProto {
            name: format!("{op}_{n}"),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute,
            ..Default::default()
        });
    }

    /// A constant; one of the same name already there is kept (parts of the graph share
    /// their axis constants).
    fn initializer(&mut self, tensor: TensorProto) {
        if self.proto.initializer.iter().all(|t| t.name != tensor.name) {
            self.proto.initializer.push(tensor);
        }
    }

    fn has_output(&self, name: &str) -> bool {
        self.proto
            .node
            .iter()
            .any(|n| n.output.iter().any(|o| o == name))
    }

    /// A model parameter as an initializer under its own name.
    fn parameter(&mut self, t: &NamedTensor) {
        self.initializer(tensor_f32(&t.name, &t.shape, &t.values));
    }

    /// A `[batch, widths…]` graph input or output with a symbolic batch dimension.
    fn value(name: &str, elem: DataType, widths: &[usize]) -> ValueInfoProto {
        let dim = |value| Dimension {
            value: Some(value),
            ..Default::default()
        };
        let mut dims = vec![dim(dimension::Value::DimParam("batch".into()))];
        dims.extend(
            widths
                .iter()
                .map(|&w| dim(dimension::Value::DimValue(w as i64))),
        );
        let shape = TensorShapeProto {
            dim: dims,
            ..Default::default()
        };
        ValueInfoProto {
            name: name.into(),
            type_: MessageField::some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: elem as i32,
                    shape: MessageField::some(shape),
                    ..Default::default()
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn input(&mut self, name: &str, elem: DataType, widths: &[usize]) {
        self.proto.input.push(Self::value(name, elem, widths));
    }

    fn output(&mut self, name: &str, elem: DataType, width: usize) {
        self.proto.output.push(Self::value(name, elem, &[width]));
    }

    fn finish(mut self) -> GraphProto {
        self.proto.name = "emojify".into();
        self.proto
    }
}

fn tensor_f32(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::FLOAT as i32,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

fn tensor_i64(name: &str, dims: &[usize], values: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::INT64 as i32,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: EnumOrUnknown::new(AttributeType::INT),
        i,
        ..Default::default()
    }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: EnumOrUnknown::new(AttributeType::INTS),
        ints: values.to_vec(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_blocks_reordered_for_onnx() {
        // Four gates of hidden 1 with two inputs each: rows i, f, g, o → i, o, f, g.
        let v = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5];
        assert_eq!(
            onnx_gate_order(&v, 1),
            vec![1.0, 1.5, 4.0, 4.5, 2.0, 2.5, 3.0, 3.5]
        );
    }
}
