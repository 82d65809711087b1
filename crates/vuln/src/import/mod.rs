//! Reading advisory data from directories and `.zip` / `.tar.gz` bundles.
//!
//! Files are grouped into *sources* (one per directory, or per directory inside a bundle);
//! each source gets a fingerprint over its files' names and contents, so a store can skip
//! unchanged sources and swap changed ones whole. Each file is parsed by the first
//! [`Importer`] that recognises it; a recognised file that fails to parse is a [`Problem`]
//! naming the file, and the rest of the import goes on.

mod advisory_lines;
mod alpine;
mod debian;
mod debian_json;
mod osv;

pub use advisory_lines::{ADVISORY_LINES_SUFFIX, AdvisoryLines};
pub use alpine::AlpineSecdb;
pub use debian::{DebianTrackerList, debian_release_number};
pub use debian_json::{DebianTrackerJson, FILE_NAME as DEBIAN_TRACKER_JSON};
pub use osv::Osv;

use crate::advisory::Advisory;
use crate::error::ImportError;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files bigger than this are refused (the largest real advisory file, the Debian tracker's
/// JSON document, is under 100 MiB; one OSV record is a few KiB to a few MiB).
pub const MAX_FILE_SIZE: u64 = 256 << 20;
/// Total bytes read from one bundle (bounds memory against archive bombs).
pub const MAX_BUNDLE_BYTES: u64 = 2 << 30;

/// Version of what the importers make of a file; part of every source fingerprint, so data
/// imported by an older Shipshape is parsed again (3: OSV `upstream`, CWE ids, CVSS v2/v4,
/// vendor severity words).
pub const IMPORTER_VERSION: &str = "3";

/// A parser for one advisory data format.
pub trait Importer: Send + Sync {
    /// Stable name, e.g. `osv`.
    fn name(&self) -> &'static str;
    /// Whether this file is in this format (name and first bytes only).
    fn detect(&self, path: &str, head: &[u8]) -> bool;
    /// Parses one file. `source` is stamped on every advisory. `Ok(None)`: on a closer look the
    /// file is not in this format (skipped, not a problem).
    fn parse(&self, path: &str, data: &[u8], source: &str) -> Result<Option<Vec<Advisory>>, String>;
}

/// The built-in importers, in detection order.
pub fn importers() -> Vec<Box<dyn Importer>> {
    vec![Box::new(AdvisoryLines), Box::new(AlpineSecdb), Box::new(DebianTrackerList), Box::new(DebianTrackerJson), Box::new(Osv)]
}

/// One file as read from disk or a bundle.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Display path: the file path, or `bundle.zip!inner/path`.
    pub path: String,
    pub data: Vec<u8>,
}

/// The raw files of one source, not parsed yet.
#[derive(Debug, Clone)]
pub struct SourceData {
    /// `<root name>/<dir>`, e.g. `vulndata/osv/PyPI`.
    pub name: String,
    /// SHA-256 over the sorted (path, content) pairs.
    pub fingerprint: String,
    pub files: Vec<DataFile>,
}

/// What one importer made of one file (see [`Importer::parse`]).
type ParseOutcome = Result<Option<Vec<Advisory>>, String>;

/// A file that could not be used, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub error: String,
}

/// One source, parsed.
#[derive(Debug, Clone)]
pub struct ParsedSource {
    pub name: String,
    pub fingerprint: String,
    pub advisories: Vec<Advisory>,
    /// Recognised files that failed to parse (the rest of the source still imports).
    pub problems: Vec<Problem>,
    /// Files in no advisory format (READMEs, scripts, other JSON), with the reason.
    pub skipped: Vec<Problem>,
    /// Files that gave advisories.
    pub files_imported: usize,
}

impl SourceData {
    /// A source from its files (sorted by path here), with its fingerprint.
    pub fn new(name: String, mut files: Vec<DataFile>) -> SourceData {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut h = Sha256::new();
        // Same bytes read by newer importers give other advisories: re-import them.
        h.update(IMPORTER_VERSION.as_bytes());
        for f in &files {
            // Names relative to the group, so the same data imported from another path is unchanged.
            let base = f.path.rsplit(['/', '!']).next().unwrap_or(&f.path);
            h.update((base.len() as u64).to_le_bytes());
            h.update(base.as_bytes());
            h.update((f.data.len() as u64).to_le_bytes());
            h.update(&f.data);
        }
        SourceData { name, fingerprint: hex::encode(h.finalize()), files }
    }

    /// Parses every file of the source (in parallel) and merges advisories that share an id
    /// (Alpine lists one CVE under several packages and files).
    pub fn parse(&self) -> ParsedSource {
        let importers = importers();
        let results: Vec<(String, ParseOutcome)> = self
            .files
            .par_iter()
            .map(|f| {
                let head = &f.data[..f.data.len().min(512)];
                let r = match importers.iter().find(|i| i.detect(&f.path, head)) {
                    Some(imp) => imp.parse(&f.path, &f.data, &self.name),
                    None => Ok(None),
                };
                (f.path.clone(), r)
            })
            .collect();
        let mut out = ParsedSource {
            name: self.name.clone(),
            fingerprint: self.fingerprint.clone(),
            advisories: Vec::new(),
            problems: Vec::new(),
            skipped: Vec::new(),
            files_imported: 0,
        };
        let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
        for (path, r) in results {
            match r {
                Ok(Some(advs)) => {
                    out.files_imported += 1;
                    for a in advs {
                        match by_id.get_mut(&a.id) {
                            Some(prev) => merge(prev, a),
                            None => {
                                by_id.insert(a.id.clone(), a);
                            }
                        }
                    }
                }
                Ok(None) => out.skipped.push(Problem { file: path, error: "not in a known advisory format".into() }),
                Err(error) => out.problems.push(Problem { file: path, error }),
            }
        }
        out.advisories = by_id.into_values().collect();
        out
    }
}

fn merge(into: &mut Advisory, other: Advisory) {
    for a in other.aliases {
        if !into.aliases.contains(&a) {
            into.aliases.push(a);
        }
    }
    for r in other.references {
        if !into.references.contains(&r) {
            into.references.push(r);
        }
    }
    into.affected.extend(other.affected);
}

/// Reads every file under `path` (a directory, a single file, or a `.zip`/`.tar.gz`/`.tgz`/`.tar`
/// bundle) and groups them into sources. Hidden files and directories are ignored.
pub fn read_sources(path: &Path) -> Result<Vec<SourceData>, ImportError> {
    let root_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| ".".into());
    let mut groups: BTreeMap<String, Vec<DataFile>> = BTreeMap::new();
    let meta = std::fs::metadata(path).map_err(|source| ImportError::Io { path: path.into(), source })?;
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files)?;
        for f in files {
            let rel = f.strip_prefix(path).unwrap_or(&f).to_path_buf();
            let dir = rel.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
            if is_bundle(&f) {
                read_bundle(&f, &format!("{root_name}/{}", rel.to_string_lossy()), &mut groups)?;
                continue;
            }
            let data = read_capped(&f)?;
            let group = if dir.is_empty() { root_name.clone() } else { format!("{root_name}/{dir}") };
            groups.entry(group).or_default().push(DataFile { path: f.to_string_lossy().into_owned(), data });
        }
    } else if is_bundle(path) {
        read_bundle(path, &root_name, &mut groups)?;
    } else {
        let data = read_capped(path)?;
        groups.entry(root_name).or_default().push(DataFile { path: path.to_string_lossy().into_owned(), data });
    }
    Ok(groups.into_iter().map(|(name, files)| SourceData::new(name, files)).collect())
}

/// Reads and parses everything under `path`.
pub fn load_path(path: &Path) -> Result<Vec<ParsedSource>, ImportError> {
    Ok(read_sources(path)?.par_iter().map(SourceData::parse).collect())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ImportError> {
    let rd = std::fs::read_dir(dir).map_err(|source| ImportError::Io { path: dir.into(), source })?;
    let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        // file_type() does not follow symlinks: a link loop or escape is not walked.
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&e.path(), out)?;
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

fn read_capped(p: &Path) -> Result<Vec<u8>, ImportError> {
    let f = std::fs::File::open(p).map_err(|source| ImportError::Io { path: p.into(), source })?;
    let mut buf = Vec::new();
    f.take(MAX_FILE_SIZE + 1).read_to_end(&mut buf).map_err(|source| ImportError::Io { path: p.into(), source })?;
    if buf.len() as u64 > MAX_FILE_SIZE {
        return Err(ImportError::Parse(format!("{}: larger than {MAX_FILE_SIZE} bytes", p.display())));
    }
    Ok(buf)
}

fn is_bundle(p: &Path) -> bool {
    let n = p.to_string_lossy().to_ascii_lowercase();
    n.ends_with(".zip") || n.ends_with(".tar.gz") || n.ends_with(".tgz") || n.ends_with(".tar")
}

fn read_bundle(p: &Path, group_prefix: &str, groups: &mut BTreeMap<String, Vec<DataFile>>) -> Result<(), ImportError> {
    let arch_err = |reason: String| ImportError::Archive { path: p.into(), reason };
    let f = std::fs::File::open(p).map_err(|source| ImportError::Io { path: p.into(), source })?;
    let display = p.to_string_lossy().into_owned();
    let mut total = 0u64;
    let add = |name: &str, data: Vec<u8>, groups: &mut BTreeMap<String, Vec<DataFile>>| {
        let name = name.trim_start_matches("./");
        if name.split('/').any(|c| c.starts_with('.') && !c.is_empty()) {
            return;
        }
        let dir = name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let group = if dir.is_empty() { group_prefix.to_owned() } else { format!("{group_prefix}!{dir}") };
        groups.entry(group).or_default().push(DataFile { path: format!("{display}!{name}"), data });
    };
    let lower = display.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        let mut z = zip::ZipArchive::new(f).map_err(|e| arch_err(e.to_string()))?;
        for i in 0..z.len() {
            let mut e = z.by_index(i).map_err(|e| arch_err(e.to_string()))?;
            if !e.is_file() {
                continue;
            }
            let name = e.name().to_owned();
            let data = read_entry(&mut e, &mut total).map_err(|r| arch_err(format!("{name}: {r}")))?;
            add(&name, data, groups);
        }
    } else {
        let reader: Box<dyn Read> = if lower.ends_with(".tar") { Box::new(f) } else { Box::new(flate2::read::MultiGzDecoder::new(f)) };
        let mut t = tar::Archive::new(reader);
        for e in t.entries().map_err(|e| arch_err(e.to_string()))? {
            let mut e = e.map_err(|e| arch_err(e.to_string()))?;
            if e.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = e.path().map_err(|e| arch_err(e.to_string()))?.to_string_lossy().into_owned();
            let data = read_entry(&mut e, &mut total).map_err(|r| arch_err(format!("{name}: {r}")))?;
            add(&name, data, groups);
        }
    }
    Ok(())
}

fn read_entry(r: &mut dyn Read, total: &mut u64) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    r.take(MAX_FILE_SIZE + 1).read_to_end(&mut buf).map_err(|e| e.to_string())?;
    if buf.len() as u64 > MAX_FILE_SIZE {
        return Err(format!("entry larger than {MAX_FILE_SIZE} bytes"));
    }
    *total += buf.len() as u64;
    if *total > MAX_BUNDLE_BYTES {
        return Err(format!("bundle expands to more than {MAX_BUNDLE_BYTES} bytes"));
    }
    Ok(buf)
}
