//! The six TCSS compliance asset types.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::CatalogError;

/// The six TCSS compliance asset types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AssetType {
    #[serde(rename = "ASSET_CONTAINER")]
    Container,
    #[serde(rename = "ASSET_IMAGE")]
    Image,
    #[serde(rename = "ASSET_HOST")]
    Host,
    #[serde(rename = "ASSET_K8S")]
    K8s,
    #[serde(rename = "ASSET_CONTAINERD")]
    Containerd,
    #[serde(rename = "ASSET_CONTAINERD_CONTAINER")]
    ContainerdContainer,
}

impl AssetType {
    pub const ALL: [AssetType; 6] =
        [AssetType::Container, AssetType::Image, AssetType::Host, AssetType::K8s, AssetType::Containerd, AssetType::ContainerdContainer];

    /// The TCSS name, e.g. `ASSET_CONTAINER`.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::Container => "ASSET_CONTAINER",
            AssetType::Image => "ASSET_IMAGE",
            AssetType::Host => "ASSET_HOST",
            AssetType::K8s => "ASSET_K8S",
            AssetType::Containerd => "ASSET_CONTAINERD",
            AssetType::ContainerdContainer => "ASSET_CONTAINERD_CONTAINER",
        }
    }

    /// The TCSS benchmark standard (id, name) the items of this asset type belong to.
    pub fn benchmark_standard(self) -> (u64, &'static str) {
        match self {
            AssetType::Container | AssetType::Image | AssetType::Host => (1, "CIS Docker Benchmark"),
            AssetType::K8s => (2, "CIS Kubernetes Benchmark"),
            AssetType::Containerd | AssetType::ContainerdContainer => (3, "Containerd baseline (CIS Docker-style)"),
        }
    }
}

impl fmt::Display for AssetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AssetType {
    type Err = CatalogError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AssetType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| CatalogError::UnknownAssetType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcss_names_round_trip() {
        for t in AssetType::ALL {
            assert_eq!(t.as_str().parse::<AssetType>().unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert!(matches!("ASSET_POD".parse::<AssetType>(), Err(CatalogError::UnknownAssetType(s)) if s == "ASSET_POD"));
    }
}
