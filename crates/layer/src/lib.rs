//! The one walk per layer, and the contract analyzers implement.
//!
//! An [`Analyzer`] declares which files it wants ([`Analyzer::wants`], string tests only, no
//! I/O); the walker reads each wanted file of a layer tar once, within a size cap, and hands
//! the same bytes to every analyzer that asked. Results of one layer are a [`LayerIndex`],
//! which is plain serialisable data so it can be cached by layer diff-id; merging the layers
//! of an image (applying whiteouts) is a pure function over those indexes.
//!
//! [`walk_dir`] reads a directory of the host the same way (a source tree for `fs scan`) into
//! one [`LayerIndex`], so everything downstream is shared.
//!
//! This crate knows nothing of where layers come from (see `image`) nor of any package
//! format (see `packages`, `secrets`, `malware`).

use model::{Distribution, Location, MalwareFinding, Package, RiskFinding};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod decompress;
mod dir;
mod error;
mod merge;
pub mod path;
mod pathset;
mod walk;

pub use decompress::{Compression, decompress, decompress_send};
pub use dir::walk_dir;
pub use error::{Error, ErrorKind};
pub use merge::{ImageContent, MAX_SYMLINK_HOPS, file_layer, link_target, merge, resolve_symlink};
pub use pathset::PathSet;
pub use walk::{ReadBudget, WalkOptions, WalkProgress, walk_layer};

/// The layer cache key: sha256 over the diff-id, the analyzer name→version map and the walk
/// limits (as trivy's `CalcKey`). `extra` carries other inputs that change results (rule or
/// signature set digests), in a fixed order.
pub fn cache_key(diff_id: &str, analyzers: &AnalyzerSet, opts: &WalkOptions, extra: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(diff_id.as_bytes());
    for (name, version) in analyzers.versions() {
        h.update(format!("\0{name}={version}").as_bytes());
    }
    h.update(format!("\0{}", opts.cache_key()).as_bytes());
    for e in extra {
        h.update(format!("\0{e}").as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// What kind of tar entry a path is. Only regular files ever reach an analyzer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    HardLink,
    /// Devices, FIFOs, sockets: recorded, never opened.
    Special,
}

/// Metadata of a layer entry, known before its content is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    pub kind: EntryKind,
    /// Size in bytes as declared by the tar header.
    pub size: u64,
    /// Unix mode bits (permissions plus setuid/setgid/sticky).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

/// A file handed to an analyzer: its normalised path, metadata and content.
pub struct FileInput<'a> {
    /// Normalised image path without the leading `/` (e.g. `var/lib/dpkg/status`).
    pub path: &'a str,
    pub meta: FileMeta,
    /// The content, at most the walker's per-file cap.
    pub data: &'a [u8],
    /// True when `data` stops at the cap before the end of the file.
    pub truncated: bool,
    /// Where the file sits: `/`-prefixed path, layer index and diff-id.
    pub location: &'a Location,
}

/// Why an analyzer could not read a file. The walker records it as a warning and goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyzeError {
    #[error("{path}: malformed {format}: {reason}")]
    Malformed { path: String, format: &'static str, reason: String },
    #[error("{path}: {reason}")]
    Other { path: String, reason: String },
}

/// One unit that turns files into findings (dpkg, python, secrets, yara...).
///
/// Analyzers are synchronous, `Send + Sync`, and may be called from several threads at once.
pub trait Analyzer: Send + Sync {
    /// Stable id, e.g. `"dpkg"`. Unique within an [`AnalyzerSet`].
    fn name(&self) -> &'static str;
    /// Bump whenever the output for the same input can change: it is part of the cache key.
    fn version(&self) -> u32;
    /// Whether this analyzer wants the file at `path` (no leading `/`). String tests only.
    fn wants(&self, path: &str, meta: &FileMeta) -> bool;
    /// Reads one wanted file and appends what it finds to `out`.
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError>;
    /// True when `analyze` reads nothing of `out` and only appends: the walker may then run
    /// it on a worker thread with an empty `out` and append the result in walk order. Worth it
    /// for analyzers that read every file (trojan scanning).
    fn stateless(&self) -> bool {
        false
    }
}

/// What the analyzers found in one layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerFindings {
    pub packages: Vec<Package>,
    /// OS identification, from whichever release file this layer carries.
    pub distribution: Option<Distribution>,
    pub risks: Vec<RiskFinding>,
    pub malware: Vec<MalwareFinding>,
    /// Files that could not be analysed, limits hit, suspicious entries: shown, not fatal.
    pub warnings: Vec<String>,
}

/// The cacheable result of walking one layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerIndex {
    /// The layer's diff-id.
    pub diff_id: String,
    /// Paths (no leading `/`) this layer deletes with `.wh.<name>` entries.
    pub whiteouts: Vec<String>,
    /// Directories (no leading `/`) this layer makes opaque (`.wh..wh..opq`).
    pub opaque_dirs: Vec<String>,
    /// Every regular file (and hard link) path this layer writes, as digests: a later layer
    /// writing the same path hides this layer's findings for it. Ask with [`file_layer`].
    pub files: PathSet,
    pub findings: LayerFindings,
    /// Entries seen / uncompressed tar bytes read, for progress and benchmarks.
    pub entries: u64,
    pub bytes: u64,
    /// Directories this layer writes, as digests.
    #[serde(default)]
    pub dirs: PathSet,
    /// Symlinks this layer writes, target as stored in the tar (resolve with [`resolve_symlink`]).
    #[serde(default)]
    pub symlinks: Vec<LinkRecord>,
    /// Hard links this layer writes (also listed in `files`), target normalised. Analyzers saw
    /// the content at the target, not at the link path.
    #[serde(default)]
    pub hardlinks: Vec<LinkRecord>,
    /// Devices, FIFOs and sockets: recorded, never opened.
    #[serde(default)]
    pub specials: Vec<String>,
    /// Regular files with setuid or setgid bits.
    #[serde(default)]
    pub setuid_files: Vec<String>,
    /// A walk limit stopped the walk early or left files unanalysed: do not cache as complete.
    #[serde(default)]
    pub partial: bool,
}

/// A link entry: its path (no leading `/`) and its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub path: String,
    pub target: String,
}

/// A list of analyzers with unique names.
pub struct AnalyzerSet {
    analyzers: Vec<Box<dyn Analyzer>>,
}

/// Two analyzers in one set share a name.
#[derive(Debug, thiserror::Error)]
#[error("two analyzers are named {0:?}")]
pub struct DuplicateAnalyzer(pub String);

impl AnalyzerSet {
    pub fn new(analyzers: Vec<Box<dyn Analyzer>>) -> Result<Self, DuplicateAnalyzer> {
        let mut seen = std::collections::HashSet::new();
        for a in &analyzers {
            if !seen.insert(a.name()) {
                return Err(DuplicateAnalyzer(a.name().to_string()));
            }
        }
        Ok(AnalyzerSet { analyzers })
    }

    pub fn analyzers(&self) -> &[Box<dyn Analyzer>] {
        &self.analyzers
    }

    /// Sorted name → version map: part of the layer cache key.
    pub fn versions(&self) -> BTreeMap<&'static str, u32> {
        self.analyzers.iter().map(|a| (a.name(), a.version())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str, u32);
    impl Analyzer for Named {
        fn name(&self) -> &'static str {
            self.0
        }
        fn version(&self) -> u32 {
            self.1
        }
        fn wants(&self, _: &str, _: &FileMeta) -> bool {
            false
        }
        fn analyze(&self, _: &FileInput<'_>, _: &mut LayerFindings) -> Result<(), AnalyzeError> {
            Ok(())
        }
    }

    #[test]
    fn cache_key_changes_with_every_input() {
        let set = |v| AnalyzerSet::new(vec![Box::new(Named("a", v)), Box::new(Named("b", 1))]).unwrap();
        let o = WalkOptions::default();
        let k = cache_key("sha256:1", &set(1), &o, &[]);
        assert_eq!(k, cache_key("sha256:1", &set(1), &o, &[]));
        assert_ne!(k, cache_key("sha256:2", &set(1), &o, &[]));
        assert_ne!(k, cache_key("sha256:1", &set(2), &o, &[]));
        assert_ne!(k, cache_key("sha256:1", &set(1), &WalkOptions { max_file_size: 1, ..o.clone() }, &[]));
        assert_ne!(k, cache_key("sha256:1", &set(1), &o, &["rules:x"]));
        assert!(AnalyzerSet::new(vec![Box::new(Named("a", 1)), Box::new(Named("a", 2))]).is_err());
    }
}
