//! safetensors in PyTorch's layout (`load_state_dict` takes it unchanged), with the metadata to
//! rebuild and tokenise, and a SHA-256 of the tensors so a damaged file is caught on load.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use emojify_model::pytorch_names::NamedTensor;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use sha2::{Digest, Sha256};

use crate::run::open::TrainedRun;
use crate::usage::export::metadata::{metadata, single};

/// Metadata key of the tensors' checksum.
pub const CHECKSUM_KEY: &str = "emojify.tensors_sha256";

/// SHA-256 over every tensor's name, shape and little-endian values, in name order.
fn checksum<'a>(tensors: impl IntoIterator<Item = (&'a str, &'a [usize], &'a [u8])>) -> String {
    let mut sorted: Vec<_> = tensors.into_iter().collect();
    sorted.sort_by_key(|(name, _, _)| *name);
    let mut hasher = Sha256::new();
    for (name, shape, bytes) in sorted {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        for d in shape {
            hasher.update((*d as u64).to_le_bytes());
        }
        hasher.update(bytes);
    }
    emojify_data::hash::hex(hasher.finalize().as_slice())
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The run's model as safetensors bytes.
pub fn to_safetensors(run: &TrainedRun, with_embedding: bool) -> anyhow::Result<Vec<u8>> {
    // A vocabulary built from the training data has no other home than this file.
    let with_embedding = with_embedding || crate::inputs::embedding::stores_embedding(&run.config);
    let tensors = single(run)?.to_pytorch(with_embedding)?;
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|t| le_bytes(&t.values)).collect();
    let mut info: HashMap<String, String> = metadata(&run.config, &run.embeddings, with_embedding)
        .into_iter()
        .collect();
    info.insert(
        CHECKSUM_KEY.into(),
        checksum(
            tensors
                .iter()
                .zip(&bytes)
                .map(|(t, b)| (t.name.as_str(), t.shape.as_slice(), b.as_slice())),
        ),
    );
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            Ok((
                t.name.clone(),
                TensorView::new(Dtype::F32, t.shape.clone(), b)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    Ok(safetensors::serialize(views, Some(info))?)
}

/// A safetensors file read back: its metadata and its tensors.
pub struct WeightsFile {
    pub metadata: HashMap<String, String>,
    pub tensors: HashMap<String, NamedTensor>,
}

impl WeightsFile {
    /// Reads and verifies `path`: a truncated or altered file is an error, never loaded.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let buffer = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let parsed = SafeTensors::deserialize(&buffer).map_err(|e| {
            anyhow::anyhow!(
                "{}: not a valid safetensors file ({e}); was it truncated?",
                path.display()
            )
        })?;
        let (_, header) = SafeTensors::read_metadata(&buffer)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let views = parsed.tensors();
        let expected = metadata.get(CHECKSUM_KEY).with_context(|| {
            format!(
                "{}: no `{CHECKSUM_KEY}` in its metadata: not written by `emojify export`",
                path.display()
            )
        })?;
        let found = checksum(
            views
                .iter()
                .map(|(name, v)| (name.as_str(), v.shape(), v.data())),
        );
        anyhow::ensure!(
            &found == expected,
            "{}: tensor data does not match its checksum (file corrupted?)",
            path.display()
        );
        let mut tensors = HashMap::new();
        for (name, view) in views {
            anyhow::ensure!(
                view.dtype() == Dtype::F32,
                "{}: tensor `{name}` is {:?}, expected F32",
                path.display(),
                view.dtype()
            );
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.insert(
                name.clone(),
                NamedTensor {
                    name,
                    shape: view.shape().to_vec(),
                    values,
                },
            );
        }
        Ok(WeightsFile { metadata, tensors })
    }

    pub fn get(&self, key: &str) -> anyhow::Result<&str> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .with_context(|| format!("metadata lacks `{key}`"))
    }
}
