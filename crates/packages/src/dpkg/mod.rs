//! Debian packages from `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*`.
//!
//! The binary package is reported with its source package name and version (`Source: foo` or
//! `Source: foo (1.2-3)`), because Debian advisories are keyed by source package.

use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::{Ecosystem, Package};

pub struct Dpkg;

impl Analyzer for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        path == "var/lib/dpkg/status"
            || path
                .strip_prefix("var/lib/dpkg/status.d/")
                .is_some_and(|n| !n.is_empty() && !n.contains('/') && !n.ends_with(".md5sums") && !n.starts_with('.'))
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let text = String::from_utf8_lossy(file.data);
        for mut p in parse_status(&text) {
            p.location = file.location.clone();
            out.packages.push(p);
        }
        Ok(())
    }
}

/// Parses a dpkg status file (or one `status.d` entry) into installed packages; the location
/// is left empty. Stanzas whose `Status` state is not `installed` are skipped; a stanza with
/// no `Status` (distroless `status.d`) counts as installed.
pub fn parse_status(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let fields = util::stanza_fields(stanza);
        let get = |k: &str| fields.iter().find(|(f, _)| f.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str());
        let (Some(name), Some(version)) = (get("Package"), get("Version")) else {
            continue;
        };
        if name.is_empty() || version.is_empty() {
            continue;
        }
        if let Some(status) = get("Status")
            && status.split_whitespace().nth(2) != Some("installed")
        {
            continue;
        }
        let arch = get("Architecture").unwrap_or("");
        let (source_name, source_version) = match get("Source").and_then(parse_source) {
            Some((n, v)) => (n.to_string(), v.unwrap_or(version).to_string()),
            None => (name.to_string(), version.to_string()),
        };
        out.push(Package {
            ecosystem: Ecosystem::Debian,
            name: name.to_string(),
            version: version.to_string(),
            purl: util::purl("deb", Some("debian"), name, version, &[("arch", arch)]),
            source_name: Some(source_name),
            source_version: Some(source_version),
            licenses: Vec::new(),
            location: Default::default(),
        });
    }
    out
}

/// `foo` or `foo (1.2-3)`.
fn parse_source(s: &str) -> Option<(&str, Option<&str>)> {
    let mut it = s.split_whitespace();
    let name = it.next()?;
    let version = it.next().and_then(|v| v.strip_prefix('(')).and_then(|v| v.strip_suffix(')'));
    Some((name, version.filter(|v| !v.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{meta, run, testdata};

    #[test]
    fn status_file_with_sources() {
        let out = run(&Dpkg, "var/lib/dpkg/status", &testdata("dpkg/status"));
        let got: Vec<_> = out
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.source_name.as_deref(), p.source_version.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("adduser", "3.134", Some("adduser"), Some("3.134")),
                ("bsdutils", "1:2.38.1-5+deb12u3", Some("util-linux"), Some("2.38.1-5+deb12u3")),
                ("libssl3", "3.0.19-1~deb12u2", Some("openssl"), Some("3.0.19-1~deb12u2")),
                ("tzdata", "2025b-0+deb12u2", Some("tzdata"), Some("2025b-0+deb12u2")),
            ]
        );
        assert_eq!(out.packages[1].purl, "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64");
        assert_eq!(out.packages[0].location.path, "/var/lib/dpkg/status");
    }

    #[test]
    fn distroless_status_d() {
        let out = run(&Dpkg, "var/lib/dpkg/status.d/libssl3", &testdata("dpkg/status.d/libssl3"));
        assert_eq!(out.packages.len(), 1);
        assert_eq!(out.packages[0].source_name.as_deref(), Some("openssl"));
        assert!(!Dpkg.wants("var/lib/dpkg/status.d/libssl3.md5sums", &meta(1)));
        assert!(!Dpkg.wants("var/lib/dpkg/status-old", &meta(1)));
        assert!(!Dpkg.wants("usr/var/lib/dpkg/status", &meta(1)));
    }

    proptest::proptest! {
        /// Any set of stanzas in dpkg's shape parses back to exactly its installed packages.
        #[test]
        fn stanzas_round_trip(pkgs in proptest::collection::vec((
            "[a-z0-9][a-z0-9.+-]{0,20}",
            "([0-9]:)?[0-9][A-Za-z0-9.+~]{0,10}(-[A-Za-z0-9.+~]{1,8})?",
            proptest::option::of(("[a-z0-9][a-z0-9.+-]{0,20}", proptest::option::of("[0-9][A-Za-z0-9.+~-]{0,10}"))),
            proptest::bool::ANY,
        ), 0..12)) {
            let mut text = String::new();
            let mut want = Vec::new();
            for (name, version, source, installed) in &pkgs {
                let status = if *installed { "install ok installed" } else { "deinstall ok config-files" };
                text.push_str(&format!("Package: {name}\nStatus: {status}\nArchitecture: amd64\nVersion: {version}\n"));
                let (sn, sv) = match source {
                    Some((sn, Some(sv))) => { text.push_str(&format!("Source: {sn} ({sv})\n")); (sn.clone(), sv.clone()) }
                    Some((sn, None)) => { text.push_str(&format!("Source: {sn}\n")); (sn.clone(), version.clone()) }
                    None => (name.clone(), version.clone()),
                };
                text.push_str("Description: x\n multi-line: with a colon\n\n");
                if *installed {
                    want.push((name.clone(), version.clone(), sn, sv));
                }
            }
            let got: Vec<_> = parse_status(&text).into_iter()
                .map(|p| (p.name, p.version, p.source_name.unwrap_or_default(), p.source_version.unwrap_or_default()))
                .collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn garbage_is_not_a_package() {
        assert!(parse_status("Package:\nVersion: 1\n\n\u{0}\u{1}\n\nPackage: x\n").is_empty());
        assert_eq!(parse_source("foo (1.0)"), Some(("foo", Some("1.0"))));
        assert_eq!(parse_source("foo ()"), Some(("foo", None)));
    }
}
