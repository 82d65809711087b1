//! The per-layer index cache: a trait and its two homes, the store (server) and a directory
//! (CLI). Entries are the walk result of one layer for one analyzer configuration; the key
//! (`layer::cache_key`: diff-id, analyzer versions, walk limits, rule digests, [`ENTRY_FORMAT`])
//! covers everything that can change that result.

use crate::Error;
use futures::future::BoxFuture;
use layer::LayerIndex;
use std::path::{Path, PathBuf};

/// Bump when the entry encoding or the meaning of a cached `LayerIndex` changes.
pub const ENTRY_FORMAT: u32 = 2;

/// Where layer indexes are kept between scans. Values are opaque bytes ([`encode`]/[`decode`]).
pub trait LayerCache: Send + Sync {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>>;
    fn put<'a>(&'a self, key: &'a str, diff_id: &'a str, data: Vec<u8>) -> BoxFuture<'a, Result<(), Error>>;
}

/// zstd-compressed JSON of the layer index, streamed: only the compressed bytes are held
/// (the path digests of a 2M-file layer would be 32 MB of JSON).
pub fn encode(idx: &LayerIndex) -> Result<Vec<u8>, Error> {
    let mut z = zstd::stream::Encoder::new(Vec::new(), 3).map_err(|e| Error::Internal(format!("compressing a layer index: {e}")))?;
    serde_json::to_writer(&mut z, idx).map_err(|e| Error::Internal(format!("encoding a layer index: {e}")))?;
    z.finish().map_err(|e| Error::Internal(format!("compressing a layer index: {e}")))
}

/// Cached entries are bounded by what we wrote, but a corrupt or foreign file must not make
/// us allocate without limit.
const MAX_ENTRY: usize = 1 << 30;

pub fn decode(key: &str, data: &[u8]) -> Result<LayerIndex, Error> {
    let bad = |reason: String| Error::CacheEntry { key: key.to_string(), reason };
    let z = zstd::stream::Decoder::new(data).map_err(|e| bad(e.to_string()))?;
    serde_json::from_reader(std::io::Read::take(std::io::BufReader::new(z), MAX_ENTRY as u64)).map_err(|e| bad(e.to_string()))
}

/// The server's cache: the store's `layer_cache` table.
pub struct StoreCache(pub store::Store);

impl LayerCache for StoreCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>> {
        Box::pin(async move { Ok(self.0.layer_cache_get(key).await?) })
    }
    fn put<'a>(&'a self, key: &'a str, diff_id: &'a str, data: Vec<u8>) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move { Ok(self.0.layer_cache_put(key, diff_id, &data).await?) })
    }
}

/// The CLI's cache: `DIR/layers/<k0k1>/<key>` (and docker-archive indexes in
/// `DIR/archives/<k0k1>/<key>`), written to a temp file and renamed so a killed run never
/// leaves a torn entry.
#[derive(Debug)]
pub struct DirCache {
    root: PathBuf,
}

impl DirCache {
    pub fn new(root: impl Into<PathBuf>) -> DirCache {
        DirCache { root: root.into() }
    }

    /// `$XDG_CACHE_HOME/shipshape`, else `~/.cache/shipshape`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
            return Some(PathBuf::from(x).join("shipshape"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/shipshape"))
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.path_in("layers", key)
    }

    fn path_in(&self, kind: &str, key: &str) -> Option<PathBuf> {
        // Keys are our own (`sha256:`-prefixed) hex digests; anything else is refused rather
        // than joined into a path.
        let key = key.strip_prefix("sha256:").unwrap_or(key);
        if key.len() < 8 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.root.join(kind).join(&key[..2]).join(key))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Cache { path: path.display().to_string(), source }
}

impl LayerCache for DirCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>> {
        Box::pin(async move {
            let Some(p) = self.path(key) else {
                return Ok(None);
            };
            match tokio::fs::read(&p).await {
                Ok(d) => Ok(Some(d)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io(&p)(e)),
            }
        })
    }

    fn put<'a>(&'a self, key: &'a str, _diff_id: &'a str, data: Vec<u8>) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let Some(p) = self.path(key) else {
                return Err(Error::CacheEntry { key: key.to_string(), reason: "not a hex key".into() });
            };
            // Layer indexes are findings (paths, packages, secrets found): owner-only (store::private_fs).
            let (root, path) = (self.root.clone(), p.clone());
            tokio::task::spawn_blocking(move || write_private(&root, &path, &data))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(io(&p))
        })
    }
}

/// Writes `data` to `path` through a temp file in its (owner-only) directory.
fn write_private(root: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(root);
    store::private_fs::create_dir(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::io::Write::write_all(&mut store::private_fs::create_file(&tmp, true)?, data)?;
    std::fs::rename(&tmp, path)
}

/// docker-archive indexes (image metadata and layer offsets: owner-only like the layer
/// indexes, since they name the image's contents).
impl image::ArchiveIndexCache for DirCache {
    fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
        let Some(p) = self.path_in("archives", key) else {
            return Ok(None);
        };
        match std::fs::read(&p) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put(&self, key: &str, data: &[u8]) -> std::io::Result<()> {
        let p = self.path_in("archives", key).ok_or_else(|| std::io::Error::other(format!("not a hex key: {key:?}")))?;
        write_private(&self.root, &p, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dir_cache_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let c = DirCache::new(dir.path());
        let idx = LayerIndex { diff_id: "sha256:x".into(), files: ["etc/passwd"].into_iter().collect(), ..Default::default() };
        let key = format!("sha256:{}", "ab".repeat(32));
        assert!(c.get(&key).await.unwrap().is_none());
        c.put(&key, "sha256:x", encode(&idx).unwrap()).await.unwrap();
        // Owner-only whatever the umask: the entry and every directory the cache made.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let entry = c.path(&key).unwrap();
        assert_eq!(mode(&entry), 0o600);
        let mut d = entry.parent().unwrap();
        while d != dir.path() {
            assert_eq!(mode(d), 0o700, "{}", d.display());
            d = d.parent().unwrap();
        }
        let back = decode(&key, &c.get(&key).await.unwrap().unwrap()).unwrap();
        assert_eq!(back, idx);
        // Path-like keys never reach the file system.
        assert!(c.get("../../etc/passwd").await.unwrap().is_none());
        assert!(c.put("../x", "d", vec![]).await.is_err());
        assert!(decode(&key, b"garbage").is_err());
    }
}
