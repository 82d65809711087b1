//! The two phases. `index`: per layer, a cache lookup, else one walk with every wanted
//! analyzer, then the pure merge. `match_vulns`: the merged packages against advisories,
//! cheap and re-runnable without reading the image again.

use crate::cache::{ENTRY_FORMAT, LayerCache, decode, encode};
use crate::{Cancel, Error, Progress};
use futures::future::BoxFuture;
use layer::{AnalyzerSet, ImageContent, LayerIndex, WalkOptions};
use model::Package;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Which scanners run. Packages are always catalogued when vulnerabilities are asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scanners {
    pub packages: bool,
    pub vuln: bool,
    pub virus: bool,
    pub risk: bool,
}

impl Scanners {
    pub fn any(&self) -> bool {
        self.packages || self.vuln || self.virus || self.risk
    }
}

/// What is loaded once per process and shared by every scan: the compiled rules, the walk
/// limits, the layer cache.
pub struct Engine {
    pub secrets: Arc<secrets::Secrets>,
    /// Loaded only where trojan scanning is wanted (compiling YARA rules takes a moment).
    pub signatures: Option<Arc<malware::Signatures>>,
    /// Digest of the malware signature set (part of the cache key of layers walked with it).
    pub signatures_digest: String,
    pub walk: WalkOptions,
    pub cache: Arc<dyn LayerCache>,
}

impl Engine {
    /// Built-in secret rules and the given signatures.
    pub fn new(signatures: Option<Arc<malware::Signatures>>, cache: Arc<dyn LayerCache>) -> Result<Engine, Error> {
        // The status holds the YARA source digest and per-file ClamAV counts.
        let status = signatures.as_ref().map(|s| serde_json::to_string(&s.status()).unwrap_or_default()).unwrap_or_default();
        Ok(Engine {
            secrets: Arc::new(secrets::Secrets::builtin()?),
            signatures_digest: hex::encode(Sha256::digest(status.as_bytes())),
            signatures,
            walk: WalkOptions::default(),
            cache,
        })
    }

    /// The analyzers a scan needs, and the digest of their rule inputs. `packages` lists the
    /// package analyzers: `packages::builtin` for images, `packages::source_tree` for directories.
    fn analyzers(&self, sc: Scanners, packages: fn() -> Vec<Box<dyn layer::Analyzer>>) -> Result<(AnalyzerSet, String), Error> {
        let mut list: Vec<Box<dyn layer::Analyzer>> = Vec::new();
        let mut digests = String::new();
        if sc.packages || sc.vuln {
            list.extend(packages());
        }
        if sc.risk {
            list.push(Box::new(secrets::RiskAnalyzer::new(Arc::clone(&self.secrets))));
            let mut ids: Vec<&str> = self.secrets.rule_ids().collect();
            ids.sort_unstable();
            digests.push_str(&format!("secrets:{};", hex::encode(Sha256::digest(ids.join(",").as_bytes()))));
        }
        if sc.virus {
            let sigs =
                self.signatures.as_ref().ok_or_else(|| Error::Internal("trojan scanning asked but no signatures are loaded".into()))?;
            list.push(Box::new(malware::MalwareAnalyzer::new(Arc::clone(sigs))));
            digests.push_str(&format!("malware:{};", self.signatures_digest));
        }
        let set = AnalyzerSet::new(list).map_err(|e| Error::Internal(e.to_string()))?;
        Ok((set, digests))
    }
}

/// Opens the image content when some layer is not cached (the server avoids a Docker export
/// when every layer is).
pub type Opener = Box<dyn FnOnce() -> BoxFuture<'static, Result<Arc<image::OpenedImage>, Error>> + Send>;

/// The result of indexing one image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Indexed {
    pub content: ImageContent,
    pub layers: usize,
    pub cached_layers: usize,
    /// Uncompressed tar bytes of the layers walked now (cached ones excluded).
    pub bytes_walked: u64,
}

/// Index phase. `diff_ids` are the image's layers bottom first; `media_types` their blob types
/// where known (only used in messages). Layers found in the cache are not read at all.
pub async fn index(
    engine: &Arc<Engine>,
    scanners: Scanners,
    diff_ids: &[String],
    open: Opener,
    progress: &Arc<Progress>,
    cancel: &Cancel,
) -> Result<Indexed, Error> {
    let (set, rule_digests) = engine.analyzers(scanners, packages::builtin)?;
    let set = Arc::new(set);
    let format = format!("entry-format={ENTRY_FORMAT}");
    progress.layers_total.store(diff_ids.len() as u64, Ordering::Relaxed);

    let mut found: Vec<Option<LayerIndex>> = Vec::with_capacity(diff_ids.len());
    let mut keys = Vec::with_capacity(diff_ids.len());
    for (i, d) in diff_ids.iter().enumerate() {
        let key = layer::cache_key(d, &set, &engine.walk, &[&format, &rule_digests]);
        let hit = match engine.cache.get(&key).await? {
            Some(bytes) => match decode(&key, &bytes) {
                Ok(idx) if idx.diff_id == *d => Some(relocate(idx, i as u32)),
                // A bad entry is a miss: the walk below rewrites it.
                Ok(_) | Err(_) => None,
            },
            None => None,
        };
        if let Some(idx) = &hit {
            progress.layers_done.fetch_add(1, Ordering::Relaxed);
            progress.layers_cached.fetch_add(1, Ordering::Relaxed);
            progress.cached_bytes.fetch_add(idx.bytes, Ordering::Relaxed);
        }
        found.push(hit);
        keys.push(key);
    }

    let cached_layers = found.iter().filter(|f| f.is_some()).count();
    let mut bytes_walked = 0;
    if cached_layers < diff_ids.len() {
        cancel.check()?;
        // A Docker export can take a while: a stop must not wait for it.
        let opened = tokio::select! {
            r = open() => r?,
            _ = cancel.cancelled() => return Err(Error::Cancelled),
        };
        let layers: Vec<String> = opened.image().layers.iter().map(|l| l.diff_id.clone()).collect();
        if layers != diff_ids {
            return Err(Error::LayersChanged { expected: diff_ids.to_vec(), found: layers });
        }
        let mut opts = engine.walk.clone();
        opts.progress = Some(Arc::clone(&progress.walk));
        // One analyzer read budget for the whole image.
        opts.image_budget = Some(layer::ReadBudget::new(opts.max_layer_read.saturating_mul(4)));
        for i in 0..diff_ids.len() {
            if found[i].is_some() {
                continue;
            }
            cancel.check()?;
            let (opened, set, opts, cancel2, diff_id) =
                (Arc::clone(&opened), Arc::clone(&set), opts.clone(), cancel.clone(), diff_ids[i].clone());
            let media_type = opened.image().layers[i].media_type.clone();
            let span = tracing::Span::current();
            let idx = tokio::task::spawn_blocking(move || -> Result<LayerIndex, Error> {
                let _in_task = span.enter();
                let raw = opened.layer_reader(i)?;
                let (tar, _) = layer::decompress(raw, Some(&media_type))?;
                let reader = CancelRead { inner: tar, cancel: cancel2.clone() };
                match layer::walk_layer(reader, &diff_id, i as u32, &set, &opts) {
                    Ok(idx) => Ok(idx),
                    Err(_) if cancel2.is_cancelled() => Err(Error::Cancelled),
                    Err(e) => Err(e.into()),
                }
            })
            .await
            .map_err(|e| Error::Internal(format!("layer walk task: {e}")))??;
            bytes_walked += idx.bytes;
            if !idx.partial {
                engine.cache.put(&keys[i], &diff_ids[i], encode(&idx)?).await?;
            }
            progress.layers_done.fetch_add(1, Ordering::Relaxed);
            found[i] = Some(idx);
        }
    }
    let indexes: Vec<LayerIndex> = found.into_iter().flatten().collect();
    let mut content = layer::merge(&indexes);
    content.packages = packages::finalize(std::mem::take(&mut content.packages), content.distribution.as_ref());
    Ok(Indexed { content, layers: diff_ids.len(), cached_layers, bytes_walked })
}

/// Opens an image source and indexes it (the CLI path: the source is read once anyway).
pub async fn index_source(
    engine: &Arc<Engine>,
    scanners: Scanners,
    source: &image::Source,
    opts: &image::OpenOptions,
    progress: &Arc<Progress>,
    cancel: &Cancel,
) -> Result<(image::Image, Indexed), Error> {
    let opened = Arc::new(image::open(source, opts).await?);
    let img = opened.image().clone();
    let diff_ids: Vec<String> = img.layers.iter().map(|l| l.diff_id.clone()).collect();
    progress.bytes_total.store(img.layers.iter().filter_map(|l| l.size).sum(), Ordering::Relaxed);
    let o = Arc::clone(&opened);
    let open: Opener = Box::new(move || {
        let fut: BoxFuture<'static, Result<Arc<image::OpenedImage>, Error>> = Box::pin(async move { Ok(o) });
        fut
    });
    let indexed = index(engine, scanners, &diff_ids, open, progress, cancel).await?;
    Ok((img, indexed))
}

/// Index phase for a directory of the host (`fs scan`): one [`layer::walk_dir`] with the
/// source-tree analyzers (`packages::source_tree`), then the same merge and finalize as an
/// image. Not cached: a working tree has no digest to key it by, and only wanted files are read.
/// `skip_dir` gets each directory's path relative to `dir`. Locations are `/`-prefixed paths
/// relative to `dir`, layer 0, digest `dir:<dir>`.
pub async fn index_dir(
    engine: &Arc<Engine>,
    scanners: Scanners,
    dir: &std::path::Path,
    skip_dir: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    progress: &Arc<Progress>,
) -> Result<Indexed, Error> {
    let (set, _) = engine.analyzers(scanners, packages::source_tree)?;
    let mut opts = engine.walk.clone();
    opts.progress = Some(Arc::clone(&progress.walk));
    progress.layers_total.store(1, Ordering::Relaxed);
    let dir = dir.to_path_buf();
    let idx = tokio::task::spawn_blocking(move || {
        let name = format!("dir:{}", dir.display());
        layer::walk_dir(&dir, &name, &set, &opts, &*skip_dir)
    })
    .await
    .map_err(|e| Error::Internal(format!("directory walk task: {e}")))??;
    progress.layers_done.store(1, Ordering::Relaxed);
    let bytes_walked = idx.bytes;
    let mut content = layer::merge(std::slice::from_ref(&idx));
    content.packages = packages::finalize(std::mem::take(&mut content.packages), content.distribution.as_ref());
    Ok(Indexed { content, layers: 1, cached_layers: 0, bytes_walked })
}

/// Match phase: vulnerabilities of the merged packages, from the store's advisories
/// (prefetched for exactly the packages' keys, then matched in memory on a blocking thread).
/// Fails with [`Error::NoAdvisories`] when no data is loaded: an empty result would read as
/// "no vulnerabilities".
pub async fn match_vulns(store: &store::Store, content: &ImageContent) -> Result<Vec<vuln::VulnFinding>, Error> {
    if !store.has_advisories().await? {
        return Err(Error::NoAdvisories);
    }
    let packages: Vec<Package> = content.packages.clone();
    let dist = content.distribution.clone();
    let index = store.advisories_for(&vuln::query_keys(dist.as_ref(), &packages)).await?;
    tokio::task::spawn_blocking(move || Ok(vuln::match_packages(&index, dist.as_ref(), &packages)?))
        .await
        .map_err(|e| Error::Internal(format!("match task: {e}")))?
}

/// Advisories loaded from the store key by key and kept, for matching many images in a row
/// (the re-match after an update): each (ecosystem, package) key is read and its advisories
/// parsed once per run instead of once per image.
#[derive(Default)]
pub struct AdvisoryCache {
    loaded: HashMap<vuln::AdvisoryKey, Vec<Arc<vuln::Prepared>>>,
}

impl vuln::AdvisoryIndex for AdvisoryCache {
    fn advisories(&self, key: &vuln::AdvisoryKey) -> Result<Vec<Arc<vuln::Prepared>>, vuln::IndexError> {
        Ok(self.loaded.get(key).cloned().unwrap_or_default())
    }

    fn is_empty(&self) -> Result<bool, vuln::IndexError> {
        Ok(self.loaded.is_empty())
    }
}

impl AdvisoryCache {
    /// Matches one image, loading the keys it needs that no earlier image needed.
    pub async fn match_vulns(&mut self, store: &store::Store, content: &ImageContent) -> Result<Vec<vuln::VulnFinding>, Error> {
        let dist = content.distribution.as_ref();
        let missing: Vec<vuln::AdvisoryKey> =
            vuln::query_keys(dist, &content.packages).into_iter().filter(|k| !self.loaded.contains_key(k)).collect();
        if !missing.is_empty() {
            let index = store.advisories_for(&missing).await?;
            for k in missing {
                let advs = vuln::AdvisoryIndex::advisories(&index, &k).map_err(|e| Error::Internal(e.to_string()))?;
                self.loaded.insert(k, advs);
            }
        }
        Ok(vuln::match_packages(self, dist, &content.packages)?)
    }
}

/// A cached index of a layer shared by images at different positions gets this image's
/// layer position in every location.
fn relocate(mut idx: LayerIndex, layer_index: u32) -> LayerIndex {
    let f = &mut idx.findings;
    for p in &mut f.packages {
        p.location.layer_index = layer_index;
    }
    for r in &mut f.risks {
        r.location.layer_index = layer_index;
    }
    for m in &mut f.malware {
        m.location.layer_index = layer_index;
    }
    idx
}

/// Stops a layer read as soon as the scan is cancelled (checked on every read, i.e. between
/// chunks of a file and between files). Not `Interrupted`: readers retry on that.
struct CancelRead<R> {
    inner: R,
    cancel: Cancel,
}

impl<R: Read> Read for CancelRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(std::io::Error::other("scan cancelled"));
        }
        self.inner.read(buf)
    }
}
