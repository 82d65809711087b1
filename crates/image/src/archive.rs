//! docker-archive: the `docker save` tar (legacy `<id>/layer.tar` and the OCI-ish
//! `blobs/sha256/...` layout with `manifest.json`). Also used for the Docker Engine export
//! stream, whose members are first spooled to a temp dir (see `docker`).

use crate::config::{Image, parse_config};
use crate::{ArchiveIndexCache, Error, Member};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Small JSON members (manifest, config) are read whole; anything bigger is refused.
pub(crate) const MAX_JSON: u64 = 16 << 20;

pub(crate) const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Members of a docker-archive by normalised name, with symlinks resolved.
pub(crate) struct Members {
    map: HashMap<String, Member>,
}

impl Members {
    fn get(&self, name: &str) -> Result<&Member, Error> {
        let key = clean(name);
        self.map.get(&key).ok_or_else(|| Error::Malformed(format!("docker-archive member {name:?} missing")))
    }

    fn read_small(&self, name: &str) -> Result<Vec<u8>, Error> {
        let m = self.get(name)?;
        if m.size > MAX_JSON {
            return Err(Error::TooLarge(format!("{name}: {} bytes", m.size)));
        }
        let mut out = Vec::with_capacity(m.size as usize);
        m.open()?.read_to_end(&mut out).map_err(Error::io(format!("reading {name}")))?;
        Ok(out)
    }
}

fn clean(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

/// Indexes the members of a docker-archive file (names → offsets), reading no content.
pub(crate) fn index_file(path: &Path) -> Result<Members, Error> {
    let file = File::open(path).map_err(Error::io(format!("opening {}", path.display())))?;
    let mut ar = tar::Archive::new(BufReader::new(file));
    let mut map = HashMap::new();
    let mut links = Vec::new();
    let entries = ar.entries_with_seek().map_err(Error::io(format!("reading {}", path.display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::Malformed(format!("{}: {e}", path.display())))?;
        let name = clean(&String::from_utf8_lossy(&entry.path_bytes()));
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let m = Member { file: path.to_path_buf(), offset: entry.raw_file_position(), size: entry.size() };
                map.insert(name, m);
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                if let Some(t) = entry.link_name_bytes() {
                    links.push((name, String::from_utf8_lossy(&t).into_owned(), entry.header().entry_type()));
                }
            }
            _ => {}
        }
    }
    resolve_links(&mut map, links);
    Ok(Members { map })
}

/// Spools every regular member of a docker-archive stream into `dir` (one file each), within
/// `budget` bytes, so that the manifest (which `docker save` writes last) can be read first.
pub(crate) fn spool_stream(reader: impl Read, dir: &Path, budget: u64) -> Result<Members, Error> {
    let mut ar = tar::Archive::new(reader);
    let mut map = HashMap::new();
    let mut links = Vec::new();
    let mut used = 0u64;
    let entries = ar.entries().map_err(Error::io("reading the export stream"))?;
    for (n, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| Error::Malformed(format!("export stream: {e}")))?;
        let name = clean(&String::from_utf8_lossy(&entry.path_bytes()));
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                used += entry.size();
                if used > budget {
                    return Err(Error::TooLarge(format!("image export exceeds the spool budget of {budget} bytes")));
                }
                let file: PathBuf = dir.join(format!("m{n}"));
                let mut out = File::create(&file).map_err(Error::io(format!("creating {}", file.display())))?;
                let size = std::io::copy(&mut entry, &mut out).map_err(Error::io("spooling the export stream"))?;
                map.insert(name, Member { file, offset: 0, size });
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                if let Some(t) = entry.link_name_bytes() {
                    links.push((name, String::from_utf8_lossy(&t).into_owned(), entry.header().entry_type()));
                }
            }
            _ => {}
        }
    }
    resolve_links(&mut map, links);
    Ok(Members { map })
}

/// Newer `docker save` writes `<id>/layer.tar` as a symlink into `blobs/`; hard links name
/// archive paths. One hop only: members never chain links.
fn resolve_links(map: &mut HashMap<String, Member>, links: Vec<(String, String, tar::EntryType)>) {
    for (name, target, kind) in links {
        let full = if kind == tar::EntryType::Symlink && !target.starts_with('/') {
            let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
            format!("{dir}/{target}")
        } else {
            target
        };
        if let Some(m) = map.get(&clean(&full)).cloned() {
            map.insert(name, m);
        }
    }
}

/// Reads the image `reference` (a RepoTag; `None`: the first image) from indexed members.
pub(crate) fn load(members: &Members, reference: Option<&str>) -> Result<(Image, Vec<Member>), Error> {
    let manifest: Vec<ManifestEntry> =
        serde_json::from_slice(&members.read_small("manifest.json")?).map_err(|e| Error::Malformed(format!("manifest.json: {e}")))?;
    let entry = match reference {
        None => manifest.first(),
        Some(r) => {
            let with_latest = format!("{r}:latest");
            manifest.iter().find(|m| m.repo_tags.iter().flatten().any(|t| t == r || *t == with_latest))
        }
    }
    .ok_or_else(|| Error::NotFound(format!("image {:?} in docker-archive", reference.unwrap_or("(first)"))))?;
    let parsed = parse_config(&members.read_small(&entry.config)?)?;
    let mut blobs = Vec::new();
    let mut layer_members = Vec::new();
    for l in &entry.layers {
        let m = members.get(l)?.clone();
        let digest = clean(l).strip_prefix("blobs/sha256/").map(|h| format!("sha256:{h}"));
        blobs.push((digest, Some(m.size), DOCKER_LAYER.to_string()));
        layer_members.push(m);
    }
    let image = parsed.into_image(entry.repo_tags.clone().unwrap_or_default(), vec![], None, blobs)?;
    Ok((image, layer_members))
}

/// Bump when [`CachedIndex`] or the meaning of its fields changes.
const INDEX_FORMAT: u32 = 1;

/// What a docker-archive's file looks like from the outside: any write, replacement or
/// `touch` changes one of these, and then the remembered index is not used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileIdentity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl FileIdentity {
    fn of(path: &Path) -> Result<FileIdentity, Error> {
        let m = std::fs::metadata(path).map_err(Error::io(format!("reading {}", path.display())))?;
        Ok(FileIdentity { dev: m.dev(), ino: m.ino(), size: m.size(), mtime: m.mtime(), mtime_nsec: m.mtime_nsec() })
    }
}

/// The remembered result of [`load`] for one (file, reference): the image and where its layers
/// lie in the tar.
#[derive(Serialize, Deserialize)]
struct CachedIndex {
    format: u32,
    identity: FileIdentity,
    image: Image,
    /// (offset, size) of each layer member, bottom first.
    layers: Vec<(u64, u64)>,
}

/// [`index_file`] + [`load`], remembered in `cache` by canonical path and reference and used
/// again while the file's [`FileIdentity`] is unchanged, so a warm open reads no byte of the
/// tar (`docker save` writes manifest.json last: finding it walks every header). The cache is
/// an optimisation: a missing, foreign or unwritable entry only costs the walk.
pub(crate) fn load_file(
    path: &Path,
    reference: Option<&str>,
    cache: Option<&dyn ArchiveIndexCache>,
) -> Result<(Image, Vec<Member>), Error> {
    let Some(cache) = cache else {
        return load(&index_file(path)?, reference);
    };
    let path = std::fs::canonicalize(path).map_err(Error::io(format!("opening {}", path.display())))?;
    let before = FileIdentity::of(&path)?;
    let mut h = Sha256::new();
    h.update(format!("docker-archive\0{INDEX_FORMAT}\0"));
    h.update(path.as_os_str().as_encoded_bytes());
    h.update(format!("\0{}", reference.unwrap_or("")));
    let key = format!("sha256:{}", hex::encode(h.finalize()));
    match cache.get(&key) {
        Ok(Some(bytes)) => match serde_json::from_slice::<CachedIndex>(&bytes) {
            Ok(c) if c.format == INDEX_FORMAT && c.identity == before && c.layers.len() == c.image.layers.len() => {
                let members = c.layers.iter().map(|&(offset, size)| Member { file: path.clone(), offset, size }).collect();
                return Ok((c.image, members));
            }
            Ok(_) => tracing::debug!(archive = %path.display(), "docker-archive changed since it was indexed"),
            Err(e) => tracing::debug!(archive = %path.display(), "unreadable docker-archive index entry: {e}"),
        },
        Ok(None) => {}
        Err(e) => tracing::warn!(archive = %path.display(), "reading the docker-archive index cache: {e}"),
    }
    let (image, members) = load(&index_file(&path)?, reference)?;
    // Written only when the file did not change while it was read.
    if FileIdentity::of(&path)? == before {
        let entry = CachedIndex {
            format: INDEX_FORMAT,
            identity: before,
            image: image.clone(),
            layers: members.iter().map(|m| (m.offset, m.size)).collect(),
        };
        match serde_json::to_vec(&entry) {
            Ok(data) => {
                if let Err(e) = cache.put(&key, &data) {
                    tracing::warn!(archive = %path.display(), "writing the docker-archive index cache: {e}");
                }
            }
            Err(e) => tracing::warn!("encoding a docker-archive index: {e}"),
        }
    }
    Ok((image, members))
}

impl Member {
    /// A reader over exactly this member's bytes.
    pub(crate) fn open(&self) -> Result<Box<dyn Read + Send>, Error> {
        let mut f = File::open(&self.file).map_err(Error::io(format!("opening {}", self.file.display())))?;
        f.seek(SeekFrom::Start(self.offset)).map_err(Error::io(format!("seeking {}", self.file.display())))?;
        Ok(Box::new(BufReader::with_capacity(256 * 1024, f).take(self.size)))
    }
}
