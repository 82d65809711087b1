//! Compliance checks for Shipshape: the check logic in Rego (`policy/*.rego`, evaluated with regorus, compiled
//! once, one rule per item of the `checks` catalog, re-exported here), and the collectors that turn Docker,
//! containerd and Kubernetes node state into Rego input. No HTTP, no SQL: the service and store crates persist
//! assets and results.

mod asset;
mod discover;
mod engine;
mod error;
pub mod facts;
pub mod report;
mod result;

pub use asset::Asset;
pub use checks::{AssetType, Catalog, CatalogError, CatalogItem};
pub use discover::{ContainerdSource, Inventory, K8sSource, Sources, asset_from_facts, discover, refresh};
pub use engine::Engine;
pub use error::{CollectError, ComplianceError};
pub use facts::host::CheckConfig;
pub use result::{CheckResult, CheckStatus, Evaluation, ItemResult, NotApplicable};
