//! Compliance checks for Shipshape: the CIS-based catalog (`catalog.toml`, ids are TCSS CustomerPolicyItemIds),
//! the check logic in Rego (`policy/*.rego`, evaluated with regorus, compiled once), and the collectors that
//! turn Docker, containerd and Kubernetes node state into Rego input. No HTTP, no SQL: the service and store
//! crates persist assets and results.

mod asset;
mod catalog;
mod discover;
mod engine;
mod error;
pub mod facts;
pub mod report;
mod result;

pub use asset::Asset;
pub use catalog::{AssetType, Catalog, CatalogItem};
pub use discover::{ContainerdSource, Inventory, K8sSource, Sources, asset_from_facts, discover, refresh};
pub use engine::Engine;
pub use error::{CollectError, ComplianceError};
pub use facts::host::CheckConfig;
pub use result::{CheckResult, CheckStatus, Evaluation, ItemResult, NotApplicable};

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    /// `../shared` relative to the repo root, or `SHIPSHAPE_SHARED`.
    pub fn shared_dir() -> PathBuf {
        if let Ok(p) = std::env::var("SHIPSHAPE_SHARED") {
            return PathBuf::from(p);
        }
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
    }
}
