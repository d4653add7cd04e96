//! A pretrained sentence encoder: all-MiniLM-L6-v2, a 6-layer BERT (hidden 384, 12 heads,
//! feed-forward 1536), mean-pooled over the true tokens and L2-normalised as
//! sentence-transformers does. The bytes of its `model.safetensors` come from the caller (this
//! crate never reads files); they are applied through burn's own store (`SafetensorsStore`,
//! key remapping, the PyTorch adapter that transposes linear weights), nothing hand-parsed.
//!
//! Read against tracel-ai's `bert-burn` (their models repository). Taken: the layout — BERT's
//! embeddings as three burn `Embedding`s + `LayerNorm` + dropout, and burn's own
//! `TransformerEncoder` with a padding mask for the layers. Changed: `norm_first = false`, since
//! BERT normalises *after* each residual (`bert-burn` sets `true`, which is another computation);
//! BERT's LayerNorm ε of 1e-12 passed to the layers too (burn's default is 1e-5); weights through
//! burn-store instead of candle with panics on error; no RoBERTa position scheme and no pooler
//! (sentence-transformers pools by the mean). The parity test against `transformers`
//! (`tests/sentence_encoder.rs`) is what decided: embeddings agree within 3e-7. GELU is burn's
//! exact (erf) one, as BERT's. burn's attention fills padded keys with -1e4 before the softmax
//! where `transformers` adds the f32 minimum: both give padded keys a weight of exactly 0, so
//! padding cannot change a sentence's embedding.

use burn::module::Module;
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};

/// Sizes of a BERT encoder, as its `config.json` gives them.
#[derive(Config, Debug, PartialEq)]
pub struct SentenceEncoderConfig {
    #[config(default = 30522)]
    pub vocab_size: usize,
    #[config(default = 512)]
    pub max_position_embeddings: usize,
    #[config(default = 2)]
    pub type_vocab_size: usize,
    #[config(default = 384)]
    pub hidden_size: usize,
    #[config(default = 6)]
    pub num_hidden_layers: usize,
    #[config(default = 12)]
    pub num_attention_heads: usize,
    #[config(default = 1536)]
    pub intermediate_size: usize,
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    #[config(default = 0.1)]
    pub hidden_dropout_prob: f64,
}

/// Why a weights file could not become an encoder.
#[derive(Debug, thiserror::Error)]
pub enum EncoderLoadError {
    #[error("not a readable safetensors file: {0}")]
    Read(String),
    #[error("the file lacks {0:?} (is it a BERT encoder of this size?)")]
    Missing(Vec<String>),
    #[error("tensors that do not fit this encoder: {0}")]
    Mismatch(String),
}

/// BERT's input layer: word + position + token-type embeddings, then LayerNorm.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    pub word_embeddings: Embedding,
    pub position_embeddings: Embedding,
    pub token_type_embeddings: Embedding,
    pub layer_norm: LayerNorm,
    pub dropout: Dropout,
}

#[derive(Module, Debug)]
pub struct SentenceEncoder {
    pub embeddings: BertEmbeddings,
    pub encoder: TransformerEncoder,
}

impl SentenceEncoderConfig {
    /// The sizes from a Hugging Face `config.json` (keys it lacks keep all-MiniLM-L6-v2's).
    pub fn from_hf_json(text: &str) -> Result<Self, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let mut c = SentenceEncoderConfig::new();
        let size = |key: &str, into: &mut usize| -> Result<(), String> {
            if let Some(x) = v.get(key) {
                *into = x
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("`{key}` is not a positive integer: {x}"))?;
            }
            Ok(())
        };
        size("vocab_size", &mut c.vocab_size)?;
        size("max_position_embeddings", &mut c.max_position_embeddings)?;
        size("type_vocab_size", &mut c.type_vocab_size)?;
        size("hidden_size", &mut c.hidden_size)?;
        size("num_hidden_layers", &mut c.num_hidden_layers)?;
        size("num_attention_heads", &mut c.num_attention_heads)?;
        size("intermediate_size", &mut c.intermediate_size)?;
        if let Some(eps) = v.get("layer_norm_eps").and_then(serde_json::Value::as_f64) {
            c.layer_norm_eps = eps;
        }
        if let Some(p) = v
            .get("hidden_dropout_prob")
            .and_then(serde_json::Value::as_f64)
        {
            c.hidden_dropout_prob = p;
        }
        if v.get("hidden_act")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|a| a != "gelu")
        {
            return Err("only `hidden_act = \"gelu\"` (BERT's) is supported".into());
        }
        if !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                c.hidden_size, c.num_attention_heads
            ));
        }
        Ok(c)
    }

    /// A randomly initialised encoder of these sizes (its weights are meant to be loaded).
    pub fn init(&self, device: &Device) -> SentenceEncoder {
        let embedding = |rows| EmbeddingConfig::new(rows, self.hidden_size).init(device);
        SentenceEncoder {
            embeddings: BertEmbeddings {
                word_embeddings: embedding(self.vocab_size),
                position_embeddings: embedding(self.max_position_embeddings),
                token_type_embeddings: embedding(self.type_vocab_size),
                layer_norm: LayerNormConfig::new(self.hidden_size)
                    .with_epsilon(self.layer_norm_eps)
                    .init(device),
                dropout: DropoutConfig::new(self.hidden_dropout_prob).init(),
            },
            encoder: TransformerEncoderConfig::new(
                self.hidden_size,
                self.intermediate_size,
                self.num_attention_heads,
                self.num_hidden_layers,
            )
            .with_norm_first(false)
            .with_dropout(self.hidden_dropout_prob)
            .with_layer_norm_eps(self.layer_norm_eps)
            .init(device),
        }
    }
}

impl SentenceEncoder {
    /// Each token's final state `[batch, len, hidden]` for ids `[batch, len]` and the attention
    /// mask (1 = token, 0 = padding); every token has type 0, as for single sentences.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<3> {
        let [batch, len] = ids.dims();
        let device = ids.device();
        let positions = Tensor::<1, Int>::arange(0..len as i64, &device)
            .reshape([1, len])
            .expand([batch, len]);
        let types = Tensor::<2, Int>::zeros([batch, len], &device);
        let e = &self.embeddings;
        let x = e.word_embeddings.forward(ids)
            + e.position_embeddings.forward(positions)
            + e.token_type_embeddings.forward(types);
        let x = e.dropout.forward(e.layer_norm.forward(x));
        let padding = mask.equal_elem(0);
        self.encoder
            .forward(TransformerEncoderInput::new(x).mask_pad(padding))
    }

    /// Sentence embeddings `[batch, hidden]`: the mean of the true tokens' states, L2-normalised
    /// (sentence-transformers' `Pooling(mean)` + `Normalize`).
    pub fn embed(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<2> {
        let states = self.forward(ids, mask.clone());
        let weights = mask.float().unsqueeze_dim::<3>(2); // [B, L, 1]
        let summed = (states * weights.clone()).sum_dim(1).squeeze_dim::<2>(1);
        let counts = weights.sum_dim(1).squeeze_dim::<2>(1).clamp_min(1e-9);
        let mean = summed / counts;
        let norm = mean
            .clone()
            .powi_scalar(2)
            .sum_dim(1)
            .sqrt()
            .clamp_min(1e-12);
        mean / norm
    }

    /// Replaces every parameter with the tensors of a Hugging Face BERT `model.safetensors`
    /// (`embeddings.*`, `encoder.layer.N.*`; the pooler, unused by sentence-transformers, is
    /// ignored). Every parameter must be in the file with its shape.
    pub fn load_hf_safetensors(&mut self, bytes: Vec<u8>) -> Result<(), EncoderLoadError> {
        let layer = r"^encoder\.layer\.(\d+)\.";
        let mut store = SafetensorsStore::from_bytes(Some(bytes))
            .with_from_adapter(PyTorchToBurnAdapter)
            .with_key_remapping(r"^embeddings\.LayerNorm\.", "embeddings.layer_norm.")
            .with_key_remapping(
                format!(r"{layer}attention\.self\.(query|key|value)\."),
                "encoder.layers.$1.mha.$2.",
            )
            .with_key_remapping(
                format!(r"{layer}attention\.output\.dense\."),
                "encoder.layers.$1.mha.output.",
            )
            .with_key_remapping(
                format!(r"{layer}attention\.output\.LayerNorm\."),
                "encoder.layers.$1.norm_1.",
            )
            .with_key_remapping(
                format!(r"{layer}intermediate\.dense\."),
                "encoder.layers.$1.pwff.linear_inner.",
            )
            .with_key_remapping(
                format!(r"{layer}output\.dense\."),
                "encoder.layers.$1.pwff.linear_outer.",
            )
            .with_key_remapping(
                format!(r"{layer}output\.LayerNorm\."),
                "encoder.layers.$1.norm_2.",
            )
            .allow_partial(true);
        let result = self
            .load_from(&mut store)
            .map_err(|e| EncoderLoadError::Read(e.to_string()))?;
        if !result.errors.is_empty() {
            return Err(EncoderLoadError::Mismatch(format!("{:?}", result.errors)));
        }
        if !result.missing.is_empty() {
            return Err(EncoderLoadError::Missing(
                result.missing.into_iter().map(|(path, _)| path).collect(),
            ));
        }
        Ok(())
    }

    /// The hidden size (the sentence embedding's length).
    pub fn hidden_size(&self) -> usize {
        self.embeddings.word_embeddings.weight.dims()[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids_and_mask(
        rows: &[&[i64]],
        len: usize,
        device: &Device,
    ) -> (Tensor<2, Int>, Tensor<2, Int>) {
        let mut ids = Vec::new();
        let mut mask = Vec::new();
        for r in rows {
            ids.extend(
                r.iter()
                    .copied()
                    .chain(std::iter::repeat_n(0, len - r.len())),
            );
            mask.extend((0..len).map(|i| i64::from(i < r.len())));
        }
        let shape = [rows.len(), len];
        (
            Tensor::from_data(TensorData::new(ids, shape), device),
            Tensor::from_data(TensorData::new(mask, shape), device),
        )
    }

    #[test]
    fn embeddings_are_unit_length_and_blind_to_padding() {
        let device = Device::flex();
        let config = SentenceEncoderConfig::from_hf_json(
            r#"{"vocab_size": 20, "hidden_size": 8, "num_attention_heads": 2,
                "num_hidden_layers": 2, "intermediate_size": 16, "max_position_embeddings": 16}"#,
        )
        .expect("config");
        assert_eq!((config.hidden_size, config.num_hidden_layers), (8, 2));
        assert_eq!(config.layer_norm_eps, 1e-12, "BERT's, not burn's default");
        let encoder = config.init(&device);
        let sentence: &[i64] = &[1, 5, 7, 2];
        let (ids, mask) = ids_and_mask(&[sentence], 4, &device);
        let alone = encoder.embed(ids, mask);
        let (ids, mask) = ids_and_mask(&[&[1, 3, 4, 9, 9, 9, 2], sentence], 7, &device);
        let padded = encoder.embed(ids, mask);
        let alone: Vec<f32> = alone.into_data().try_into_vec_as::<f32>().expect("f32");
        let padded: Vec<f32> = padded.into_data().try_into_vec_as::<f32>().expect("f32");
        let worst = alone
            .iter()
            .zip(&padded[8..])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "padding moved the embedding by {worst}");
        let norm: f32 = alone.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        for bad in [
            r#"{"hidden_size": 10, "num_attention_heads": 3}"#,
            r#"{"hidden_act": "relu"}"#,
            "[1",
        ] {
            assert!(SentenceEncoderConfig::from_hf_json(bad).is_err(), "{bad}");
        }
    }
}
