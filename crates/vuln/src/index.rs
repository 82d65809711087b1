//! What matching needs from storage, and the in-memory implementation.

use crate::advisory::{Advisory, normalize_name};
use crate::error::IndexError;
use crate::import::ParsedSource;
use crate::matcher::PreparedEntry;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Where to look advisories up: an OSV ecosystem string with release where it has one
/// (`PyPI`, `Debian:12`, `Alpine:v3.11`) and a normalised package name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AdvisoryKey {
    pub ecosystem: String,
    pub name: String,
}

impl AdvisoryKey {
    /// Builds a key: a distribution ecosystem folded onto its canonical release key
    /// ([`crate::distro::canonical_ecosystem`]), `name` normalised for the ecosystem.
    pub fn new(ecosystem: &str, name: &str) -> AdvisoryKey {
        AdvisoryKey { ecosystem: crate::distro::canonical_ecosystem(ecosystem).into_owned(), name: normalize_name(ecosystem, name) }
    }
}

impl Advisory {
    /// The keys the advisory is found under (one per affected package, deduplicated): what a
    /// store indexes and what [`AdvisoryIndex::advisories`] is asked with.
    pub fn keys(&self) -> Vec<AdvisoryKey> {
        let mut keys: Vec<AdvisoryKey> = self.affected.iter().map(|a| AdvisoryKey::new(&a.ecosystem, &a.name)).collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// An advisory with its affected entries' versions parsed once (matching compares many
/// packages against the same events).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub advisory: Advisory,
    pub(crate) entries: Vec<PreparedEntry>,
}

impl Prepared {
    pub fn new(advisory: Advisory) -> Prepared {
        let entries = advisory.affected.iter().filter_map(PreparedEntry::new).collect();
        Prepared { advisory, entries }
    }
}

/// Advisory storage as matching sees it: all advisories with an affected entry under `key`
/// (withdrawn ones included or not: matching skips them either way).
pub trait AdvisoryIndex: Send + Sync {
    fn advisories(&self, key: &AdvisoryKey) -> Result<Vec<Arc<Prepared>>, IndexError>;

    /// Whether any advisory data is loaded (scanning without data must fail, not report 0).
    fn is_empty(&self) -> Result<bool, IndexError>;
}

/// All advisories in memory, keyed by (ecosystem, normalised name). Real: used by tests,
/// benchmarks and the CLI when matching straight from files.
#[derive(Debug, Default, Clone)]
pub struct MemoryIndex {
    by_key: HashMap<AdvisoryKey, Vec<Arc<Prepared>>>,
    count: usize,
}

impl MemoryIndex {
    pub fn new() -> MemoryIndex {
        MemoryIndex::default()
    }

    /// Adds one advisory under each of its affected (ecosystem, name) keys.
    pub fn insert(&mut self, adv: Advisory) {
        self.insert_prepared(Prepared::new(adv));
    }

    fn insert_prepared(&mut self, p: Prepared) {
        let adv = Arc::new(p);
        for k in adv.advisory.keys() {
            self.by_key.entry(k).or_default().push(Arc::clone(&adv));
        }
        self.count += 1;
    }

    pub fn from_sources(sources: impl IntoIterator<Item = ParsedSource>) -> MemoryIndex {
        let all: Vec<Advisory> = sources.into_iter().flat_map(|s| s.advisories).collect();
        let prepared: Vec<Prepared> = all.into_par_iter().map(Prepared::new).collect();
        let mut idx = MemoryIndex::new();
        for p in prepared {
            idx.insert_prepared(p);
        }
        idx
    }

    /// Number of advisories inserted (emptiness: [`AdvisoryIndex::is_empty`]).
    #[allow(clippy::len_without_is_empty, reason = "is_empty is defined next to it")]
    pub fn len(&self) -> usize {
        self.count
    }
}

impl AdvisoryIndex for MemoryIndex {
    fn advisories(&self, key: &AdvisoryKey) -> Result<Vec<Arc<Prepared>>, IndexError> {
        Ok(self.by_key.get(key).cloned().unwrap_or_default())
    }

    fn is_empty(&self) -> Result<bool, IndexError> {
        Ok(self.count == 0)
    }
}
