//! PyPI packages from `Pipfile.lock` (JSON, read with `serde_json`).
//!
//! Only the `default` section is read: `develop` holds the dev dependencies, which Trivy
//! leaves out too. Entries without a pinned `==` version (git, editable, path) are skipped.

use super::pypi_package;
use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::Package;
use std::collections::BTreeMap;

pub struct Pipenv;

impl Analyzer for Pipenv {
    fn name(&self) -> &'static str {
        "pipenv"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        util::basename(path) == "Pipfile.lock"
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let found = parse_pipfile_lock(file.data).map_err(|reason| AnalyzeError::Malformed {
            path: file.path.into(),
            format: "Pipfile.lock",
            reason,
        })?;
        util::push_located(found, file, out);
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct Lock {
    #[serde(default)]
    default: BTreeMap<String, Entry>,
}

#[derive(serde::Deserialize)]
struct Entry {
    #[serde(default)]
    version: Option<String>,
}

pub fn parse_pipfile_lock(data: &[u8]) -> Result<Vec<Package>, String> {
    let lock: Lock = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    Ok(lock
        .default
        .iter()
        .filter_map(|(name, e)| Some((name, e.version.as_deref()?.strip_prefix("==")?.trim())))
        .filter(|(name, v)| !name.is_empty() && !v.is_empty() && !v.contains('*'))
        .map(|(name, v)| pypi_package(name, v))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{run, testdata};
    use proptest::prelude::*;

    #[test]
    fn default_section_only() {
        let out = run(&Pipenv, "api/Pipfile.lock", &testdata("python/pipenv/Pipfile.lock"));
        let got: Vec<_> = out.packages.iter().map(|p| format!("{}@{} {}", p.name, p.version, p.purl)).collect();
        assert_eq!(
            got,
            vec!["jinja2@2.11.2 pkg:pypi/jinja2@2.11.2", "markupsafe@1.1.1 pkg:pypi/markupsafe@1.1.1", "pyyaml@5.3 pkg:pypi/pyyaml@5.3"]
        );
        assert!(parse_pipfile_lock(b"{\"default\": []}").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "(\\PC|\\{|\\}|\"|:|=){0,200}") {
            let _ = parse_pipfile_lock(s.as_bytes());
            let _ = parse_pipfile_lock(format!("{{\"default\": {{\"a\": {{\"version\": {s:?}}}}}}}").as_bytes());
        }
    }
}
