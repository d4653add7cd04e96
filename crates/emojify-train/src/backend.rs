//! Backend selection. burn 0.22 picks the backend at run time through `Device`; this is the
//! one place that knows the names, and the one place the ndarray deprecation is silenced.

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use burn::prelude::Device;
use burn::tensor::DeviceKind;
use serde::{Deserialize, Serialize};

/// The CPU and GPU backends a run can use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// Which wgpu adapter to use: `default`, `discrete:N`, `integrated:N`, `virtual:N` or `cpu`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WgpuChoice {
    /// wgpu's own pick (high-power GPU first; `CUBECL_WGPU_DEFAULT_DEVICE` overrides).
    #[default]
    Default,
    Discrete(usize),
    Integrated(usize),
    Virtual(usize),
    /// A CPU adapter, such as Mesa's lavapipe.
    Cpu,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "wgpu found no usable adapter for `{choice}`: {message}\n\
         Without a GPU, install Mesa's software Vulkan driver (apt-get install mesa-vulkan-drivers libvulkan1), \
         choose another adapter with --wgpu-device (default, discrete:N, integrated:N, virtual:N, cpu), \
         or use --backend flex"
    )]
    NoAdapter { choice: WgpuChoice, message: String },
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ndarray => "ndarray",
            BackendKind::Flex => "flex",
            BackendKind::Wgpu => "wgpu",
        }
    }

    /// The inference device for this backend (call `.autodiff()` on it to train). For wgpu
    /// the adapter is requested now, so a missing one is an error here, not a panic later.
    pub fn device(self, wgpu: WgpuChoice) -> Result<Device, BackendError> {
        Ok(match self {
            #[allow(deprecated)] // burn 0.22 deprecates ndarray; the project still offers it.
            BackendKind::Ndarray => Device::ndarray(),
            BackendKind::Flex => Device::flex(),
            BackendKind::Wgpu => wgpu_device(wgpu)?,
        })
    }
}

/// wgpu's runtime for an adapter can be initialised once per process, so initialised devices
/// are kept and handed out again.
fn wgpu_device(choice: WgpuChoice) -> Result<Device, BackendError> {
    static DEVICES: Mutex<Vec<(WgpuChoice, Device)>> = Mutex::new(Vec::new());
    let mut devices = DEVICES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, device)) = devices.iter().find(|(c, _)| *c == choice) {
        return Ok(device.clone());
    }
    let device = Device::wgpu_options()
        .device_kind(choice.kind())
        .init()
        .map_err(|e| BackendError::NoAdapter {
            choice,
            message: e.to_string(),
        })?;
    devices.push((choice, device.clone()));
    Ok(device)
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [BackendKind::Ndarray, BackendKind::Flex, BackendKind::Wgpu]
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| format!("unknown backend `{s}` (expected ndarray, flex or wgpu)"))
    }
}

impl WgpuChoice {
    fn kind(self) -> DeviceKind {
        match self {
            WgpuChoice::Default => DeviceKind::DefaultDevice,
            WgpuChoice::Discrete(n) => DeviceKind::DiscreteGpu(n),
            WgpuChoice::Integrated(n) => DeviceKind::IntegratedGpu(n),
            WgpuChoice::Virtual(n) => DeviceKind::VirtualGpu(n),
            WgpuChoice::Cpu => DeviceKind::Cpu,
        }
    }
}

impl fmt::Display for WgpuChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WgpuChoice::Default => f.write_str("default"),
            WgpuChoice::Discrete(n) => write!(f, "discrete:{n}"),
            WgpuChoice::Integrated(n) => write!(f, "integrated:{n}"),
            WgpuChoice::Virtual(n) => write!(f, "virtual:{n}"),
            WgpuChoice::Cpu => f.write_str("cpu"),
        }
    }
}

impl FromStr for WgpuChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, index) = match s.split_once(':') {
            Some((k, n)) => (
                k,
                n.parse::<usize>()
                    .map_err(|_| format!("`{n}` in `{s}` is not an adapter index"))?,
            ),
            None => (s, 0),
        };
        match kind {
            "default" => Ok(WgpuChoice::Default),
            "discrete" => Ok(WgpuChoice::Discrete(index)),
            "integrated" => Ok(WgpuChoice::Integrated(index)),
            "virtual" => Ok(WgpuChoice::Virtual(index)),
            "cpu" => Ok(WgpuChoice::Cpu),
            _ => Err(format!(
                "unknown wgpu device `{s}` (expected default, discrete:N, integrated:N, virtual:N or cpu)"
            )),
        }
    }
}

impl Serialize for WgpuChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WgpuChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wgpu_choices_round_trip() {
        for s in ["default", "discrete:1", "integrated:0", "virtual:2", "cpu"] {
            let c: WgpuChoice = s.parse().expect(s);
            assert_eq!(c.to_string(), s);
        }
        assert_eq!(
            "discrete".parse::<WgpuChoice>(),
            Ok(WgpuChoice::Discrete(0))
        );
        assert!("gpu:1".parse::<WgpuChoice>().is_err());
        assert!("discrete:x".parse::<WgpuChoice>().is_err());
        for b in ["ndarray", "flex", "wgpu"] {
            assert_eq!(b.parse::<BackendKind>().map(|k| k.name()), Ok(b));
        }
        assert!("cuda".parse::<BackendKind>().is_err());
    }
}
