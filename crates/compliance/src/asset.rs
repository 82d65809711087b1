//! Assets: what is checked, with the facts collected for it.

use serde::Serialize;
use time::OffsetDateTime;

use crate::catalog::AssetType;
use crate::error::CollectError;

/// One checked thing: a container, an image, the Docker host, a Kubernetes node, a containerd daemon or a
/// containerd container.
#[derive(Debug, Clone, Serialize)]
pub struct Asset {
    pub asset_type: AssetType,
    /// Stable natural key within its type: container/image id, `docker-host:<daemon ID>`,
    /// `k8s-node:<root>`, `containerd:<socket>`, `<namespace>/<container id>`. The store maps it to the
    /// integer CustomerAssetId.
    pub key: String,
    /// Display name (container name, image tag, host name ...).
    pub name: String,
    /// The Rego input document, or why it could not be collected (then every item is CHECK_FAILED).
    #[serde(skip)]
    pub facts: Result<serde_json::Value, CollectError>,
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,
}

impl Asset {
    pub fn new(asset_type: AssetType, key: String, name: String, facts: Result<serde_json::Value, CollectError>) -> Asset {
        Asset { asset_type, key, name, facts, collected_at: OffsetDateTime::now_utc() }
    }
}
