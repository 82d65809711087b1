//! Image sources: docker-archive files, OCI layout directories, OCI registries and the Docker
//! Engine. Each yields an [`Image`] (identity, config, history, layers) and a reader per layer.
//!
//! Knows nothing of analyzers or of layer contents: [`OpenedImage::layer_reader`] returns the
//! layer blob as stored (possibly gzip/zstd compressed; `layer::decompress` sniffs it), its
//! digest checked at end of stream where the source names one.
//!
//! Sync/async split: [`open`] is async (registry and Docker metadata are network calls);
//! layer readers are plain blocking [`std::io::Read`], because the walker is synchronous.
//! Call `layer_reader` and read from it on a blocking thread (`tokio::task::spawn_blocking`
//! or a plain thread), never on an async worker: registry readers bridge the async body
//! stream with `block_on` on the runtime that ran [`open`].

mod archive;
mod config;
mod docker;
mod error;
mod oci;
mod registry;
mod registry_client;
mod throttle;
mod verify;

pub use config::{Healthcheck, History, Image, ImageConfig, LayerInfo};
pub use error::Error;
pub use registry::list_references as registry_references;
pub use registry_client::{ListLimits, ManifestInfo, RegistryClient};

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `docker-archive:FILE[:repo:tag]`: a `docker save` tar.
    DockerArchive { path: PathBuf, reference: Option<String> },
    /// `oci:DIR[:ref]`: an OCI image layout directory.
    OciLayout { dir: PathBuf, reference: Option<String> },
    /// `registry:HOST/REPO:TAG` or `registry:HOST/REPO@sha256:...`.
    Registry { reference: String },
    /// `docker:NAME` or a bare `name:tag` / image id: the Docker Engine.
    Docker { name: String },
}

/// Parses a source string. A bare reference means the Docker Engine (as `docker` does).
pub fn parse_source(s: &str) -> Result<Source, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::InvalidReference(String::new()));
    }
    if let Some(rest) = s.strip_prefix("docker-archive:") {
        let (path, reference) = split_path(rest, Path::is_file);
        return Ok(Source::DockerArchive { path, reference });
    }
    if let Some(rest) = s.strip_prefix("oci:").or_else(|| s.strip_prefix("oci-dir:")) {
        let (dir, reference) = split_path(rest, Path::is_dir);
        return Ok(Source::OciLayout { dir, reference });
    }
    if let Some(rest) = s.strip_prefix("registry:") {
        let rest = rest.trim_start_matches("//");
        if rest.is_empty() {
            return Err(Error::InvalidReference(s.to_string()));
        }
        return Ok(Source::Registry { reference: rest.to_string() });
    }
    let name = s.strip_prefix("docker:").or_else(|| s.strip_prefix("docker-daemon:")).unwrap_or(s);
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(Error::InvalidReference(s.to_string()));
    }
    Ok(Source::Docker { name: name.to_string() })
}

/// `PATH[:REF]` where PATH may itself contain `:`: the shortest prefix that exists wins.
fn split_path(rest: &str, exists: fn(&Path) -> bool) -> (PathBuf, Option<String>) {
    for (i, _) in rest.match_indices(':') {
        let (p, r) = (&rest[..i], &rest[i + 1..]);
        if !r.is_empty() && exists(Path::new(p)) {
            return (PathBuf::from(p), Some(r.to_string()));
        }
    }
    (PathBuf::from(rest), None)
}

/// A platform, `os/arch[/variant]`. Default `linux/amd64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform { os: "linux".into(), architecture: "amd64".into(), variant: None }
    }
}

impl FromStr for Platform {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let mut it = s.split('/');
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(os), Some(arch), variant, None) if !os.is_empty() && !arch.is_empty() => {
                Ok(Platform { os: os.into(), architecture: arch.into(), variant: variant.filter(|v| !v.is_empty()).map(Into::into) })
            }
            _ => Err(Error::InvalidReference(format!("platform {s:?} (want os/arch[/variant])"))),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Registry credentials.
#[derive(Clone, Default)]
pub enum RegistryAuth {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    Bearer(String),
}

impl fmt::Debug for RegistryAuth {
    // Never print secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryAuth::Anonymous => f.write_str("Anonymous"),
            RegistryAuth::Basic { username, .. } => write!(f, "Basic({username}, ****)"),
            RegistryAuth::Bearer(_) => f.write_str("Bearer(****)"),
        }
    }
}

/// Where docker-archive indexes (image metadata and layer offsets, opaque bytes) are kept
/// between runs, keyed by `sha256:<hex>`; entries are checked against the file's size, mtime
/// and inode before use. Blocking: called on the thread that indexes the archive.
pub trait ArchiveIndexCache: Send + Sync + fmt::Debug {
    fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>>;
    fn put(&self, key: &str, data: &[u8]) -> std::io::Result<()>;
}

/// How to open a source.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Which manifest of a multi-arch index (registry, OCI layout).
    pub platform: Platform,
    /// Registry over plain http (`--insecure-registry`).
    pub insecure: bool,
    /// HTTPS without checking the registry's certificate (TCSS `Insecure` 1).
    pub accept_invalid_certs: bool,
    /// Most layer bytes per second read from a registry (0: no limit).
    pub max_layer_bytes_per_sec: u64,
    pub auth: RegistryAuth,
    /// Docker Engine address (`unix://...`, `tcp://...`); `None`: `DOCKER_HOST`, else the local socket.
    pub docker_host: Option<String>,
    /// Where Docker exports are spooled; `None`: the system temp dir.
    pub spool_dir: Option<PathBuf>,
    /// Most bytes a Docker export may spool.
    pub spool_budget: u64,
    /// Remembers docker-archive indexes so a warm open of an unchanged file reads none of it.
    pub archive_cache: Option<std::sync::Arc<dyn ArchiveIndexCache>>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            platform: Platform::default(),
            insecure: false,
            accept_invalid_certs: false,
            max_layer_bytes_per_sec: 0,
            auth: RegistryAuth::Anonymous,
            docker_host: None,
            spool_dir: None,
            spool_budget: 32 << 30,
            archive_cache: None,
        }
    }
}

/// A byte range of a local file: a docker-archive member, an OCI blob, a spooled export member.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    file: PathBuf,
    offset: u64,
    size: u64,
}

enum Layers {
    Local {
        members: Vec<Member>,
        _spool: Option<tempfile::TempDir>,
    },
    /// With the layer read limit (bytes/s, 0: none).
    Remote(registry::Remote, u64),
}

/// An opened image: its metadata, and its layers to read.
pub struct OpenedImage {
    image: Image,
    layers: Layers,
}

impl fmt::Debug for OpenedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedImage").field("image", &self.image).finish_non_exhaustive()
    }
}

/// Opens a source: reads its manifest and config (and for the Docker Engine, spools the export).
pub async fn open(source: &Source, opts: &OpenOptions) -> Result<OpenedImage, Error> {
    match source {
        Source::DockerArchive { path, reference } => {
            let (path, reference, cache) = (path.clone(), reference.clone(), opts.archive_cache.clone());
            blocking(move || archive::load_file(&path, reference.as_deref(), cache.as_deref()))
                .await
                .map(|(image, members)| OpenedImage { image, layers: Layers::Local { members, _spool: None } })
        }
        Source::OciLayout { dir, reference } => {
            let (dir, reference, platform) = (dir.clone(), reference.clone(), opts.platform.clone());
            blocking(move || oci::load(&dir, reference.as_deref(), &platform))
                .await
                .map(|(image, members)| OpenedImage { image, layers: Layers::Local { members, _spool: None } })
        }
        Source::Registry { reference } => {
            let (image, remote) = registry::open(reference, opts).await?;
            Ok(OpenedImage { image, layers: Layers::Remote(remote, opts.max_layer_bytes_per_sec) })
        }
        Source::Docker { name } => {
            let (image, members, spool) = docker::open(name, opts).await?;
            Ok(OpenedImage { image, layers: Layers::Local { members, _spool: Some(spool) } })
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, Error> + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Io { context: "blocking task".into(), source: std::io::Error::other(e) })?
}

impl OpenedImage {
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// The blob of layer `index` (bottom is 0) as stored: compressed or not, pass it through
    /// `layer::decompress`. Blocking; see the crate docs. A digest mismatch shows as an
    /// `InvalidData` I/O error at end of stream.
    pub fn layer_reader(&self, index: usize) -> Result<Box<dyn Read + Send>, Error> {
        match &self.layers {
            Layers::Local { members, .. } => {
                let m = members.get(index).ok_or_else(|| Error::NotFound(format!("layer {index}")))?;
                let r = m.open()?;
                match self.image.layers.get(index).and_then(|l| l.digest.as_deref()) {
                    Some(d) => Ok(Box::new(verify::VerifyingReader::new(r, d))),
                    None => Ok(r),
                }
            }
            Layers::Remote(remote, 0) => remote.layer_reader(index),
            Layers::Remote(remote, limit) => Ok(Box::new(throttle::Throttled::new(remote.layer_reader(index)?, *limit))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a:b.tar");
        std::fs::write(&file, b"").unwrap();
        let f = file.to_str().unwrap();
        assert_eq!(parse_source(&format!("docker-archive:{f}")).unwrap(), Source::DockerArchive { path: file.clone(), reference: None });
        assert_eq!(
            parse_source(&format!("docker-archive:{f}:repo/x:1")).unwrap(),
            Source::DockerArchive { path: file.clone(), reference: Some("repo/x:1".into()) }
        );
        let d = dir.path().to_str().unwrap();
        assert_eq!(
            parse_source(&format!("oci:{d}:shipshape-test/bookworm-app:1")).unwrap(),
            Source::OciLayout { dir: dir.path().into(), reference: Some("shipshape-test/bookworm-app:1".into()) }
        );
        assert_eq!(parse_source("registry:127.0.0.1:5000/app:1").unwrap(), Source::Registry { reference: "127.0.0.1:5000/app:1".into() });
        assert_eq!(parse_source("shipshape-test/bookworm-app:1").unwrap(), Source::Docker { name: "shipshape-test/bookworm-app:1".into() });
        assert_eq!(parse_source("docker:abc").unwrap(), Source::Docker { name: "abc".into() });
        assert!(parse_source("").is_err());
        assert!(parse_source("registry:").is_err());
        assert!(parse_source("a b").is_err());
    }

    #[test]
    fn platforms() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(Platform::default().to_string(), "linux/amd64");
        assert!("linux".parse::<Platform>().is_err());
        assert!(format!("{:?}", RegistryAuth::Basic { username: "u".into(), password: "p".into() }).contains("****"));
    }
}
