//! The built-in check catalog: item metadata from `catalog.toml` (copied from the shared spec, ids are the
//! public CustomerPolicyItemIds). The check logic lives in `compliance`'s Rego files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::asset_type::AssetType;
use crate::error::CatalogError;

const BUILTIN_TOML: &str = include_str!("../catalog.toml");

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
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| CatalogError::Invalid(e.to_string()))?;
        if file.schema_version != 1 {
            return Err(CatalogError::Invalid(format!("unsupported schema_version {}", file.schema_version)));
        }
        let mut items = BTreeMap::new();
        for item in file.item {
            let id = item.id;
            if items.insert(id, item).is_some() {
                return Err(CatalogError::Invalid(format!("duplicate item id {id}")));
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
