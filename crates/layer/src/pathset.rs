//! The per-layer path index: which regular files and directories a layer writes.
//!
//! The merge only ever asks "does this layer write path P?" for the paths of findings, links
//! and their ancestors (a few thousand questions), never "list every file". So a layer keeps
//! an 8-byte digest per path instead of the path itself: 8 bytes a file instead of ~290 (a
//! `String` in a `Vec`, its clone in the merged list and a hash-map entry in the merge). A
//! 2M-file layer is a 16 MB index; the per-layer entry limit (`WalkOptions::max_entries`)
//! bounds it at 80 MB. Trivy's applier likewise keeps no listing of the squashed file system,
//! only whiteouts and per-file results; syft's in-memory file tree is why it grows with files.
//!
//! The digest is SHA-256 truncated to 64 bits, not a fast non-cryptographic hash: an image
//! author must not be able to craft an unrelated upper-layer path that collides with a
//! package database's path and so hides its packages (a second preimage costs 2^64).
//! Digests are stable across processes, so indexes stay cacheable.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A set of normalised image paths (no leading `/`), held as 64-bit digests. Insert while
/// walking, then [`PathSet::seal`] (sort, dedup) before asking [`PathSet::contains`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSet {
    digests: Vec<u64>,
    /// Sorted and deduplicated (an empty set is).
    sealed: bool,
}

impl Default for PathSet {
    fn default() -> Self {
        PathSet { digests: Vec::new(), sealed: true }
    }
}

/// The digest of one path, as held in a [`PathSet`].
pub fn digest(path: &str) -> u64 {
    let d = Sha256::digest(path.as_bytes());
    u64::from_le_bytes(d[..8].try_into().expect("a SHA-256 digest has 32 bytes"))
}

impl PathSet {
    pub fn insert(&mut self, path: &str) {
        self.digests.push(digest(path));
        self.sealed = false;
    }

    /// Sorts and drops duplicates (a path written twice in one layer), releasing spare room.
    pub fn seal(&mut self) {
        if !self.sealed {
            self.digests.sort_unstable();
            self.digests.dedup();
            self.digests.shrink_to_fit();
            self.sealed = true;
        }
    }

    /// Whether `path` (no leading `/`) is in the set. A sealed set answers by binary search;
    /// an unsealed one (still being filled) by a scan.
    pub fn contains(&self, path: &str) -> bool {
        self.contains_digest(digest(path))
    }

    pub fn contains_digest(&self, d: u64) -> bool {
        if self.sealed { self.digests.binary_search(&d).is_ok() } else { self.digests.contains(&d) }
    }

    /// Distinct paths once sealed (before: paths inserted).
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

impl<S: AsRef<str>> FromIterator<S> for PathSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut set = PathSet::default();
        for p in iter {
            set.insert(p.as_ref());
        }
        set.seal();
        set
    }
}

/// Cached as one hex string of the sorted little-endian digests (16 characters a path; zstd
/// in the cache takes it to about 8 bytes), not a JSON array of numbers. Written through
/// `collect_str`, so a streaming serializer never holds the whole string.
impl Serialize for PathSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut sorted;
        let digests = if self.sealed {
            &self.digests
        } else {
            sorted = self.digests.clone();
            sorted.sort_unstable();
            sorted.dedup();
            &sorted
        };
        s.collect_str(&Hex(digests))
    }
}

struct Hex<'a>(&'a [u64]);

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = [0u8; 16];
        for d in self.0 {
            hex::encode_to_slice(d.to_le_bytes(), &mut out).map_err(|_| std::fmt::Error)?;
            f.write_str(std::str::from_utf8(&out).map_err(|_| std::fmt::Error)?)?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PathSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PathSet;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a hex string of 8-byte path digests")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<PathSet, E> {
                if !text.len().is_multiple_of(16) {
                    return Err(E::custom("path set: length is not a multiple of 8 bytes"));
                }
                let mut digests = Vec::with_capacity(text.len() / 16);
                for chunk in text.as_bytes().chunks_exact(16) {
                    let mut b = [0u8; 8];
                    hex::decode_to_slice(chunk, &mut b).map_err(E::custom)?;
                    digests.push(u64::from_le_bytes(b));
                }
                // Sealing again makes a foreign or reordered entry safe to binary-search.
                let mut set = PathSet { digests, sealed: false };
                set.seal();
                Ok(set)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_dedup_and_round_trip() {
        let mut s = PathSet::default();
        for p in ["etc/passwd", "usr/bin/env", "etc/passwd"] {
            s.insert(p);
        }
        assert!(s.contains("etc/passwd"));
        s.seal();
        assert_eq!(s.len(), 2);
        assert!(s.contains("usr/bin/env") && !s.contains("usr/bin") && !s.contains("/etc/passwd"));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json.len(), 2 * 16 + 2);
        let back: PathSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(serde_json::from_str::<PathSet>("\"abc\"").is_err());
    }
}
