//! SemVer 2.0 precedence for npm, crates.io and Go, on top of the `semver` crate.
//!
//! `semver::Version`'s own `Ord` breaks ties on build metadata; SemVer precedence (and so
//! OSV `SEMVER` ranges, Go's `+incompatible`) ignores it, hence this wrapper.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub struct SemVersion(semver::Version);

impl SemVersion {
    /// Strict SemVer 2.0 (crates.io).
    pub fn parse_strict(s: &str) -> Result<SemVersion, String> {
        semver::Version::parse(s.trim()).map(SemVersion).map_err(|e| e.to_string())
    }

    /// npm: node-semver accepts a leading `v` or `=` and surrounding spaces.
    pub fn parse_npm(s: &str) -> Result<SemVersion, String> {
        let t = s.trim().trim_start_matches(['=', 'v', 'V']).trim();
        Self::parse_strict(t)
    }

    /// Go: module versions carry `v` (`v1.2.3`, pseudo-versions `v0.0.0-2019...-abcdef`,
    /// `v2.0.0+incompatible`); OSV spells them without `v`; the toolchain says `go1.21`.
    pub fn parse_go(s: &str) -> Result<SemVersion, String> {
        let t = s.trim();
        let t = t.strip_prefix("go").unwrap_or(t);
        let t = t.strip_prefix('v').unwrap_or(t);
        // Toolchain versions may omit patch/minor (`1.21`): Go treats them as `1.21.0`.
        let core_end = t.find(['-', '+']).unwrap_or(t.len());
        let dots = t[..core_end].matches('.').count();
        let padded;
        let t = if dots < 2 && !t[..core_end].is_empty() {
            padded = format!("{}{}{}", &t[..core_end], ".0".repeat(2 - dots), &t[core_end..]);
            padded.as_str()
        } else {
            t
        };
        Self::parse_strict(t)
    }

    pub fn inner(&self) -> &semver::Version {
        &self.0
    }
}

impl Ord for SemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.0, &other.0);
        a.major
            .cmp(&b.major)
            .then(a.minor.cmp(&b.minor))
            .then(a.patch.cmp(&b.patch))
            // semver::Prerelease orders empty (a release) above any pre-release, per SemVer §11.
            .then_with(|| a.pre.cmp(&b.pre))
    }
}

impl PartialOrd for SemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemVersion {}
