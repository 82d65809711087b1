//! PyPI packages pinned in `requirements*.txt` (`name[extras]==version`).
//!
//! Hand-written: pip's file format (options, `\` continuations, `--hash` options, comments)
//! has no parser crate, and only exact pins are read, so PEP 508's full grammar is not needed.
//! Unpinned lines (`>=`, `~=`, wildcards), includes (`-r`, `-c`: their files are read on their
//! own when named requirements*.txt), editables, URLs and paths are skipped, as Trivy does.

use super::pypi_package;
use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::Package;

pub struct Requirements;

impl Analyzer for Requirements {
    fn name(&self) -> &'static str {
        "pip-requirements"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        is_requirements(util::basename(path))
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        util::push_located(parse_requirements(&String::from_utf8_lossy(file.data)), file, out);
        Ok(())
    }
}

/// `requirements.txt`, `requirements-dev.txt`, `requirements_prod.txt`...
pub(crate) fn is_requirements(base: &str) -> bool {
    base.starts_with("requirements") && base.ends_with(".txt")
}

/// The pinned packages of a requirements file, in file order.
pub fn parse_requirements(text: &str) -> Vec<Package> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut logical = String::new();
    for raw in text.lines() {
        match raw.strip_suffix('\\') {
            Some(part) => {
                logical.push_str(part);
                logical.push(' ');
                continue;
            }
            None => logical.push_str(raw),
        }
        if let Some(p) = pinned(&logical) {
            out.push(p);
        }
        logical.clear();
    }
    if let Some(p) = pinned(&logical) {
        out.push(p);
    }
    out
}

/// One logical line: `name[extra]==1.2.3 ; markers --hash=...  # comment`.
fn pinned(line: &str) -> Option<Package> {
    // A comment starts at `#` at the line's start or after whitespace (a URL fragment is not one).
    let mut end = line.len();
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
            end = i;
            break;
        }
    }
    let line = line[..end].trim();
    if line.is_empty() || line.starts_with('-') || line.contains("://") || line.starts_with(['.', '/']) {
        return None;
    }
    // Markers and per-requirement options end the specifier.
    let spec = line.split(';').next().unwrap_or(line);
    let spec = spec.split(" -").next().unwrap_or(spec).trim();
    if spec.contains(" @ ") || spec.contains(',') {
        return None;
    }
    let (head, version) = spec.split_once("==")?;
    let version = version.trim_start_matches('=').trim();
    let name = head.split('[').next().unwrap_or(head).trim();
    let ok_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let ok_version = !version.is_empty() && !version.contains(['*', ' ', '<', '>', '!', '~', '=']);
    (ok_name && ok_version).then(|| pypi_package(name, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{meta, run, testdata};
    use proptest::prelude::*;

    #[test]
    fn pinned_lines_only() {
        let out = run(&Requirements, "backend/requirements-prod.txt", &testdata("python/requirements/requirements-prod.txt"));
        let got: Vec<_> = out.packages.iter().map(|p| format!("{}@{} {}", p.name, p.version, p.purl)).collect();
        assert_eq!(
            got,
            vec![
                "Django@3.2 pkg:pypi/django@3.2",
                "requests@2.25.1 pkg:pypi/requests@2.25.1",
                "PyYAML@5.3 pkg:pypi/pyyaml@5.3",
                "celery@5.2.7 pkg:pypi/celery@5.2.7",
                "zope.interface@5.4.0 pkg:pypi/zope-interface@5.4.0",
                "urllib3@1.26.4 pkg:pypi/urllib3@1.26.4",
            ]
        );
        assert!(Requirements.wants("requirements.txt", &meta(1)));
        assert!(!Requirements.wants("docs/requirements.in", &meta(1)));
        assert!(!Requirements.wants("constraints.txt", &meta(1)));
    }

    proptest! {
        #[test]
        fn never_panics(s in "(\\PC|\n|\\\\|#|=|;|\\[| ){0,300}") {
            let _ = parse_requirements(&s);
        }
    }
}
