//! PyPI packages from `poetry.lock` (TOML, read with `toml`).
//!
//! Dev dependencies: lock files of Poetry < 1.2 mark them `category = "dev"` and they are left
//! out, as Trivy does. Poetry 1.2+ dropped the category (groups live in pyproject.toml only),
//! so every package of such a lock file is reported, as Trivy does without a pyproject.toml.
//! Packages from git, a local directory, a file or a URL are not on PyPI and are skipped;
//! `legacy` (a private index mirroring PyPI names) is kept.

use super::pypi_package;
use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::Package;

pub struct Poetry;

impl Analyzer for Poetry {
    fn name(&self) -> &'static str {
        "poetry"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        util::basename(path) == "poetry.lock"
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let found = parse_poetry_lock(file.data).map_err(|reason| AnalyzeError::Malformed {
            path: file.path.into(),
            format: "poetry.lock",
            reason,
        })?;
        util::push_located(found, file, out);
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(serde::Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    source: Option<Source>,
}

#[derive(serde::Deserialize)]
struct Source {
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

pub fn parse_poetry_lock(data: &[u8]) -> Result<Vec<Package>, String> {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let lock: Lock = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out: Vec<Package> = lock
        .package
        .iter()
        .filter(|p| p.category.as_deref() != Some("dev"))
        .filter(|p| !matches!(p.source.as_ref().and_then(|s| s.kind.as_deref()), Some("git" | "directory" | "file" | "url")))
        .filter(|p| !p.name.is_empty() && !p.version.is_empty())
        .map(|p| pypi_package(&p.name, &p.version))
        .collect();
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{run, testdata};
    use proptest::prelude::*;

    fn got(p: &[Package]) -> Vec<String> {
        p.iter().map(|p| format!("{}@{} {}", p.name, p.version, p.purl)).collect()
    }

    #[test]
    fn poetry_1_8_every_group() {
        let out = run(&Poetry, "svc/poetry.lock", &testdata("python/poetry-1.8/poetry.lock"));
        assert_eq!(
            got(&out.packages),
            vec![
                "Jinja2@2.11.2 pkg:pypi/jinja2@2.11.2",
                "MarkupSafe@2.1.3 pkg:pypi/markupsafe@2.1.3",
                "certifi@2023.7.22 pkg:pypi/certifi@2023.7.22",
                "pytest@7.4.3 pkg:pypi/pytest@7.4.3",
                "ruamel.yaml@0.17.21 pkg:pypi/ruamel-yaml@0.17.21",
            ]
        );
    }

    #[test]
    fn poetry_1_1_without_dev() {
        let out = run(&Poetry, "poetry.lock", &testdata("python/poetry-1.1/poetry.lock"));
        assert_eq!(got(&out.packages), vec!["django@3.2 pkg:pypi/django@3.2", "sqlparse@0.4.1 pkg:pypi/sqlparse@0.4.1"]);
        assert!(parse_poetry_lock(b"[[package]]\nname = 1\n").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "(\\PC|\n|\\[|\\]|=|\"){0,300}") {
            let _ = parse_poetry_lock(s.as_bytes());
        }
    }
}
