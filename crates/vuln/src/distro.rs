//! Distributions whose advisories are matched per release: one table row per family.
//!
//! Each row says which os-release `ID`s belong to the family, which package format (and so
//! which version ordering) it uses, how an image's release becomes an advisory key, how the
//! OSV ecosystem strings the family publishes fold onto that same key, and which package name
//! its advisories use. A new distribution is one row here and nothing else.
//!
//! Canonical keys (what `advisory_keys.ecosystem` stores and what images are looked up under):
//! `Debian:12`, `Ubuntu:22.04` (OSV's `Ubuntu:22.04:LTS`), `Ubuntu:Pro:18.04` (kept apart:
//! ESM fixes only apply to Pro subscribers), `Alpine:v3.19`, `Wolfi`, `Chainguard`,
//! `Rocky Linux:9`, `AlmaLinux:9`, `Red Hat:9` (OSV's `Red Hat:enterprise_linux:9::appstream`
//! and every other repository of that major release), `SUSE:Linux Enterprise Server 15 SP5`
//! (also SUSE's Basesystem module, which holds a SLES image's base packages),
//! `openSUSE:Leap 15.5`, `openSUSE:Tumbleweed`, `Mageia:9`, `Photon OS:5.0`.
//!
//! Not here, because OSV publishes no data for them: Amazon Linux and Oracle Linux (their
//! images are recognised, keyed `Amazon Linux:2023` / `Oracle Linux:9`, and match nothing
//! until a feed for them exists); CentOS (end of life, no feed).

use model::{Distribution, Ecosystem};
use std::borrow::Cow;

/// Which package name a family's advisories are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// The source package (Debian, Ubuntu), the apk origin (Alpine, Wolfi).
    Source,
    /// The binary package and, where it differs, the source rpm's name: RPM distributions
    /// publish per binary package, some advisories per source (as Grype looks up both).
    BinaryAndSource,
}

/// One distribution family.
#[derive(Debug)]
pub struct Family {
    /// OSV ecosystem name without release (`Ubuntu`, `Rocky Linux`).
    pub osv: &'static str,
    /// os-release `ID` values (lower case).
    pub os_ids: &'static [&'static str],
    /// The package format, which decides version ordering.
    pub format: Ecosystem,
    pub names: NameRule,
    /// The canonical key of an image's release.
    release_key: fn(&Distribution) -> Option<String>,
    /// The canonical key of an OSV ecosystem string of this family (`None`: a stream no
    /// image is matched against, kept under its raw string).
    canonical: fn(&str) -> Option<String>,
}

fn major(v: &str) -> Option<&str> {
    let m = v.trim().split('.').next()?;
    (!m.is_empty() && m.bytes().all(|b| b.is_ascii_digit())).then_some(m)
}

fn major_minor(v: &str) -> Option<String> {
    let mut it = v.trim().split('.');
    // Alpine edge: `3.21_alpha20240807` is 3.21.
    let (a, b) = (it.next()?, it.next()?.split('_').next()?);
    (!a.is_empty() && !b.is_empty()).then(|| format!("{a}.{b}"))
}

/// `Name:rest` → `rest` when the string is of family `name`.
fn suffix<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.strip_prefix(name)?.strip_prefix(':')
}

/// Keeps the raw string: the family's OSV ecosystems already are canonical.
fn same(raw: &str) -> Option<String> {
    Some(raw.to_owned())
}

/// The table. Order matters only for readability.
pub static FAMILIES: &[Family] = &[
    Family {
        osv: "Debian",
        os_ids: &["debian"],
        format: Ecosystem::Debian,
        names: NameRule::Source,
        release_key: |d| {
            let num = match major(&d.version_id) {
                Some(m) => m.to_owned(),
                None => crate::import::debian_release_number(d.codename.trim())?.to_owned(),
            };
            Some(format!("Debian:{num}"))
        },
        canonical: same,
    },
    Family {
        osv: "Ubuntu",
        os_ids: &["ubuntu"],
        format: Ecosystem::Debian,
        names: NameRule::Source,
        release_key: |d| major_minor(&d.version_id).map(|v| format!("Ubuntu:{v}")),
        // `Ubuntu:22.04:LTS` → `Ubuntu:22.04`; `Ubuntu:Pro:18.04:LTS` → `Ubuntu:Pro:18.04`.
        canonical: |raw| Some(raw.strip_suffix(":LTS").unwrap_or(raw).to_owned()),
    },
    Family {
        osv: "Alpine",
        os_ids: &["alpine"],
        format: Ecosystem::Alpine,
        names: NameRule::Source,
        release_key: |d| major_minor(&d.version_id).map(|v| format!("Alpine:v{v}")),
        canonical: same,
    },
    Family {
        osv: "Wolfi",
        os_ids: &["wolfi"],
        format: Ecosystem::Alpine,
        names: NameRule::Source,
        release_key: |_| Some("Wolfi".into()),
        canonical: same,
    },
    Family {
        osv: "Chainguard",
        os_ids: &["chainguard"],
        format: Ecosystem::Alpine,
        names: NameRule::Source,
        release_key: |_| Some("Chainguard".into()),
        canonical: same,
    },
    Family {
        osv: "Rocky Linux",
        os_ids: &["rocky"],
        format: Ecosystem::Rpm,
        names: NameRule::BinaryAndSource,
        release_key: |d| major(&d.version_id).map(|m| format!("Rocky Linux:{m}")),
        canonical: same,
    },
    Family {
        osv: "AlmaLinux",
        os_ids: &["almalinux"],
        format: Ecosystem::Rpm,
        names: NameRule::BinaryAndSource,
        release_key: |d| major(&d.version_id).map(|m| format!("AlmaLinux:{m}")),
        canonical: same,
    },
    Family {
        osv: "Red Hat",
        os_ids: &["rhel"],
        format: Ecosystem::Rpm,
        names: NameRule::BinaryAndSource,
        release_key: |d| major(&d.version_id).map(|m| format!("Red Hat:{m}")),
        // `Red Hat:enterprise_linux:9::appstream` (any repository) → `Red Hat:9`. The
        // extended-support streams (`rhel_eus`, `rhel_aus`, `rhel_e4s`...) are other products
        // with their own fixed versions: kept raw, never matched against a plain RHEL/UBI.
        canonical: |raw| {
            let rest = suffix(raw, "Red Hat")?;
            let mut parts = rest.split(':');
            match (parts.next(), parts.next()) {
                (Some("enterprise_linux"), Some(v)) => major(v).map(|m| format!("Red Hat:{m}")),
                _ => None,
            }
        },
    },
    Family {
        osv: "SUSE",
        // SLE Micro numbers its releases apart from SLES (5.5, 6.0): not matched as SLES.
        os_ids: &["sles", "sled"],
        format: Ecosystem::Rpm,
        names: NameRule::BinaryAndSource,
        release_key: |d| {
            let (maj, sp) = match d.version_id.trim().split_once('.') {
                Some((a, b)) => (a.to_owned(), b.to_owned()),
                None => (d.version_id.trim().to_owned(), "0".to_owned()),
            };
            major(&maj)?;
            Some(if sp == "0" {
                format!("SUSE:Linux Enterprise Server {maj}")
            } else {
                format!("SUSE:Linux Enterprise Server {maj} SP{sp}")
            })
        },
        canonical: |raw| {
            let rest = suffix(raw, "SUSE")?;
            let release =
                rest.strip_prefix("Linux Enterprise Server ").or_else(|| rest.strip_prefix("Linux Enterprise Module for Basesystem "))?;
            // `15 SP5` exactly: LTSS, for-SAP and other products keep their own keys.
            let mut it = release.split(' ');
            let (maj, sp) = (it.next()?, it.next());
            major(maj)?;
            if it.next().is_some() {
                return None;
            }
            match sp {
                None => Some(format!("SUSE:Linux Enterprise Server {maj}")),
                Some(sp) if sp.strip_prefix("SP").is_some_and(|n| major(n).is_some()) => {
                    Some(format!("SUSE:Linux Enterprise Server {maj} {sp}"))
                }
                _ => None,
            }
        },
    },
    Family {
        osv: "openSUSE",
        os_ids: &["opensuse-leap", "opensuse-tumbleweed", "opensuse"],
        format: Ecosystem::Rpm,
        names: NameRule::BinaryAndSource,
        release_key: |d| {
            if d.id.contains("tumbleweed") {
                Some("openSUSE:Tumbleweed".into())
            } else {
                major_minor(&d.version_id).map(|v| format!("openSUSE:Leap {v}"))
            }
        },
        canonical: same,
    },
    Family {
        osv: "Mageia",
        os_ids: &["mageia"],
        format: Ecosystem::Rpm,
        names: NameRule::BinaryAndSource,
        release_key: |d| major(&d.version_id).map(|m| format!("Mageia:{m}")),
        canonical: same,
    },
    Family {
        osv: "Photon OS",
        os_ids: &["photon"],
        format: Ecosystem::Rpm,
        names: NameRule::BinaryAndSource,
        release_key: |d| major_minor(&d.version_id).map(|v| format!("Photon OS:{v}")),
        canonical: same,
    },
    Family {
        osv: "Amazon Linux",
        os_ids: &["amzn"],
        format: Ecosystem::Rpm,
        names: NameRule::BinaryAndSource,
        release_key: |d| major(&d.version_id).map(|m| format!("Amazon Linux:{m}")),
        canonical: same,
    },
    Family {
        osv: "Oracle Linux",
        os_ids: &["ol"],
        format: Ecosystem::Rpm,
        names: NameRule::BinaryAndSource,
        release_key: |d| major(&d.version_id).map(|m| format!("Oracle Linux:{m}")),
        canonical: same,
    },
];

/// The family of an OSV ecosystem string (`Ubuntu:22.04:LTS` → Ubuntu).
pub fn family_of_ecosystem(raw: &str) -> Option<&'static Family> {
    let base = raw.split(':').next().unwrap_or(raw);
    FAMILIES.iter().find(|f| f.osv == base)
}

/// The family of an image's distribution, by os-release `ID`.
pub fn family_of_distribution(dist: &Distribution) -> Option<&'static Family> {
    let id = dist.id.trim().to_ascii_lowercase();
    FAMILIES.iter().find(|f| f.os_ids.contains(&id.as_str()))
}

/// The key an advisory's affected entry is indexed under: distribution ecosystems folded to
/// their canonical release key (see the module doc), everything else as written.
pub fn canonical_ecosystem(raw: &str) -> Cow<'_, str> {
    match family_of_ecosystem(raw).and_then(|f| (f.canonical)(raw)) {
        Some(k) if k != raw => Cow::Owned(k),
        _ => Cow::Borrowed(raw),
    }
}

/// The key an image's OS packages are looked up under, when its distribution is one this
/// table knows and `format` is that distribution's package format (an rpm found on an
/// Ubuntu image is not matched against Ubuntu data).
pub fn release_key(format: Ecosystem, dist: &Distribution) -> Option<String> {
    let f = family_of_distribution(dist)?;
    (f.format == format).then(|| (f.release_key)(dist)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(id: &str, version_id: &str) -> Distribution {
        Distribution { id: id.into(), version_id: version_id.into(), ..Default::default() }
    }

    #[test]
    fn images_and_advisories_meet_on_one_key() {
        // (os-release ID, VERSION_ID, format, OSV ecosystem strings that must fold onto the key)
        let cases: &[(&str, &str, Ecosystem, &[&str], &str)] = &[
            ("debian", "12", Ecosystem::Debian, &["Debian:12"], "Debian:12"),
            ("ubuntu", "22.04", Ecosystem::Debian, &["Ubuntu:22.04:LTS"], "Ubuntu:22.04"),
            ("ubuntu", "24.10", Ecosystem::Debian, &["Ubuntu:24.10"], "Ubuntu:24.10"),
            ("alpine", "3.19.1", Ecosystem::Alpine, &["Alpine:v3.19"], "Alpine:v3.19"),
            ("wolfi", "20230201", Ecosystem::Alpine, &["Wolfi"], "Wolfi"),
            ("rocky", "9.3", Ecosystem::Rpm, &["Rocky Linux:9"], "Rocky Linux:9"),
            ("almalinux", "8.9", Ecosystem::Rpm, &["AlmaLinux:8"], "AlmaLinux:8"),
            (
                "rhel",
                "9.4",
                Ecosystem::Rpm,
                &["Red Hat:enterprise_linux:9::appstream", "Red Hat:enterprise_linux:9::baseos", "Red Hat:enterprise_linux:9::crb"],
                "Red Hat:9",
            ),
            (
                "sles",
                "15.5",
                Ecosystem::Rpm,
                &["SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Module for Basesystem 15 SP5"],
                "SUSE:Linux Enterprise Server 15 SP5",
            ),
            ("opensuse-leap", "15.5", Ecosystem::Rpm, &["openSUSE:Leap 15.5"], "openSUSE:Leap 15.5"),
            ("opensuse-tumbleweed", "20240101", Ecosystem::Rpm, &["openSUSE:Tumbleweed"], "openSUSE:Tumbleweed"),
        ];
        for (id, ver, format, raws, key) in cases {
            assert_eq!(release_key(*format, &dist(id, ver)).as_deref(), Some(*key), "{id} {ver}");
            for raw in *raws {
                assert_eq!(canonical_ecosystem(raw), *key, "{raw}");
                assert_eq!(family_of_ecosystem(raw).map(|f| f.format), Some(*format), "{raw}");
            }
        }
    }

    #[test]
    fn releases_and_streams_stay_apart() {
        assert_eq!(canonical_ecosystem("Ubuntu:20.04:LTS"), "Ubuntu:20.04");
        assert_eq!(release_key(Ecosystem::Alpine, &dist("alpine", "3.21_alpha20240807")).as_deref(), Some("Alpine:v3.21"));
        assert_eq!(canonical_ecosystem("Ubuntu:Pro:18.04:LTS"), "Ubuntu:Pro:18.04");
        assert_eq!(canonical_ecosystem("Red Hat:rhel_eus:9.2::baseos"), "Red Hat:rhel_eus:9.2::baseos");
        assert_eq!(canonical_ecosystem("SUSE:Linux Enterprise Server 15 SP5-LTSS"), "SUSE:Linux Enterprise Server 15 SP5-LTSS");
        assert_eq!(canonical_ecosystem("PyPI"), "PyPI");
        // An rpm database on a Debian image is not matched against Debian data.
        assert_eq!(release_key(Ecosystem::Rpm, &dist("debian", "12")), None);
        assert_eq!(release_key(Ecosystem::Debian, &dist("centos", "7")), None);
        // Debian by codename when VERSION_ID is absent (testing/sid images).
        let d = Distribution { id: "debian".into(), codename: "trixie".into(), ..Default::default() };
        assert_eq!(release_key(Ecosystem::Debian, &d).as_deref(), Some("Debian:13"));
    }
}
