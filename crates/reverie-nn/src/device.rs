//! Which device a run's tensors live on, as a config value: `"cpu"`, `"cuda"` (GPU 0) or
//! `"cuda:N"`.

use std::fmt;
use std::str::FromStr;

use candle_core::Device;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A device named in a config; [`DeviceSpec::device`] opens it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DeviceSpec {
    /// The CPU (candle's threads are set once at start-up, see [`crate::threads`]).
    #[default]
    Cpu,
    /// CUDA GPU number N (needs the `cuda` feature).
    Cuda(usize),
}

impl DeviceSpec {
    /// Opens the device. A CUDA device in a build without the `cuda` feature, or one that
    /// does not exist, is refused with the reason.
    pub fn device(self) -> crate::Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda(ordinal) => {
                if !cfg!(feature = "cuda") {
                    candle_core::bail!(
                        "device = \"{self}\" needs reverie built with the `cuda` feature \
                         (cargo build --release --features cuda); this build has CPU only"
                    );
                }
                Device::new_cuda(ordinal).map_err(|e| {
                    candle_core::Error::Msg(format!("cannot open device \"{self}\": {e}"))
                })
            }
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Cpu => write!(f, "cpu"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl FromStr for DeviceSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("unknown device \"{text}\": use \"cpu\", \"cuda\" or \"cuda:N\"");
        match text.trim() {
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" | "gpu" => Ok(DeviceSpec::Cuda(0)),
            other => match other.strip_prefix("cuda:") {
                Some(n) => n.parse().map(DeviceSpec::Cuda).map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

impl Serialize for DeviceSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_say_what_is_valid() {
        for spec in [DeviceSpec::Cpu, DeviceSpec::Cuda(0), DeviceSpec::Cuda(3)] {
            assert_eq!(spec.to_string().parse::<DeviceSpec>(), Ok(spec));
        }
        assert_eq!("cuda".parse::<DeviceSpec>(), Ok(DeviceSpec::Cuda(0)));
        let err = "tpu".parse::<DeviceSpec>().unwrap_err();
        assert!(err.contains("cuda:N"), "{err}");
        assert!("cuda:x".parse::<DeviceSpec>().is_err());
    }

    #[test]
    fn cpu_opens_and_cuda_without_the_feature_is_refused_clearly() {
        assert!(DeviceSpec::Cpu.device().unwrap().is_cpu());
        if !cfg!(feature = "cuda") {
            let err = DeviceSpec::Cuda(0).device().unwrap_err().to_string();
            assert!(err.contains("`cuda` feature"), "{err}");
        }
    }
}
