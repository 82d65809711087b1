//! The built-in check catalog: item metadata from `catalog.toml` (copied from the shared spec, ids are the
//! public CustomerPolicyItemIds). The check logic lives in the Rego files under `policy/`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ComplianceError;

const BUILTIN_TOML: &str = include_str!("../catalog.toml");

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

    /// The Rego package holding this asset type's rules (`data.shipshape.<pkg>.c<id>`).
    pub(crate) fn rego_package(self) -> &'static str {
        match self {
            AssetType::Container => "container",
            AssetType::Image => "image",
            AssetType::Host => "host",
            AssetType::K8s => "k8s",
            AssetType::Containerd => "containerd",
            AssetType::ContainerdContainer => "containerd_container",
        }
    }
}

impl fmt::Display for AssetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AssetType {
    type Err = ComplianceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AssetType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| ComplianceError::UnknownAssetType(s.to_string()))
    }
}

/// One check item ("policy item" in TCSS).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogItem {
    /// CustomerPolicyItemId.
    pub id: u64,
    pub asset_type: AssetType,
    pub category: String,
    pub name: String,
    pub cis: String,
    /// TCSS RiskLevel (`RISK_CRITICAL` ... `RISK_NOTICE`).
    pub risk: String,
    pub evidence: Vec<String>,
    pub pass_condition: String,
    pub fix_suggestion: String,
    pub privilege: String,
    pub sandbox: String,
}

#[derive(Deserialize)]
struct CatalogFile {
    schema_version: u32,
    item: Vec<CatalogItem>,
}

/// The check catalog, ordered by item id.
#[derive(Debug, Clone)]
pub struct Catalog {
    items: BTreeMap<u64, CatalogItem>,
}

impl Catalog {
    /// The catalog embedded in this crate.
    pub fn builtin() -> Catalog {
        // The embedded file is checked by a unit test, so a parse failure here is a build defect.
        Catalog::from_toml(BUILTIN_TOML).expect("embedded catalog.toml is valid")
    }

    /// Parses a catalog of the same shape (operators may ship their own subset).
    pub fn from_toml(text: &str) -> Result<Catalog, ComplianceError> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| ComplianceError::Catalog(e.to_string()))?;
        if file.schema_version != 1 {
            return Err(ComplianceError::Catalog(format!("unsupported schema_version {}", file.schema_version)));
        }
        let mut items = BTreeMap::new();
        for item in file.item {
            let id = item.id;
            if items.insert(id, item).is_some() {
                return Err(ComplianceError::Catalog(format!("duplicate item id {id}")));
            }
        }
        Ok(Catalog { items })
    }

    pub fn items(&self) -> impl Iterator<Item = &CatalogItem> {
        self.items.values()
    }

    pub fn get(&self, id: u64) -> Option<&CatalogItem> {
        self.items.get(&id)
    }

    pub fn items_for(&self, asset_type: AssetType) -> impl Iterator<Item = &CatalogItem> {
        self.items.values().filter(move |i| i.asset_type == asset_type)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_has_all_items() {
        let c = Catalog::builtin();
        assert_eq!(c.len(), 102);
        let count = |t| c.items_for(t).count();
        assert_eq!(count(AssetType::Host), 28);
        assert_eq!(count(AssetType::Container), 27);
        assert_eq!(count(AssetType::Image), 7);
        assert_eq!(count(AssetType::K8s), 25);
        assert_eq!(count(AssetType::Containerd), 5);
        assert_eq!(count(AssetType::ContainerdContainer), 10);
        assert_eq!(c.get(2026).map(|i| i.risk.as_str()), Some("RISK_HIGH"));
    }

    /// The embedded copy must keep the shared catalog's ids and metadata exactly.
    #[test]
    fn embedded_catalog_matches_shared_spec() {
        let shared = crate::test_support::shared_dir().join("spec/compliance/catalog.toml");
        let Ok(text) = std::fs::read_to_string(&shared) else {
            println!("skipped: {} not found", shared.display());
            return;
        };
        let theirs = Catalog::from_toml(&text).unwrap();
        let ours = Catalog::builtin();
        let a: Vec<_> = theirs.items().map(|i| (i.id, i.asset_type, i.name.clone(), i.risk.clone())).collect();
        let b: Vec<_> = ours.items().map(|i| (i.id, i.asset_type, i.name.clone(), i.risk.clone())).collect();
        assert_eq!(a, b);
    }
}
