//! Errors of the check catalog.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CatalogError {
    #[error("catalog: {0}")]
    Invalid(String),
    #[error("unknown asset type {0:?}")]
    UnknownAssetType(String),
}
