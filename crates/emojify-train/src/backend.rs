//! Backend selection. burn 0.22 picks the backend at run time through `Device`; this is the
//! one place that knows the names, and the one place the ndarray deprecation is silenced.

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

/// The CPU and GPU backends a run can use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// burn-ndarray (CPU); deprecated upstream in favour of flex, kept because users asked.
    Ndarray,
    /// burn-flex (pure-Rust CPU).
    #[default]
    Flex,
    /// wgpu (Vulkan/Metal/DX12; Mesa's lavapipe without a GPU).
    Wgpu,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ndarray => "ndarray",
            BackendKind::Flex => "flex",
            BackendKind::Wgpu => "wgpu",
        }
    }

    /// The inference device for this backend; call `.autodiff()` on it to train.
    pub fn device(self) -> Device {
        match self {
            #[allow(deprecated)] // burn 0.22 deprecates ndarray; the project still offers it.
            BackendKind::Ndarray => Device::ndarray(),
            BackendKind::Flex => Device::flex(),
            BackendKind::Wgpu => Device::wgpu(Default::default()),
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
