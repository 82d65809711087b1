//! Ruby gems from installed gem specifications (`.../specifications/<name>-<version>.gemspec`).
//!
//! Hand-written: these files are Ruby code written by RubyGems in a fixed shape
//! (`s.name = "rake".freeze`); no Rust crate evaluates them, and only literal assignments matter.

mod gemfile_lock;

pub use gemfile_lock::{GemfileLock, parse_gemfile_lock};

use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::{Ecosystem, Package};

pub struct Ruby;

impl Analyzer for Ruby {
    fn name(&self) -> &'static str {
        "ruby"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        let mut parts = path.rsplit('/');
        matches!((parts.next(), parts.next()), (Some(f), Some("specifications")) if f.ends_with(".gemspec"))
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let text = String::from_utf8_lossy(file.data);
        let Some(mut p) = parse_gemspec(&text) else {
            return Err(AnalyzeError::Malformed { path: file.path.into(), format: "gemspec", reason: "no name or version".into() });
        };
        p.location = file.location.clone();
        out.packages.push(p);
        Ok(())
    }
}

/// Reads `s.name`, `s.version` and `s.licenses`/`s.license` literal assignments.
pub fn parse_gemspec(text: &str) -> Option<Package> {
    let (mut name, mut version, mut licenses) = (None, None, Vec::new());
    for line in text.lines() {
        let line = line.trim();
        let Some((lhs, rhs)) = line.split_once('=') else {
            continue;
        };
        let Some(attr) = lhs.trim().split_once('.').map(|(_, a)| a.trim()) else {
            continue;
        };
        match attr {
            "name" => name = name.or_else(|| quoted(rhs).into_iter().next()),
            "version" => version = version.or_else(|| quoted(rhs).into_iter().next()),
            "licenses" | "license" if licenses.is_empty() => licenses = quoted(rhs),
            _ => {}
        }
    }
    let (name, version) = (name?, version?);
    Some(Package {
        ecosystem: Ecosystem::RubyGems,
        purl: util::purl("gem", None, &name, &version, &[]),
        name,
        version,
        source_name: None,
        source_version: None,
        licenses,
        location: Default::default(),
    })
}

/// A gem from a lock file.
pub(crate) fn gem_package(name: &str, version: &str) -> Package {
    Package {
        ecosystem: Ecosystem::RubyGems,
        purl: util::purl("gem", None, name, version, &[]),
        name: name.to_string(),
        version: version.to_string(),
        source_name: None,
        source_version: None,
        licenses: Vec::new(),
        location: Default::default(),
    }
}

/// The double- or single-quoted string literals in `s`.
fn quoted(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            let lit: String = chars.by_ref().take_while(|&d| d != c).collect();
            if !lit.is_empty() {
                out.push(lit);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{meta, run, testdata};

    #[test]
    fn rubygems_written_spec() {
        let path = "usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec";
        let out = run(&Ruby, path, &testdata("ruby/rake-13.0.6.gemspec"));
        let p = &out.packages[0];
        assert_eq!((p.name.as_str(), p.version.as_str(), p.purl.as_str()), ("rake", "13.0.6", "pkg:gem/rake@13.0.6"));
        assert_eq!(p.licenses, vec!["MIT".to_string()]);
        assert!(!Ruby.wants("usr/lib/ruby/rake.gemspec", &meta(1)));
    }
}
