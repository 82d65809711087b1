//! Python distributions from `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and single-file
//! `*.egg-info`. The name is kept as the metadata spells it; the purl carries the PEP 503
//! normalised name, which is what matching uses.

mod pipenv;
mod poetry;
mod requirements;

pub use pipenv::{Pipenv, parse_pipfile_lock};
pub use poetry::{Poetry, parse_poetry_lock};
pub(crate) use requirements::is_requirements;
pub use requirements::{Requirements, parse_requirements};

use crate::util;
use layer::{AnalyzeError, Analyzer, EntryKind, FileInput, FileMeta, LayerFindings};
use model::{Ecosystem, Package};

pub struct Python;

impl Analyzer for Python {
    fn name(&self) -> &'static str {
        "python"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, meta: &FileMeta) -> bool {
        let mut parts = path.rsplit('/');
        let (Some(last), Some(dir)) = (parts.next(), parts.next()) else {
            return meta.kind == EntryKind::File && path.ends_with(".egg-info") && !path.contains('/');
        };
        (last == "METADATA" && dir.ends_with(".dist-info") && dir.len() > ".dist-info".len())
            || (last == "PKG-INFO" && dir.ends_with(".egg-info") && dir.len() > ".egg-info".len())
            || (last.ends_with(".egg-info") && last.len() > ".egg-info".len() && meta.kind == EntryKind::File)
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let text = String::from_utf8_lossy(file.data);
        match parse_metadata(&text) {
            Some(mut p) => {
                p.location = file.location.clone();
                out.packages.push(p);
                Ok(())
            }
            None => Err(AnalyzeError::Malformed { path: file.path.into(), format: "python metadata", reason: "no Name or Version".into() }),
        }
    }
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            in_run = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Parses core metadata (the header block, up to the first blank line); location empty.
pub fn parse_metadata(text: &str) -> Option<Package> {
    let header = text.split("\n\n").next().unwrap_or("");
    let header = header.split("\r\n\r\n").next().unwrap_or(header);
    let fields = util::stanza_fields(header);
    let first = |k: &str| fields.iter().find(|(f, _)| f.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str());
    let name = first("Name").filter(|n| !n.is_empty())?;
    let version = first("Version").filter(|v| !v.is_empty())?;
    let mut licenses = Vec::new();
    if let Some(l) = first("License-Expression").filter(|l| !l.is_empty()) {
        licenses.push(l.to_string());
    } else if let Some(l) = first("License").filter(|l| !l.is_empty() && *l != "UNKNOWN" && !l.contains('\n') && l.len() <= 100) {
        licenses.push(l.to_string());
    } else {
        licenses.extend(
            fields
                .iter()
                .filter(|(f, v)| f.eq_ignore_ascii_case("Classifier") && v.starts_with("License ::"))
                .filter_map(|(_, v)| v.rsplit(" :: ").next())
                .map(str::to_string),
        );
    }
    Some(Package {
        ecosystem: Ecosystem::PyPI,
        name: name.to_string(),
        version: version.to_string(),
        source_name: None,
        source_version: None,
        purl: util::purl("pypi", None, &normalize_name(name), version, &[]),
        licenses,
        location: Default::default(),
    })
}

/// A PyPI package read from a lock file: the name as written, the purl's normalised.
pub(crate) fn pypi_package(name: &str, version: &str) -> Package {
    Package {
        ecosystem: Ecosystem::PyPI,
        name: name.to_string(),
        version: version.to_string(),
        source_name: None,
        source_version: None,
        purl: util::purl("pypi", None, &normalize_name(name), version, &[]),
        licenses: Vec::new(),
        location: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{meta, run, testdata};
    use proptest::prelude::*;

    #[test]
    fn dist_info_metadata() {
        let path = "usr/local/lib/python3.11/dist-packages/Django-3.2.dist-info/METADATA";
        let out = run(&Python, path, &testdata("python/Django-3.2.dist-info/METADATA"));
        let p = &out.packages[0];
        assert_eq!((p.name.as_str(), p.version.as_str()), ("Django", "3.2"));
        assert_eq!(p.purl, "pkg:pypi/django@3.2");
        assert_eq!(p.licenses, vec!["BSD-3-Clause".to_string()]);
        let out = run(&Python, "x/PyYAML-5.3.dist-info/METADATA", &testdata("python/PyYAML-5.3.dist-info/METADATA"));
        assert_eq!(out.packages[0].purl, "pkg:pypi/pyyaml@5.3");
    }

    #[test]
    fn egg_info_and_wants() {
        let out = run(
            &Python,
            "usr/lib/python3/dist-packages/Foo_Bar.egg-info/PKG-INFO",
            b"Metadata-Version: 1.1\nName: Foo_Bar\nVersion: 1.0\n",
        );
        assert_eq!(out.packages[0].purl, "pkg:pypi/foo-bar@1.0");
        assert!(Python.wants("usr/lib/python3/dist-packages/foo-1.0.egg-info", &meta(1)));
        assert!(!Python.wants("x/.dist-info/METADATA", &meta(1)));
        assert!(!Python.wants("x/foo.dist-info/RECORD", &meta(1)));
        assert!(parse_metadata("Name: x\n\nVersion: 1\n").is_none(), "Version in the body does not count");
    }

    #[test]
    fn pep503() {
        assert_eq!(normalize_name("Foo.Bar__baz-"), "foo-bar-baz-");
        assert_eq!(normalize_name("PyYAML"), "pyyaml");
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent_and_canonical(name in "[A-Za-z0-9._-]{0,24}") {
            let n = normalize_name(&name);
            prop_assert_eq!(normalize_name(&n), n.clone());
            prop_assert!(!n.contains("--") && !n.contains('_') && !n.contains('.'));
            prop_assert_eq!(n.clone(), n.to_lowercase());
        }

        #[test]
        fn metadata_parser_never_panics(s in "\\PC{0,200}") {
            let _ = parse_metadata(&s);
        }
    }
}
