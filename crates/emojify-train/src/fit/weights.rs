//! Where weights are written and read: a model's parameters as burnpack bytes (run directories,
//! checkpoints), without a pretrained embedding, which is identified by source and SHA-256
//! instead of being copied.

use anyhow::Context;
use burn::store::{BurnpackStore, ModuleSnapshot, PathFilter};
use emojify_model::Classifier;

/// Keeps trainable parameters only: the frozen embedding is identified by source and SHA-256
/// in the run's summary instead of being copied into every checkpoint.
fn trainable_only(path: &str, _container: &str) -> bool {
    !path.ends_with("embedding.weight")
}

fn everything(_path: &str, _container: &str) -> bool {
    true
}

/// What a weights file holds: everything but a pretrained embedding (see [`stores_embedding`]).
fn weights_filter(with_embedding: bool) -> fn(&str, &str) -> bool {
    if with_embedding {
        everything
    } else {
        trainable_only
    }
}

/// The model's weights as burnpack bytes; the embedding only `with_embedding`.
pub fn weights_bytes(model: &Classifier, with_embedding: bool) -> anyhow::Result<Vec<u8>> {
    let mut store = BurnpackStore::from_bytes(None)
        .filter(PathFilter::new().with_predicate(weights_filter(with_embedding)));
    model
        .save_into(&mut store)
        .map_err(|e| anyhow::anyhow!("serialising weights: {e}"))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| anyhow::anyhow!("serialising weights: {e}"))?;
    Ok(bytes.to_vec())
}

/// Loads trainable weights saved by [`weights_bytes`] into `model`.
pub fn load_weights(
    model: &mut Classifier,
    path: &std::path::Path,
    with_embedding: bool,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    load_weights_bytes(model, bytes, &path.display().to_string(), with_embedding)
}

/// [`load_weights`] from bytes; `what` names them in errors. Parameter ids are restored too,
/// which is what lets a checkpoint's optimizer state find its parameters again.
pub fn load_weights_bytes(
    model: &mut Classifier,
    bytes: Vec<u8>,
    what: &str,
    with_embedding: bool,
) -> anyhow::Result<()> {
    let path = std::path::Path::new(what);
    let keep = weights_filter(with_embedding);
    let mut store = BurnpackStore::from_bytes(Some(burn::tensor::Bytes::from_bytes_vec(bytes)))
        .filter(PathFilter::new().with_predicate(keep))
        .allow_partial(true);
    let result = model
        .load_from(&mut store)
        .map_err(|e| anyhow::anyhow!("{}: not a valid weights file: {e}", path.display()))?;
    anyhow::ensure!(
        result.errors.is_empty(),
        "{}: weights do not fit this model ({:?})",
        path.display(),
        result.errors
    );
    let missing: Vec<_> = result.missing.iter().filter(|(p, _)| keep(p, "")).collect();
    anyhow::ensure!(
        missing.is_empty(),
        "{}: weights file lacks {:?} (was it written for another model?)",
        path.display(),
        missing
    );
    Ok(())
}
