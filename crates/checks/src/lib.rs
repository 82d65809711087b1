//! The compliance check catalog: what each check item is (id = TCSS CustomerPolicyItemId, asset type, name,
//! CIS section, risk level, fix suggestion), from `catalog.toml`, a copy of the shared spec's. Not how an item
//! is checked: the Rego policies, the engine and the fact collectors are `compliance`'s, so readers of the
//! catalog (the TCSS actions in `service`) do not compile regorus, bollard or the containerd client.

mod asset_type;
mod catalog;
mod error;

pub use asset_type::AssetType;
pub use catalog::{Catalog, CatalogItem};
pub use error::CatalogError;

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
