//! Assets: what is checked, with the facts collected for it.

use checks::AssetType;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

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

    /// Display details the list actions show (image tag, container id, versions...).
    pub fn info(&self) -> Value {
        let Ok(f) = &self.facts else { return json!({}) };
        let s = |p: &str| f.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
        match self.asset_type {
            AssetType::Container => json!({
                "ContainerId": s("/container/Id"),
                "ImageTag": s("/container/Config/Image"),
                "PodName": s("/container/Config/Labels/io.kubernetes.pod.name"),
            }),
            AssetType::Image => {
                let tag = f.pointer("/image/RepoTags/0").and_then(Value::as_str).unwrap_or_default().to_string();
                json!({"ImageId": s("/image/Id"), "ImageTag": tag})
            }
            AssetType::Host => json!({
                "HostName": s("/info/Name"),
                "DockerVersion": s("/version/Version"),
                "ContainerdVersion": s("/info/ContainerdCommit/ID"),
            }),
            AssetType::Containerd => json!({"ContainerdVersion": s("/version/Version")}),
            AssetType::ContainerdContainer => {
                json!({"ImageTag": s("/container/Image"), "ContainerId": self.key.clone()})
            }
            AssetType::K8s => json!({"NodeName": self.name.clone()}),
        }
    }
}
