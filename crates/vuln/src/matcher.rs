//! Per-ecosystem matchers: which key a package is looked up under, which version is
//! compared, and the OSV range walk with the ecosystem's own ordering.

use crate::advisory::{Affected, Event};
use crate::distro::NameRule;
use crate::index::AdvisoryKey;
use crate::index::Prepared;
use model::{Distribution, Ecosystem, Package};
use std::cmp::Ordering;
use version::Version;

/// Matching rules of one ecosystem. Pure and synchronous.
pub trait Matcher: Send + Sync {
    fn ecosystem(&self) -> Ecosystem;

    /// The lookup keys, none when the package cannot be matched (an OS package on an unknown
    /// distribution release). Several for RPM distributions: binary and source rpm name.
    fn queries(&self, pkg: &Package, dist: Option<&Distribution>) -> Vec<AdvisoryKey>;

    /// The version compared against the advisory: the source version for dpkg and apk
    /// packages (their advisories name source packages), the package's own epoch:version-
    /// release for rpm (a source rpm's file name carries no epoch).
    fn installed_version<'p>(&self, pkg: &'p Package) -> &'p str;

    /// Whether `installed` (parsed from [`Matcher::installed_version`]) is affected by `adv`
    /// under `key`; on a hit, the versions that fix it.
    /// `installed_raw` is the version as catalogued (rpm module builds are told by it).
    fn affected(&self, installed: &Version, installed_raw: &str, key: &AdvisoryKey, adv: &Prepared) -> Option<Hit>;
}

/// An rpm built inside a RHEL-family module stream (`…module+el8.4.0+…`, `…module_el8…`).
/// Module packages and plain ones live on separate version lines (and so do module streams),
/// so an advisory about one never decides the other: comparing them gives false positives.
fn rpm_module_build(v: &str) -> bool {
    v.contains(".module+") || v.contains(".module_")
}

/// An affected package: the fixed versions of the intervals that contain it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hit {
    pub fixed: Vec<String>,
    /// Per-package severity override from the affected entry.
    pub severity: Option<model::Severity>,
}

struct OsvMatcher(Ecosystem);

static DEBIAN: OsvMatcher = OsvMatcher(Ecosystem::Debian);
static ALPINE: OsvMatcher = OsvMatcher(Ecosystem::Alpine);
static RPM: OsvMatcher = OsvMatcher(Ecosystem::Rpm);
static PYPI: OsvMatcher = OsvMatcher(Ecosystem::PyPI);
static NPM: OsvMatcher = OsvMatcher(Ecosystem::Npm);
static GO: OsvMatcher = OsvMatcher(Ecosystem::Go);
static CRATES: OsvMatcher = OsvMatcher(Ecosystem::CratesIo);
static MAVEN: OsvMatcher = OsvMatcher(Ecosystem::Maven);
static RUBYGEMS: OsvMatcher = OsvMatcher(Ecosystem::RubyGems);

/// The matcher of an ecosystem. Exhaustive: a new `Ecosystem` variant does not compile
/// until it has one.
pub fn matcher_for(eco: Ecosystem) -> &'static dyn Matcher {
    match eco {
        Ecosystem::Debian => &DEBIAN,
        Ecosystem::Alpine => &ALPINE,
        Ecosystem::Rpm => &RPM,
        Ecosystem::PyPI => &PYPI,
        Ecosystem::Npm => &NPM,
        Ecosystem::Go => &GO,
        Ecosystem::CratesIo => &CRATES,
        Ecosystem::Maven => &MAVEN,
        Ecosystem::RubyGems => &RUBYGEMS,
    }
}

/// The advisory ecosystem key of an OS release (`Debian:12`, `Ubuntu:22.04`, `Rocky Linux:9`),
/// from os-release; `None` when the distribution is not one [`crate::distro`] knows or uses
/// another package format.
pub fn distro_key(eco: Ecosystem, dist: &Distribution) -> Option<String> {
    crate::distro::release_key(eco, dist)
}

impl Matcher for OsvMatcher {
    fn ecosystem(&self) -> Ecosystem {
        self.0
    }

    fn queries(&self, pkg: &Package, dist: Option<&Distribution>) -> Vec<AdvisoryKey> {
        if !self.0.is_os() {
            return vec![AdvisoryKey::new(self.0.osv_name(), &pkg.name)];
        }
        let Some(dist) = dist else { return vec![] };
        let (Some(family), Some(eco)) = (crate::distro::family_of_distribution(dist), distro_key(self.0, dist)) else {
            return vec![];
        };
        let source = pkg.source_name.as_deref().filter(|s| !s.is_empty());
        match family.names {
            NameRule::Source => vec![AdvisoryKey::new(&eco, source.unwrap_or(&pkg.name))],
            NameRule::BinaryAndSource => {
                let mut keys = vec![AdvisoryKey::new(&eco, &pkg.name)];
                if let Some(src) = source.map(|s| AdvisoryKey::new(&eco, s))
                    && src != keys[0]
                {
                    keys.push(src);
                }
                keys
            }
        }
    }

    fn installed_version<'p>(&self, pkg: &'p Package) -> &'p str {
        if matches!(self.0, Ecosystem::Debian | Ecosystem::Alpine) {
            pkg.source_version.as_deref().filter(|s| !s.is_empty()).unwrap_or(&pkg.version)
        } else {
            &pkg.version
        }
    }

    fn affected(&self, installed: &Version, installed_raw: &str, key: &AdvisoryKey, adv: &Prepared) -> Option<Hit> {
        if adv.advisory.is_withdrawn() {
            return None;
        }
        let installed_module = self.0 == Ecosystem::Rpm && rpm_module_build(installed_raw);
        let mut hit: Option<Hit> = None;
        for e in &adv.entries {
            // RustSec `informational` (unmaintained, unsound...) is not a vulnerability.
            if e.key != *key || e.informational {
                continue;
            }
            if self.0 == Ecosystem::Rpm && e.module.is_some_and(|m| m != installed_module) {
                continue;
            }
            if let Some(fixed) = e.evaluate(installed) {
                let h = hit.get_or_insert_with(Hit::default);
                for f in fixed {
                    if !h.fixed.contains(&f) {
                        h.fixed.push(f);
                    }
                }
                if h.severity.is_none() {
                    h.severity = e.severity;
                }
            }
        }
        hit
    }
}

/// Parsed event bound; `introduced: "0"` is below every version.
#[derive(Debug, Clone)]
enum Bound {
    Zero,
    At(Version),
}

fn cmp_bound(a: &Bound, b: &Bound) -> Ordering {
    match (a, b) {
        (Bound::Zero, Bound::Zero) => Ordering::Equal,
        (Bound::Zero, _) => Ordering::Less,
        (_, Bound::Zero) => Ordering::Greater,
        (Bound::At(x), Bound::At(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
    }
}

/// `v` against a bound.
fn cmp_v(v: &Version, b: &Bound) -> Ordering {
    match b {
        Bound::Zero => Ordering::Greater,
        Bound::At(x) => v.partial_cmp(x).unwrap_or(Ordering::Less),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

/// One affected entry with its versions parsed once, events sorted.
#[derive(Debug, Clone)]
pub(crate) struct PreparedEntry {
    key: AdvisoryKey,
    /// Sorted events per range; the raw string kept for reporting fixed versions.
    ranges: Vec<Vec<(Bound, Kind, String)>>,
    versions: Vec<Version>,
    severity: Option<model::Severity>,
    informational: bool,
    /// Whether the entry's versions are rpm module builds (`None`: it names no version).
    module: Option<bool>,
}

impl PreparedEntry {
    /// `None` for ecosystems no matcher knows (never matchable).
    pub(crate) fn new(aff: &Affected) -> Option<PreparedEntry> {
        let eco = crate::advisory::ecosystem_of(&aff.ecosystem)?;
        let mut ranges = Vec::with_capacity(aff.ranges.len());
        for r in &aff.ranges {
            let mut evs = Vec::with_capacity(r.events.len());
            for e in &r.events {
                let raw = e.version();
                let kind = match e {
                    Event::Introduced(_) => Kind::Introduced,
                    Event::Fixed(_) => Kind::Fixed,
                    Event::LastAffected(_) => Kind::LastAffected,
                    Event::Limit(_) => Kind::Limit,
                };
                let b = if kind == Kind::Introduced && raw == "0" {
                    Bound::Zero
                } else {
                    match Version::parse(eco, raw) {
                        Ok(p) => Bound::At(p),
                        // An unparsable bound is dropped, as OSV's reference evaluator does.
                        Err(_) => continue,
                    }
                };
                evs.push((b, kind, raw.to_owned()));
            }
            // Stable: equal versions keep their order (`introduced X, last_affected X`).
            evs.sort_by(|a, b| cmp_bound(&a.0, &b.0));
            ranges.push(evs);
        }
        Some(PreparedEntry {
            key: AdvisoryKey::new(&aff.ecosystem, &aff.name),
            ranges,
            versions: {
                // Sorted once so membership is a binary search (PyPI lists hundreds of versions).
                let mut vs: Vec<Version> = aff.versions.iter().filter_map(|v| Version::parse(eco, v).ok()).collect();
                vs.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
                vs
            },
            severity: aff.severity,
            informational: aff.informational.is_some(),
            module: {
                let mut named = aff.ranges.iter().flat_map(|r| &r.events).map(|e| e.version()).filter(|v| *v != "0").peekable();
                named.peek().is_some().then(|| named.any(rpm_module_build))
            },
        })
    }

    /// The OSV evaluation: `Some(fixed versions)` when `v` is affected. Ranges and the
    /// explicit `versions` list are united.
    fn evaluate(&self, v: &Version) -> Option<Vec<String>> {
        let mut affected = false;
        let mut fixed = Vec::new();
        for evs in &self.ranges {
            let mut state = false;
            let mut below_limit: Option<bool> = None;
            for (b, kind, _) in evs {
                let c = cmp_v(v, b);
                match kind {
                    Kind::Introduced if c != Ordering::Less => state = true,
                    Kind::Fixed if c != Ordering::Less => state = false,
                    Kind::LastAffected if c == Ordering::Greater => state = false,
                    Kind::Limit => *below_limit.get_or_insert(false) |= c == Ordering::Less,
                    _ => {}
                }
            }
            if state && below_limit == Some(false) {
                state = false;
            }
            if state {
                affected = true;
                if let Some((_, _, raw)) = evs.iter().find(|(b, k, _)| *k == Kind::Fixed && cmp_v(v, b) == Ordering::Less)
                    && !fixed.contains(raw)
                {
                    fixed.push(raw.clone());
                }
            }
        }
        if !affected {
            affected = self.versions.binary_search_by(|lv| lv.partial_cmp(v).unwrap_or(Ordering::Less)).is_ok();
        }
        affected.then_some(fixed)
    }
}

/// The OSV evaluation of one affected entry for `v` (parsed in the entry's ecosystem):
/// `Some(fixed versions)` when affected. Matching uses entries prepared once per advisory.
pub fn affected_entry(v: &Version, aff: &Affected) -> Option<Vec<String>> {
    PreparedEntry::new(aff)?.evaluate(v)
}
