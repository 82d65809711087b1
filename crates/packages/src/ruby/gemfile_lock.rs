//! Ruby gems from Bundler's `Gemfile.lock`: the `specs:` of its `GEM` sections.
//!
//! Hand-written: the lock file is Bundler's own indentation format (sections at column 0,
//! `specs:` at two spaces, `name (version)` at four, their requirements at six) and no Rust
//! crate reads it. `GIT` and `PATH` sections are not from rubygems.org (the project itself, forks)
//! and are skipped. A platform suffix (`1.13.10-x86_64-linux`) is cut: RubyGems versions never
//! contain `-`, advisories name the plain version.
//!
//! Dev dependencies: the lock file has no groups (they live in the Gemfile), so every gem is
//! reported, as Trivy does.

use super::gem_package;
use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::Package;

pub struct GemfileLock;

impl Analyzer for GemfileLock {
    fn name(&self) -> &'static str {
        "bundler"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        // `gems.locked` is Bundler's other name for the same file.
        matches!(util::basename(path), "Gemfile.lock" | "gems.locked")
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        util::push_located(parse_gemfile_lock(&String::from_utf8_lossy(file.data)), file, out);
        Ok(())
    }
}

/// The gems of a Gemfile.lock's GEM sections, sorted and deduplicated.
pub fn parse_gemfile_lock(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let (mut in_gem, mut in_specs) = (false, false);
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if !line.starts_with(' ') {
            in_gem = line == "GEM";
            in_specs = false;
            continue;
        }
        if !in_gem {
            continue;
        }
        if let Some(rest) = line.strip_prefix("  ").filter(|r| !r.starts_with(' ')) {
            in_specs = rest == "specs:";
            continue;
        }
        let Some(spec) = line.strip_prefix("    ").filter(|r| !r.starts_with(' ') && in_specs) else { continue };
        let Some((name, rest)) = spec.split_once(" (") else { continue };
        let Some(version) = rest.strip_suffix(')') else { continue };
        let version = version.split('-').next().unwrap_or(version);
        if !name.is_empty() && !version.is_empty() && !version.contains([' ', '(', ')']) {
            out.push(gem_package(name, version));
        }
    }
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{run, testdata};
    use proptest::prelude::*;

    #[test]
    fn gem_sections_only() {
        let out = run(&GemfileLock, "web/Gemfile.lock", &testdata("ruby/bundler/Gemfile.lock"));
        let got: Vec<_> = out.packages.iter().map(|p| format!("{}@{} {}", p.name, p.version, p.purl)).collect();
        assert_eq!(
            got,
            vec![
                "actionpack@6.1.4 pkg:gem/actionpack@6.1.4",
                "nokogiri@1.13.10 pkg:gem/nokogiri@1.13.10",
                "racc@1.6.1 pkg:gem/racc@1.6.1",
                "rack@2.2.3 pkg:gem/rack@2.2.3",
                "rake@13.0.6 pkg:gem/rake@13.0.6",
            ]
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "(\\PC|\n|  |\\(|\\)|GEM|specs:){0,300}") {
            let _ = parse_gemfile_lock(&s);
            let _ = parse_gemfile_lock(&format!("GEM\n  specs:\n    {s}\n"));
        }
    }
}
