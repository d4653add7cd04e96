//! What both export formats share: the run's one network (an ensemble is refused), the
//! metadata that lets another tool rebuild the model and tokenise as it did, and the vocabulary
//! as a text file.

use emojify_data::Embeddings;

use crate::config::RunConfig;
use crate::inputs::embedding::stores_embedding;
use crate::run::open::TrainedRun;

/// Why an ensemble run cannot be exported: both formats hold one network.
fn ensemble_error(run: &TrainedRun) -> anyhow::Error {
    anyhow::anyhow!(
        "{} is an ensemble of {} networks (`train.ensemble`); safetensors and ONNX exports hold \
         one network each. Train with `train.ensemble = 1` to export, or serve the run itself \
         (`emojify serve --run`)",
        run.dir.path().display(),
        run.config.train.ensemble
    )
}

/// The run's only network; an error for an ensemble.
pub fn single(run: &TrainedRun) -> anyhow::Result<&emojify_model::Classifier> {
    run.model.single().ok_or_else(|| ensemble_error(run))
}

/// How the tokenizer turns text into ids, for other tools (stored in the exports' metadata).
pub const TOKENIZER_RULES: &str = "lower-case; curly quotes to straight; split on whitespace; \
leading/trailing punctuation split into tokens (a run of one repeated character is one token); \
clitics 's 're 've 'll 'd 'm and n't split off (GloVe 6B / Penn Treebank style); \
ids are 1-based lines of vocab.txt after its padding line 0; unknown words are dropped \
(oov = skip) or mapped to the last id (oov = unk); ids are left-aligned, truncated at max_len \
and padded with 0";

/// Key/value metadata both formats carry: enough to rebuild the model and tokenise as it did.
pub fn metadata(
    config: &RunConfig,
    embeddings: &Embeddings,
    with_embedding: bool,
) -> Vec<(String, String)> {
    let kind = config.model.kind_name();
    let json = |v: &[String]| serde_json::Value::from(v.to_vec()).to_string();
    [
        ("emojify.format", "1".to_string()),
        ("emojify.model", kind.to_string()),
        ("emojify.labels", json(&config.data.labels)),
        ("emojify.label_names", json(&config.data.label_names)),
        ("emojify.vocabulary_source", config.embedding.source.clone()),
        ("emojify.vocabulary_sha256", embeddings.sha256.clone()),
        (
            "emojify.vocabulary_size",
            embeddings.vocab.len().to_string(),
        ),
        ("emojify.max_len", config.data.max_len.to_string()),
        (
            "emojify.oov",
            serde_json::to_value(config.data.oov)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
        ),
        ("emojify.tokenizer", TOKENIZER_RULES.to_string()),
        ("emojify.embedding_included", with_embedding.to_string()),
        ("emojify.config", config.to_toml()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(
        // A vocabulary built from the training data has no source to fetch it from.
        stores_embedding(config).then(|| {
            (
                "emojify.vocabulary".to_string(),
                json(embeddings.vocab.words()),
            )
        }),
    )
    .collect()
}

/// The vocabulary as other tools need it: line `i` is the word with id `i` (line 0 is padding,
/// and with `oov = "unk"` the last line is the unknown word).
pub fn vocab_text(config: &RunConfig, embeddings: &Embeddings) -> String {
    let mut out = String::with_capacity(embeddings.vocab.len() * 9);
    out.push_str("<pad>\n");
    for word in embeddings.vocab.words() {
        out.push_str(word);
        out.push('\n');
    }
    if config.data.oov == emojify_data::OovPolicy::Unk {
        out.push_str("<unk>\n");
    }
    out
}
