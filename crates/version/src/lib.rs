//! Version parsing and ordering, one module per ecosystem family.
//!
//! Owns only "is A older than B" for each ecosystem's own rules. It knows nothing of
//! advisories or ranges (that is `vuln`). Every ordering is total within one ecosystem;
//! comparing versions of different families is an error, never a guess.

mod apk;
mod error;
mod gem;
mod maven;
mod rpm;
mod semver_ord;

pub use apk::ApkVersion;
pub use error::{Error, ErrorKind};
pub use gem::GemVersion;
pub use maven::MavenVersion;
pub use rpm::{RpmVersion, rpmvercmp};
pub use semver_ord::SemVersion;

use model::Ecosystem;
use std::cmp::Ordering;
use std::str::FromStr;

/// A parsed version of one ecosystem family.
#[derive(Debug, Clone)]
pub enum Version {
    /// dpkg ordering (epochs, `~`), via the `debversion` crate.
    Deb(debversion::Version),
    /// rpmvercmp over epoch:version-release.
    Rpm(RpmVersion),
    /// apk-tools ordering (`_rc`, `_p`, `-rN`, letters).
    Apk(ApkVersion),
    /// PEP 440 via `pep440_rs`.
    Pep440(pep440_rs::Version),
    /// SemVer 2.0 precedence (npm, crates.io, Go; build metadata ignored).
    Sem(SemVersion),
    /// Maven ComparableVersion.
    Maven(MavenVersion),
    /// RubyGems Gem::Version.
    Gem(GemVersion),
}

impl Version {
    /// Parses `s` with the rules of `eco`.
    pub fn parse(eco: Ecosystem, s: &str) -> Result<Version, Error> {
        let invalid = |reason: String| Error::invalid(eco, s, reason);
        Ok(match eco {
            Ecosystem::Debian => Version::Deb(debversion::Version::from_str(s.trim()).map_err(|e| invalid(e.to_string()))?),
            Ecosystem::Rpm => Version::Rpm(RpmVersion::parse(s).map_err(invalid)?),
            Ecosystem::Alpine => Version::Apk(ApkVersion::parse(s).map_err(invalid)?),
            Ecosystem::PyPI => Version::Pep440(pep440_rs::Version::from_str(s.trim()).map_err(|e| invalid(e.to_string()))?),
            Ecosystem::Npm => Version::Sem(SemVersion::parse_npm(s).map_err(invalid)?),
            Ecosystem::CratesIo => Version::Sem(SemVersion::parse_strict(s).map_err(invalid)?),
            Ecosystem::Go => Version::Sem(SemVersion::parse_go(s).map_err(invalid)?),
            Ecosystem::Maven => Version::Maven(MavenVersion::parse(s).map_err(invalid)?),
            Ecosystem::RubyGems => Version::Gem(GemVersion::parse(s).map_err(invalid)?),
        })
    }

    fn family(&self) -> &'static str {
        match self {
            Version::Deb(_) => "dpkg",
            Version::Rpm(_) => "rpm",
            Version::Apk(_) => "apk",
            Version::Pep440(_) => "pep440",
            Version::Sem(_) => "semver",
            Version::Maven(_) => "maven",
            Version::Gem(_) => "rubygems",
        }
    }

    /// Orders two versions of the same family; different families are an error.
    pub fn try_cmp(&self, other: &Version) -> Result<Ordering, Error> {
        self.partial_cmp(other).ok_or_else(|| Error::mismatch(self.family(), other.family()))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.partial_cmp(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(match (self, other) {
            (Version::Deb(a), Version::Deb(b)) => a.cmp(b),
            (Version::Rpm(a), Version::Rpm(b)) => a.cmp(b),
            (Version::Apk(a), Version::Apk(b)) => a.cmp(b),
            (Version::Pep440(a), Version::Pep440(b)) => a.cmp(b),
            (Version::Sem(a), Version::Sem(b)) => a.cmp(b),
            (Version::Maven(a), Version::Maven(b)) => a.cmp(b),
            (Version::Gem(a), Version::Gem(b)) => a.cmp(b),
            _ => return None,
        })
    }
}

/// Compares two version strings of one ecosystem.
pub fn compare(eco: Ecosystem, a: &str, b: &str) -> Result<Ordering, Error> {
    Version::parse(eco, a)?.try_cmp(&Version::parse(eco, b)?)
}
