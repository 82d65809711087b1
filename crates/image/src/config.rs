//! The image config JSON (Docker and OCI share it) and the identity types built from it.

use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An image: identity, runtime config, history and layers, bottom layer first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Image ID: the config blob digest, `sha256:...`.
    pub id: String,
    pub repo_tags: Vec<String>,
    /// `name@sha256:<manifest digest>` as registries and Docker report them.
    pub repo_digests: Vec<String>,
    /// The manifest digest where the source has a manifest (OCI layout, registry).
    pub manifest_digest: Option<String>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub created: Option<String>,
    pub config: ImageConfig,
    pub history: Vec<History>,
    pub layers: Vec<LayerInfo>,
}

/// The runtime configuration (`config` object of the image config).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    pub user: String,
    pub env: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub healthcheck: Option<Healthcheck>,
    /// `80/tcp` style keys.
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub working_dir: String,
    pub volumes: Vec<String>,
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Nanoseconds, as Docker stores them.
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub start_period: Option<i64>,
    pub retries: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub created: Option<String>,
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub empty_layer: bool,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// sha256 of the uncompressed tar: the layer cache key.
    pub diff_id: String,
    /// Digest of the blob as stored (compressed); `None` where the source does not say
    /// (docker-archive layers that are not content-addressed).
    pub digest: Option<String>,
    /// Blob size in bytes, where known.
    pub size: Option<u64>,
    pub media_type: String,
}

// Wire format of the config blob. Hand-declared: only the fields we report.
#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    config: Option<RawRuntime>,
    #[serde(default)]
    history: Vec<RawHistory>,
    rootfs: RawRootfs,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawRuntime {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    healthcheck: Option<RawHealthcheck>,
    #[serde(default)]
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    stop_signal: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawHealthcheck {
    #[serde(default)]
    test: Option<Vec<String>>,
    #[serde(default)]
    interval: Option<i64>,
    #[serde(default)]
    timeout: Option<i64>,
    #[serde(default)]
    start_period: Option<i64>,
    #[serde(default)]
    retries: Option<i64>,
}

#[derive(Deserialize)]
struct RawHistory {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    empty_layer: bool,
}

#[derive(Deserialize)]
struct RawRootfs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// What the config blob says, before the source adds layer blobs and names.
pub(crate) struct ParsedConfig {
    pub id: String,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub created: Option<String>,
    pub config: ImageConfig,
    pub history: Vec<History>,
    pub diff_ids: Vec<String>,
}

pub(crate) fn parse_config(bytes: &[u8]) -> Result<ParsedConfig, Error> {
    let raw: RawConfig = serde_json::from_slice(bytes).map_err(|e| Error::Malformed(format!("image config: {e}")))?;
    let rt = raw.config.unwrap_or_default();
    let config = ImageConfig {
        user: rt.user.unwrap_or_default(),
        env: rt.env.unwrap_or_default(),
        entrypoint: rt.entrypoint,
        cmd: rt.cmd,
        healthcheck: rt.healthcheck.map(|h| Healthcheck {
            test: h.test.unwrap_or_default(),
            interval: h.interval,
            timeout: h.timeout,
            start_period: h.start_period,
            retries: h.retries,
        }),
        exposed_ports: rt.exposed_ports.unwrap_or_default().into_keys().collect(),
        labels: rt.labels.unwrap_or_default(),
        working_dir: rt.working_dir.unwrap_or_default(),
        volumes: rt.volumes.unwrap_or_default().into_keys().collect(),
        stop_signal: rt.stop_signal,
    };
    Ok(ParsedConfig {
        id: crate::verify::sha256_digest(bytes),
        os: raw.os,
        architecture: raw.architecture,
        variant: raw.variant,
        created: raw.created,
        config,
        history: raw
            .history
            .into_iter()
            .map(|h| History { created: h.created, created_by: h.created_by, comment: h.comment, empty_layer: h.empty_layer })
            .collect(),
        diff_ids: raw.rootfs.diff_ids,
    })
}

impl ParsedConfig {
    /// Builds the [`Image`]; `layers` must match the config's diff-ids one to one.
    pub(crate) fn into_image(
        self,
        repo_tags: Vec<String>,
        repo_digests: Vec<String>,
        manifest_digest: Option<String>,
        blobs: Vec<(Option<String>, Option<u64>, String)>,
    ) -> Result<Image, Error> {
        if blobs.len() != self.diff_ids.len() {
            return Err(Error::Malformed(format!(
                "{} layers in the manifest but {} diff-ids in the config",
                blobs.len(),
                self.diff_ids.len()
            )));
        }
        let layers = self
            .diff_ids
            .into_iter()
            .zip(blobs)
            .map(|(diff_id, (digest, size, media_type))| LayerInfo { diff_id, digest, size, media_type })
            .collect();
        Ok(Image {
            id: self.id,
            repo_tags,
            repo_digests,
            manifest_digest,
            os: self.os,
            architecture: self.architecture,
            variant: self.variant,
            created: self.created,
            config: self.config,
            history: self.history,
            layers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_config() {
        let json = br#"{"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z",
          "config":{"User":"app","Env":["PATH=/usr/bin"],"Entrypoint":["/bin/app"],"Cmd":null,
            "Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":30000000000},
            "ExposedPorts":{"8080/tcp":{}},"Labels":{"a":"b"},"WorkingDir":"/app"},
          "history":[{"created_by":"x"},{"created_by":"y","empty_layer":true}],
          "rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}"#;
        let p = parse_config(json).unwrap();
        assert_eq!(p.id, crate::verify::sha256_digest(json));
        assert_eq!(p.config.user, "app");
        assert_eq!(p.config.exposed_ports, vec!["8080/tcp"]);
        assert_eq!(p.config.healthcheck.as_ref().unwrap().interval, Some(30_000_000_000));
        assert!(p.history[1].empty_layer);
        let img = p.into_image(vec![], vec![], None, vec![(None, None, "t".into())]).unwrap();
        assert_eq!(img.layers[0].diff_id, "sha256:aa");
        assert!(parse_config(b"{}").is_err());
    }
}
