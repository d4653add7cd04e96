//! The flags that override a config's fields, applied to a [`RunConfig`] in one place.

use std::path::PathBuf;

use clap::Args;
use emojify_train::backend::{BackendKind, WgpuChoice};
use emojify_train::config::RunConfig;

/// Config overrides shared by the commands that train.
#[derive(Args, Debug, Default, Clone)]
pub struct Overrides {
    /// Backend: ndarray, flex or wgpu.
    #[arg(long)]
    pub backend: Option<BackendKind>,
    /// wgpu adapter: default, discrete:N, integrated:N, virtual:N or cpu.
    #[arg(long)]
    pub wgpu_device: Option<WgpuChoice>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub epochs: Option<u64>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: Option<u64>,
    /// Parent directory for run directories (default: the config's `out`, else `runs`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Directory searched first for data files.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl Overrides {
    /// Writes every given override into `config`.
    pub fn apply(&self, config: &mut RunConfig) {
        if let Some(b) = self.backend {
            config.backend = b;
        }
        if let Some(w) = self.wgpu_device {
            config.wgpu_device = w;
        }
        if let Some(e) = self.epochs {
            config.train.epochs = e as usize;
        }
        if let Some(s) = self.seed {
            config.seed = s;
        }
        if let Some(b) = self.batch_size {
            config.train.batch_size = b as usize;
        }
        if let Some(o) = &self.out {
            config.out = o.clone();
        }
        if let Some(d) = &self.data_dir {
            config.data_dir = Some(d.clone());
        }
    }
}
