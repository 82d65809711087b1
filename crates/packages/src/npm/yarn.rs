//! npm packages from `yarn.lock`: classic (v1) and berry (v2+).
//!
//! Berry lock files are YAML (read with `yaml_serde`). The classic format is yarn's own
//! (YAML-like but not YAML: `"a@^1", a@^1.2:` headers, unquoted `version "1.2.3"` fields) and no
//! crate parses it, so a small line parser here reads only what is needed: entry headers and
//! their `version` field. Both keep registry packages only: workspace, link, file, portal, patch
//! and git entries are the project or copies of another entry (Trivy skips the same protocols).
//!
//! Dev dependencies: a yarn.lock does not say which entries only `devDependencies` need; Trivy
//! tells them apart with the package.json beside it, and without one reports every entry.
//! Analyzers read one file at a time, so every entry is reported here, as Trivy does without a
//! package.json: for a CI gate a false alarm on a dev tool is cheaper than a missed runtime package.

use super::{npm_package, registry_version};
use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::Package;

pub struct Yarn;

impl Analyzer for Yarn {
    fn name(&self) -> &'static str {
        "yarn"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        util::basename(path) == "yarn.lock" && util::outside_node_modules(path)
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let found =
            parse_yarn_lock(file.data).map_err(|reason| AnalyzeError::Malformed { path: file.path.into(), format: "yarn.lock", reason })?;
        util::push_located(found, file, out);
        Ok(())
    }
}

/// Registry packages of a yarn.lock, classic or berry, sorted and deduplicated.
pub fn parse_yarn_lock(data: &[u8]) -> Result<Vec<Package>, String> {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let mut out = if text.lines().any(|l| l.starts_with("__metadata:")) { parse_berry(text)? } else { parse_classic(text) };
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out.dedup();
    Ok(out)
}

/// Protocols whose entries are not registry packages.
const SKIPPED: &[&str] = &["workspace:", "patch:", "file:", "link:", "portal:", "exec:", "github:", "git:", "git+", "http:", "https:"];

/// `@scope/name@range` → (`@scope/name`, `range`); the `@` of a scope is not the separator.
fn split_spec(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    Some((&spec[..at], &spec[at + 1..]))
}

/// The classic format: headers at column 0 (one or more comma-separated specs, ending in `:`),
/// fields indented by two spaces. Only `version` is read.
fn parse_classic(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut current: Option<(&str, &str)> = None; // (name, range) of the entry's first spec
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            let first = line.trim_end().trim_end_matches(':').split(',').next().unwrap_or("").trim().trim_matches('"');
            current = split_spec(first);
            continue;
        }
        let Some((name, range)) = current else { continue };
        let Some(rest) = line.strip_prefix("  ").filter(|r| !r.starts_with(' ')) else { continue };
        let Some(v) = rest.strip_prefix("version ") else { continue };
        let version = v.trim().trim_matches('"');
        current = None;
        // `alias@npm:real@^1`: the entry is the real package.
        let name = match range.strip_prefix("npm:").and_then(split_spec) {
            Some((real, _)) => real,
            None if SKIPPED.iter().any(|p| range.starts_with(p)) => continue,
            None => name,
        };
        if registry_version(version) && !name.is_empty() {
            out.push(npm_package(name, version));
        }
    }
    out
}

/// Berry: a YAML map of `"specs": {version, resolution, ...}`; `resolution` is
/// `name@npm:exact-version` for registry packages (read there, not from `version`, which YAML
/// could take for a number).
fn parse_berry(text: &str) -> Result<Vec<Package>, String> {
    let doc: std::collections::BTreeMap<String, yaml_serde::Value> = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (key, entry) in &doc {
        if key == "__metadata" {
            continue;
        }
        let Some(resolution) = entry.get("resolution").and_then(yaml_serde::Value::as_str) else { continue };
        let Some((name, rest)) = split_spec(resolution) else { continue };
        let Some(version) = rest.strip_prefix("npm:") else { continue };
        if registry_version(version) && !name.is_empty() {
            out.push(npm_package(name, version));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{meta, run, testdata};
    use proptest::prelude::*;

    fn pairs(p: &[Package]) -> Vec<String> {
        p.iter().map(|p| format!("{}@{} {}", p.name, p.version, p.purl)).collect()
    }

    #[test]
    fn classic_v1() {
        let out = run(&Yarn, "web/yarn.lock", &testdata("npm/yarn-v1/yarn.lock"));
        assert_eq!(
            pairs(&out.packages),
            vec![
                "@babel/code-frame@7.12.13 pkg:npm/%40babel/code-frame@7.12.13",
                "@babel/highlight@7.13.10 pkg:npm/%40babel/highlight@7.13.10",
                "js-tokens@4.0.0 pkg:npm/js-tokens@4.0.0",
                "lodash@4.17.15 pkg:npm/lodash@4.17.15",
                "minimist@1.2.5 pkg:npm/minimist@1.2.5",
                "string-width@4.2.3 pkg:npm/string-width@4.2.3",
            ]
        );
        assert_eq!(out.packages[0].location.path, "/web/yarn.lock");
    }

    #[test]
    fn berry() {
        let out = run(&Yarn, "yarn.lock", &testdata("npm/yarn-berry/yarn.lock"));
        assert_eq!(
            pairs(&out.packages),
            vec![
                "@types/node@20.11.5 pkg:npm/%40types/node@20.11.5",
                "lodash@4.17.20 pkg:npm/lodash@4.17.20",
                "minimist@0.0.8 pkg:npm/minimist@0.0.8",
                "undici-types@5.26.5 pkg:npm/undici-types@5.26.5",
            ]
        );
    }

    #[test]
    fn wants_and_errors() {
        assert!(!Yarn.wants("app/node_modules/x/yarn.lock", &meta(1)));
        assert!(parse_yarn_lock(b"__metadata:\n  version: [\n").is_err());
        assert!(parse_yarn_lock(b"\xff\xfe").is_err());
        assert!(parse_yarn_lock(b"\"@\":\n  version \"1\"\n@:\n  version 1\n").unwrap().is_empty());
    }

    #[test]
    fn berry_yaml_bombs_are_refused() {
        let mut bomb = String::from("__metadata:\n  version: 6\na: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
        let mut prev = "a".to_string();
        for i in 0..12 {
            let name = format!("b{i}");
            bomb.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
            prev = name;
        }
        assert!(parse_yarn_lock(bomb.as_bytes()).is_err());
        let deep = format!("__metadata:\n  version: 6\nx: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_yarn_lock(deep.as_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "(\\PC|\n|  |\"|@|:|,){0,400}") {
            let _ = parse_yarn_lock(s.as_bytes());
            let berry = format!("__metadata:\n  version: 6\n{s}");
            let _ = parse_yarn_lock(berry.as_bytes());
        }
    }
}
