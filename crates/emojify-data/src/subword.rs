//! The sentence encoder's tokenizer: all-MiniLM-L6-v2's `tokenizer.json` (BERT WordPiece,
//! lower-cased, `[CLS] … [SEP]`) read by Hugging Face's own `tokenizers` crate, so the ids are the
//! ones `transformers` computes from the same file (`tests/subword.rs` checks them). Truncation
//! and padding are set here, not taken from the file (whose 128-token fixed padding is for
//! another use): at most `max_len` tokens with `[CLS]` and `[SEP]`, a batch padded to its longest
//! row, as sentence-transformers encodes.

use std::path::Path;

use crate::DataError;

/// A tokenizer with the truncation length it was made with.
pub struct SubwordTokenizer {
    inner: tokenizers::Tokenizer,
    max_len: usize,
}

/// A batch of token ids, row-major `[rows, len]`, padded with 0 to its longest row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubwordBatch {
    pub ids: Vec<u32>,
    /// 1 for a real token (special tokens included), 0 for padding.
    pub mask: Vec<u32>,
    pub rows: usize,
    pub len: usize,
    /// Per row: whether tokens past `max_len` were cut.
    pub truncated: Vec<bool>,
}

impl SubwordBatch {
    /// Row `r`'s ids and mask.
    pub fn row(&self, r: usize) -> (&[u32], &[u32]) {
        let span = r * self.len..(r + 1) * self.len;
        (&self.ids[span.clone()], &self.mask[span])
    }
}

impl SubwordTokenizer {
    /// Reads `tokenizer.json`; `max_len` counts `[CLS]` and `[SEP]` (sentence-transformers uses
    /// 256 for all-MiniLM-L6-v2; the model's position table allows 512).
    pub fn from_file(path: &Path, max_len: usize) -> Result<Self, DataError> {
        use tokenizers::{
            PaddingDirection, PaddingParams, PaddingStrategy, TruncationDirection,
            TruncationParams, TruncationStrategy,
        };
        if max_len < 3 {
            return Err(DataError::bad_file(
                path,
                format!("max_len {max_len} leaves no room for a token beside [CLS] and [SEP]"),
            ));
        }
        let bad = |e: tokenizers::Error| DataError::bad_file(path, format!("tokenizer: {e}"));
        if !path.is_file() {
            return Err(DataError::bad_file(path, "not found"));
        }
        let mut inner = tokenizers::Tokenizer::from_file(path).map_err(bad)?;
        let pad_id = inner.token_to_id("[PAD]").unwrap_or(0);
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(bad)?;
        inner.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            direction: PaddingDirection::Right,
            pad_to_multiple_of: None,
            pad_id,
            pad_type_id: 0,
            pad_token: "[PAD]".into(),
        }));
        Ok(SubwordTokenizer { inner, max_len })
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The size of the vocabulary (special tokens included).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Tokenizes `texts` as one padded batch.
    pub fn encode_batch<S: AsRef<str>>(&self, texts: &[S]) -> Result<SubwordBatch, DataError> {
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings = self
            .inner
            .encode_batch(inputs, true)
            .map_err(|e| DataError::Fetch(format!("tokenizing: {e}")))?;
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut batch = SubwordBatch {
            ids: Vec::with_capacity(len * encodings.len()),
            mask: Vec::with_capacity(len * encodings.len()),
            rows: encodings.len(),
            len,
            truncated: Vec::with_capacity(encodings.len()),
        };
        for e in &encodings {
            batch.ids.extend_from_slice(e.get_ids());
            batch.mask.extend_from_slice(e.get_attention_mask());
            batch.truncated.push(!e.get_overflowing().is_empty());
        }
        Ok(batch)
    }

    /// The word pieces of one text, special tokens included (for display and reports).
    pub fn tokens(&self, text: &str) -> Result<Vec<String>, DataError> {
        let e = self
            .inner
            .encode(text, true)
            .map_err(|e| DataError::Fetch(format!("tokenizing: {e}")))?;
        Ok(e.get_tokens().to_vec())
    }
}
