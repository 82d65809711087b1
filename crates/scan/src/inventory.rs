//! The images of a Docker Engine and of user-configured registries, as the store's inventory
//! rows. ImageID is the config digest (what Docker calls the image id) wherever the image is, so
//! an image pushed from the engine to a registry is one asset with both names; every repo tag
//! is kept.

use crate::Error;
use bollard::Docker;
use model::node::ImageFacts;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use store::scan_tasks::ImageAsset;

pub use store::scan_tasks::DOCKER_SOURCE;

/// Connects to `host` (`unix://…`, `tcp://…`), else `DOCKER_HOST`, else the local socket.
pub fn connect(host: Option<&str>) -> Result<Docker, Error> {
    let err = |e: bollard::errors::Error| Error::Docker(format!("connect: {e}"));
    let host = host.map(str::to_string).or_else(|| std::env::var("DOCKER_HOST").ok()).filter(|h| !h.is_empty());
    match host {
        None => Docker::connect_with_local_defaults().map_err(err),
        Some(h) if h.starts_with("unix://") || h.starts_with('/') => {
            Docker::connect_with_unix(&h, 120, bollard::API_DEFAULT_VERSION).map_err(err)
        }
        Some(h) if h.starts_with("tcp://") || h.starts_with("http://") => {
            Docker::connect_with_http(&h, 120, bollard::API_DEFAULT_VERSION).map_err(err)
        }
        Some(h) => Err(Error::Docker(format!("unsupported docker host {h:?} (use unix:// or tcp://)"))),
    }
}

/// Lists the engine's images with their containers, layers and history (the node agent reports
/// the same [`model::node::ImageFacts`]).
pub async fn docker_images(docker: &Docker) -> Result<Vec<ImageAsset>, Error> {
    let n = node::Node { docker, proc_root: std::path::PathBuf::new() };
    let images = n.images().await.map_err(|e| Error::Docker(format!("list images: {e}")))?;
    Ok(images.into_iter().map(|i| ImageAsset::from_facts(i, DOCKER_SOURCE.into())).collect())
}

/// A place the inventory lists images from.
pub enum InventorySource {
    Docker(Docker),
    Registry(RegistryConfig),
}

impl InventorySource {
    /// The `source` of its inventory rows.
    pub fn name(&self) -> String {
        match self {
            InventorySource::Docker(_) => DOCKER_SOURCE.into(),
            InventorySource::Registry(r) => r.source(),
        }
    }

    pub async fn list(&self) -> Result<Vec<ImageAsset>, Error> {
        match self {
            InventorySource::Docker(d) => docker_images(d).await,
            InventorySource::Registry(r) => registry_images(r).await,
        }
    }
}

/// Longest one source's listing may take (a blackholed registry must not stall the others).
pub const LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Lists every source at once, each within [`LIST_TIMEOUT`]; results in the sources' order.
pub async fn list_all(sources: &[InventorySource]) -> Vec<Result<Vec<ImageAsset>, Error>> {
    futures::future::join_all(sources.iter().map(|s| async move {
        tokio::time::timeout(LIST_TIMEOUT, s.list())
            .await
            .unwrap_or_else(|_| Err(Error::ListTimeout { name: s.name(), secs: LIST_TIMEOUT.as_secs() }))
    }))
    .await
}

/// A registry whose images join the inventory: one `[[registry]]` table of the registries
/// file (`DATA_DIR/registries.toml` or `serve --registries FILE`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// `HOST[:PORT]`, as in image references.
    pub host: String,
    /// Plain HTTP instead of HTTPS.
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub username: Option<String>,
    /// The password itself; prefer `password_env` (keeps it out of the file).
    #[serde(default)]
    pub password: Option<String>,
    /// Name of an environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Repositories to list; absent: every repository of the registry's `/v2/_catalog`.
    #[serde(default)]
    pub repositories: Option<Vec<String>>,
}

impl std::fmt::Debug for RegistryConfig {
    // The password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("host", &self.host)
            .field("insecure", &self.insecure)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "****"))
            .field("password_env", &self.password_env)
            .field("repositories", &self.repositories)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistriesFile {
    #[serde(default)]
    registry: Vec<RegistryConfig>,
}

impl RegistryConfig {
    /// Inventory source name of this registry's rows.
    pub fn source(&self) -> String {
        format!("{REGISTRY_SOURCE_PREFIX}{}", self.host)
    }

    /// How to open images of this registry (credentials resolved now).
    pub fn open_options(&self) -> Result<image::OpenOptions, Error> {
        let password = match (&self.password, &self.password_env) {
            (Some(p), None) => Some(p.clone()),
            (None, Some(var)) => Some(
                std::env::var(var)
                    .map_err(|_| Error::Config(format!("registry {}: environment variable {var} (password_env) is not set", self.host)))?,
            ),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(Error::Config(format!("registry {}: give password or password_env, not both", self.host)));
            }
        };
        let auth = match (&self.username, password) {
            (Some(u), Some(p)) => image::RegistryAuth::Basic { username: u.clone(), password: p },
            (None, None) => image::RegistryAuth::Anonymous,
            _ => {
                return Err(Error::Config(format!("registry {}: username and password go together", self.host)));
            }
        };
        Ok(image::OpenOptions { insecure: self.insecure, auth, ..Default::default() })
    }
}

/// Source names of registry rows start with this, then the host.
pub const REGISTRY_SOURCE_PREFIX: &str = "registry:";

/// Reads a registries file; every entry is checked (credentials resolvable, host unique).
pub fn load_registries(path: &Path) -> Result<Vec<RegistryConfig>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let file: RegistriesFile = toml::from_str(&text).map_err(|e| {
        // toml's Display quotes the offending line, which may hold a password: message and line only.
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1).unwrap_or(0);
        Error::Config(format!("{}:{line}: {}", path.display(), e.message()))
    })?;
    let mut seen = std::collections::HashSet::new();
    for r in &file.registry {
        if r.host.is_empty() || r.host.contains('/') || r.host.contains(char::is_whitespace) {
            return Err(Error::Config(format!("{}: registry host {:?} must be HOST[:PORT]", path.display(), r.host)));
        }
        if !seen.insert(r.host.clone()) {
            return Err(Error::Config(format!("{}: registry {} is listed twice", path.display(), r.host)));
        }
        r.open_options()?;
    }
    Ok(file.registry)
}

/// Lists a registry's images (manifest and config of every tag; no layer is fetched). Tags of
/// one image are folded into one row.
pub async fn registry_images(reg: &RegistryConfig) -> Result<Vec<ImageAsset>, Error> {
    let opts = reg.open_options()?;
    let refs = image::registry_references(&reg.host, reg.repositories.as_deref(), &opts).await?;
    let mut by_id: HashMap<String, ImageAsset> = HashMap::new();
    for reference in refs {
        let opened = match image::open(&image::Source::Registry { reference: reference.clone() }, &opts).await {
            Ok(o) => o,
            // Unreachable or refused: the listing fails and the source keeps its rows (an outage
            // is not a disappearance).
            Err(e @ (image::Error::Unauthorized(_) | image::Error::Registry(_) | image::Error::Io { .. })) => {
                return Err(e.into());
            }
            // This tag only (deleted since the listing, another platform, a broken manifest).
            Err(e) => {
                tracing::warn!(reference, error = %e, "registry image skipped");
                continue;
            }
        };
        let img = opened.image();
        let a = by_id.entry(img.id.clone()).or_insert_with(|| asset_of(img, reg.source()));
        a.facts.names.push(reference);
        a.facts.repo_digests.extend(img.repo_digests.iter().cloned());
    }
    // Names arrive sorted and unique (the references are); tags of one image share digests.
    let mut out: Vec<ImageAsset> = by_id.into_values().collect();
    for a in &mut out {
        a.facts.repo_digests.sort();
        a.facts.repo_digests.dedup();
    }
    out.sort_by(|a, b| a.facts.image_id.cmp(&b.facts.image_id));
    Ok(out)
}

/// The inventory row of an image read from a registry (no name yet: the caller adds the
/// references it was found under).
pub fn asset_of(img: &image::Image, source: String) -> ImageAsset {
    let facts = ImageFacts {
        image_id: img.id.clone(),
        // The compressed blob sum: what the registry holds.
        size: img.layers.iter().filter_map(|l| l.size).sum(),
        created: img.created.clone().unwrap_or_default(),
        os: img.os.clone(),
        architecture: img.architecture.clone(),
        history: img
            .history
            .iter()
            .filter_map(|h| {
                let by = h.created_by.as_deref().unwrap_or("").trim();
                (!by.is_empty()).then(|| node::history_step(h.created.as_deref().unwrap_or(""), by))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        layers: img.layers.iter().map(|l| l.diff_id.clone()).collect(),
        ..Default::default()
    };
    ImageAsset::from_facts(facts, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_file_is_checked_and_passwords_stay_out_of_debug() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.toml");
        std::fs::write(&f, "[[registry]]\nhost = \"r:5000\"\nusername = \"u\"\npassword = \"hunter2\"\nrepositories = [\"a/b\"]\n")
            .unwrap();
        let regs = load_registries(&f).unwrap();
        assert_eq!(regs.len(), 1);
        assert_eq!(regs[0].source(), "registry:r:5000");
        assert!(!format!("{:?}", regs[0]).contains("hunter2"));
        for (body, want) in [
            ("[[registry]]\nhost = \"a:1\"\npassword = \"p\"\n", "username and password go together"),
            ("[[registry]]\nhost = \"a:1\"\nusername = \"u\"\npassword = \"p\"\npassword_env = \"X\"\n", "not both"),
            ("[[registry]]\nhost = \"\"\n", "HOST[:PORT]"),
            ("[[registry]]\nhost = \"a:1\"\nport = 1\n", "port"),
        ] {
            std::fs::write(&f, body).unwrap();
            let e = load_registries(&f).unwrap_err().to_string();
            assert!(e.contains(want), "{body}: {e}");
        }
        // A syntax error names the line, never quotes it (it may hold the password).
        std::fs::write(&f, "[[registry]]\nhost = \"a:1\"\npassword = hunter2\n").unwrap();
        let e = load_registries(&f).unwrap_err().to_string();
        assert!(e.contains("r.toml:3") && !e.contains("hunter2"), "{e}");
    }
}
