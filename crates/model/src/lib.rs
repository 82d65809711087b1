//! The shared vocabulary of Shipshape.
//!
//! Plain data types every other crate speaks: what a package is, where it was found, which
//! distribution an image runs, how severe a finding is. No I/O, no async, no parsing of
//! foreign formats: those belong to the crates that own them.

use serde::{Deserialize, Serialize};

pub mod node;
pub mod scan_summary;
use std::fmt;

/// The tenant every stored row belongs to (the TencentCloud `AppId`).
pub type AccountId = i64;

/// A package ecosystem: decides version ordering and which advisories apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ecosystem {
    Debian,
    Alpine,
    Rpm,
    PyPI,
    Npm,
    Go,
    CratesIo,
    Maven,
    RubyGems,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 9] = [
        Ecosystem::Debian,
        Ecosystem::Alpine,
        Ecosystem::Rpm,
        Ecosystem::PyPI,
        Ecosystem::Npm,
        Ecosystem::Go,
        Ecosystem::CratesIo,
        Ecosystem::Maven,
        Ecosystem::RubyGems,
    ];

    /// The OSV ecosystem name (without a release suffix such as `:12`).
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::Debian => "Debian",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::Rpm => "Red Hat",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "Go",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Maven => "Maven",
            Ecosystem::RubyGems => "RubyGems",
        }
    }

    /// The package-url type (`pkg:<type>/...`).
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Debian => "deb",
            Ecosystem::Alpine => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "golang",
            Ecosystem::CratesIo => "cargo",
            Ecosystem::Maven => "maven",
            Ecosystem::RubyGems => "gem",
        }
    }

    /// Parses an OSV ecosystem name; a release suffix (`Debian:12`) is ignored.
    pub fn from_osv(name: &str) -> Option<Ecosystem> {
        let base = name.split(':').next().unwrap_or(name);
        Ecosystem::ALL.into_iter().find(|e| e.osv_name() == base)
    }

    /// OS package ecosystems are matched per distribution release; language ones are not.
    pub fn is_os(self) -> bool {
        matches!(self, Ecosystem::Debian | Ecosystem::Alpine | Ecosystem::Rpm)
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// Where a thing was found inside an image.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Location {
    /// Absolute path inside the image root, always starting with `/`.
    pub path: String,
    /// 0-based index of the layer in the image's layer list.
    pub layer_index: u32,
    /// The layer's diff-id (`sha256:...` of the uncompressed tar).
    pub layer_digest: String,
}

/// The operating system an image runs, from os-release and friends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Distribution {
    /// os-release `ID` (`debian`, `alpine`, `rhel`...).
    pub id: String,
    /// os-release `VERSION_ID` (`12`, `3.19.1`...).
    pub version_id: String,
    /// os-release `VERSION_CODENAME` (`bookworm`), empty when absent.
    pub codename: String,
    /// os-release `PRETTY_NAME`.
    pub pretty_name: String,
}

/// An installed package as catalogued from an image.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// The name as the ecosystem spells it (PyPI names are kept as written; matchers normalise).
    pub name: String,
    pub version: String,
    /// The source package (dpkg `Source:`, rpm source rpm, apk origin) where one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Package-url, e.g. `pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12`.
    pub purl: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// The metadata file that declared the package, and the layer it came from.
    pub location: Location,
}

/// The TCSS level words, by level number - 1.
const TCSS_LEVELS: [&str; 4] = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

/// Severity on the TCSS scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub enum Severity {
    #[default]
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The TCSS level number (vulnerability `Level`, virus `RiskLevel`, risk `Level`): 1 low,
    /// 2 medium, 3 high, 4 critical. Unknown reads as 1 because TCSS has no unknown level. The one
    /// Severity → TCSS mapping: the level words and the per-level counts derive from it.
    pub fn tcss_level_number(self) -> u64 {
        match self {
            Severity::Critical => 4,
            Severity::High => 3,
            Severity::Medium => 2,
            Severity::Low | Severity::Unknown => 1,
        }
    }

    /// The TCSS level string (`CRITICAL`, `HIGH`, `MEDIUM`, `LOW`; unknown reads as `LOW`).
    pub fn tcss_level(self) -> &'static str {
        TCSS_LEVELS[self.tcss_level_number() as usize - 1]
    }

    /// A TCSS level as a request names it: `1`..`4` or `LOW`..`CRITICAL` (any case); the
    /// severity of that level (never `Unknown`).
    pub fn from_tcss_level(v: &str) -> Option<Severity> {
        let v = v.trim().to_ascii_uppercase();
        let n = match v.parse::<usize>() {
            Ok(n @ 1..=4) => n,
            Ok(_) => return None,
            Err(_) => TCSS_LEVELS.iter().position(|w| *w == v)? + 1,
        };
        Some([Severity::Low, Severity::Medium, Severity::High, Severity::Critical][n - 1])
    }

    /// Maps a CVSS base score onto the CVSS v3 qualitative scale.
    pub fn from_cvss_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Unknown
        }
    }

    /// Parses free-form severity words used by advisories (`important`, `moderate`...).
    pub fn from_word(word: &str) -> Severity {
        match word.trim().to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" | "negligible" | "unimportant" => Severity::Low,
            _ => Severity::Unknown,
        }
    }
}

/// A leaked secret or sensitive file found in an image (the secret itself is never kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RiskFinding {
    /// Stable rule id, e.g. `aws-access-key-id`.
    pub rule_id: String,
    /// Human title of the rule.
    pub title: String,
    /// `secret`, `private-key` or `sensitive-file`.
    pub category: String,
    pub severity: Severity,
    pub location: Location,
    /// 1-based line of the match, 0 when not line-oriented.
    pub line: u32,
    /// The matched value masked: first 4 characters, the rest starred.
    pub masked: String,
    /// Set when a later layer deleted or replaced the file: that layer's index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_in_layer: Option<u32>,
}

/// A malware (trojan) hit by a YARA rule or a ClamAV signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MalwareFinding {
    /// The rule or signature name.
    pub signature: String,
    /// `yara:<file>` or `clamav:<file>`: which rule source matched.
    pub source: String,
    pub severity: Severity,
    pub location: Location,
    /// For a member of an archive: the path inside it (`inner/path`, nested with `!/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_member: Option<String>,
    pub size: u64,
    pub md5: String,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_in_layer: Option<u32>,
}

/// What an API key may do. `Agent` keys (`shipshape keys create --role agent`) can call the node
/// report action and nothing else; `Full` keys can call every action but that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyRole {
    #[default]
    Full,
    Agent,
}

impl KeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Full => "full",
            KeyRole::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<KeyRole> {
        match s {
            "full" => Some(KeyRole::Full),
            "agent" => Some(KeyRole::Agent),
            _ => None,
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a unix time, as TCSS prints times; empty outside the years
/// 1 to 9999.
pub fn format_utc(secs: i64) -> String {
    const TCSS: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(secs).ok().and_then(|t| t.format(TCSS).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59");
        assert_eq!(format_utc(i64::MAX), "");
    }

    #[test]
    fn osv_names_round_trip() {
        for e in Ecosystem::ALL {
            assert_eq!(Ecosystem::from_osv(e.osv_name()), Some(e));
        }
        assert_eq!(Ecosystem::from_osv("Debian:12"), Some(Ecosystem::Debian));
        assert_eq!(Ecosystem::from_osv("Nope"), None);
    }

    #[test]
    fn cvss_scale() {
        assert_eq!(Severity::from_cvss_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_cvss_score(7.0), Severity::High);
        assert_eq!(Severity::from_cvss_score(5.3), Severity::Medium);
        assert_eq!(Severity::from_cvss_score(0.1), Severity::Low);
        assert_eq!(Severity::Unknown.tcss_level(), "LOW");
    }

    #[test]
    fn tcss_levels() {
        for s in [Severity::Low, Severity::Medium, Severity::High, Severity::Critical] {
            assert_eq!(Severity::from_tcss_level(s.tcss_level()), Some(s));
            assert_eq!(Severity::from_tcss_level(&s.tcss_level_number().to_string()), Some(s));
        }
        assert_eq!(Severity::from_tcss_level(" high "), Some(Severity::High));
        assert_eq!(Severity::Critical.tcss_level_number(), 4);
        assert_eq!(Severity::Unknown.tcss_level_number(), 1);
        for bad in ["0", "5", "", "UNKNOWN", "-1"] {
            assert_eq!(Severity::from_tcss_level(bad), None, "{bad}");
        }
    }
}
