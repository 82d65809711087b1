//! Alpine packages from `lib/apk/db/installed`. The origin (`o:`) is the source package.

use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::{Ecosystem, Package};

pub struct Apk;

impl Analyzer for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        path == "lib/apk/db/installed"
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let text = String::from_utf8_lossy(file.data);
        for mut p in parse_installed(&text) {
            p.location = file.location.clone();
            out.packages.push(p);
        }
        Ok(())
    }
}

/// Parses an apk installed database (`X:value` lines, blank-line separated); location empty.
pub fn parse_installed(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut cur = Fields::default();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if let Some(p) = cur.take().into_package() {
                out.push(p);
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k {
            "P" => cur.name = v.to_string(),
            "V" => cur.version = v.to_string(),
            "A" => cur.arch = v.to_string(),
            "o" => cur.origin = v.to_string(),
            "L" => cur.license = v.to_string(),
            _ => {}
        }
    }
    out
}

#[derive(Default)]
struct Fields {
    name: String,
    version: String,
    arch: String,
    origin: String,
    license: String,
}

impl Fields {
    fn take(&mut self) -> Fields {
        std::mem::take(self)
    }

    fn into_package(self) -> Option<Package> {
        if self.name.is_empty() || self.version.is_empty() {
            return None;
        }
        let purl = util::purl("apk", Some("alpine"), &self.name, &self.version, &[("arch", &self.arch)]);
        let source = if self.origin.is_empty() { self.name.clone() } else { self.origin };
        Some(Package {
            ecosystem: Ecosystem::Alpine,
            source_name: Some(source),
            source_version: Some(self.version.clone()),
            name: self.name,
            version: self.version,
            purl,
            // SPDX-ish expression as apk records it, e.g. `MIT AND BSD-2-Clause`.
            licenses: if self.license.is_empty() { Vec::new() } else { vec![self.license] },
            location: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{run, testdata};

    #[test]
    fn installed_db() {
        let out = run(&Apk, "lib/apk/db/installed", &testdata("apk/installed"));
        let got: Vec<_> =
            out.packages.iter().map(|p| (p.name.as_str(), p.version.as_str(), p.source_name.as_deref().unwrap_or(""))).collect();
        assert_eq!(
            got,
            vec![("musl", "1.2.4_git20230717-r4", "musl"), ("libcrypto3", "3.1.4-r5", "openssl"), ("ssl_client", "1.36.1-r15", "busybox"),]
        );
        assert_eq!(out.packages[1].purl, "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64");
        assert_eq!(out.packages[1].licenses, vec!["Apache-2.0".to_string()]);
    }

    #[test]
    fn last_stanza_without_trailing_blank_line() {
        let ps = parse_installed("P:a\nV:1-r0");
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].source_name.as_deref(), Some("a"));
    }
}
