//! npm packages from `node_modules/<name>/package.json` (installed, nested included) and from
//! `package-lock.json` / `npm-shrinkwrap.json` v1, v2 and v3 outside `node_modules` (declared;
//! [`crate::finalize`] drops those also found installed). An app's own `package.json` is a
//! project, not a package, and is not reported.

mod pnpm;
mod yarn;

pub use pnpm::{Pnpm, parse_pnpm_lock};
pub use yarn::{Yarn, parse_yarn_lock};

use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::{Ecosystem, Package};
use serde_json::Value;

pub struct Npm;

impl Analyzer for Npm {
    fn name(&self) -> &'static str {
        "npm"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        is_installed_manifest(path) || is_lock(path)
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let malformed = |reason: String| AnalyzeError::Malformed { path: file.path.into(), format: "npm json", reason };
        if is_lock(file.path) {
            for mut p in parse_package_lock(file.data).map_err(malformed)? {
                p.location = file.location.clone();
                out.packages.push(p);
            }
        } else if let Some(mut p) = parse_package_json(file.data).map_err(malformed)? {
            p.location = file.location.clone();
            out.packages.push(p);
        }
        Ok(())
    }
}

/// `.../node_modules/<name>/package.json` or `.../node_modules/@scope/<name>/package.json`.
fn is_installed_manifest(path: &str) -> bool {
    let Some(rest) = path.strip_suffix("/package.json") else {
        return false;
    };
    let mut parts = rest.rsplit('/');
    let Some(name) = parts.next() else {
        return false;
    };
    let ok_name = |n: &str| !n.is_empty() && !n.starts_with(['.', '@']);
    match parts.next() {
        Some("node_modules") => ok_name(name),
        Some(scope) if scope.len() > 1 && scope.starts_with('@') => parts.next() == Some("node_modules") && ok_name(name),
        _ => false,
    }
}

fn is_lock(path: &str) -> bool {
    let base = util::basename(path);
    matches!(base, "package-lock.json" | "npm-shrinkwrap.json") && !path.split('/').any(|c| c == "node_modules")
}

/// An installed package's manifest; `Ok(None)` when it has no name or version (a nested
/// `package.json` used for module type only, for example).
pub fn parse_package_json(data: &[u8]) -> Result<Option<Package>, String> {
    let v: Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    let (Some(name), Some(version)) = (v.get("name").and_then(Value::as_str), v.get("version").and_then(Value::as_str)) else {
        return Ok(None);
    };
    if name.is_empty() || version.is_empty() {
        return Ok(None);
    }
    let mut p = npm_package(name, version);
    p.licenses = licenses(&v);
    Ok(Some(p))
}

/// `license: "MIT"`, `license: {type: "MIT"}` or the old `licenses: [{type}]`.
fn licenses(v: &Value) -> Vec<String> {
    let one = |l: &Value| l.as_str().or_else(|| l.get("type").and_then(Value::as_str)).map(str::to_string);
    if let Some(l) = v.get("license").and_then(one) {
        return vec![l];
    }
    v.get("licenses").and_then(Value::as_array).map(|a| a.iter().filter_map(one).collect()).unwrap_or_default()
}

pub(crate) fn npm_package(name: &str, version: &str) -> Package {
    let (ns, short) = match name.split_once('/') {
        Some((scope, n)) if scope.starts_with('@') => (Some(scope), n),
        _ => (None, name),
    };
    Package {
        ecosystem: Ecosystem::Npm,
        name: name.to_string(),
        version: version.to_string(),
        source_name: None,
        source_version: None,
        purl: util::purl("npm", ns, short, version, &[]),
        licenses: Vec::new(),
        location: Default::default(),
    }
}

/// Packages a lock file declares, dev dependencies, links and non-registry versions left out.
pub fn parse_package_lock(data: &[u8]) -> Result<Vec<Package>, String> {
    let v: Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    if let Some(pkgs) = v.get("packages").and_then(Value::as_object) {
        // v2 and v3: flat map keyed by install path; "" is the project itself.
        for (key, e) in pkgs {
            let Some(idx) = key.rfind("node_modules/") else {
                continue;
            };
            if e.get("link").and_then(Value::as_bool) == Some(true) || is_dev(e) {
                continue;
            }
            let name = e.get("name").and_then(Value::as_str).unwrap_or(&key[idx + "node_modules/".len()..]);
            if let Some(ver) = e.get("version").and_then(Value::as_str).filter(|v| registry_version(v))
                && !name.is_empty()
            {
                out.push(npm_package(name, ver));
            }
        }
    } else if let Some(deps) = v.get("dependencies").and_then(Value::as_object) {
        // v1: nested tree; an explicit stack bounds the depth by the data, not the call stack.
        let mut stack = vec![deps];
        while let Some(deps) = stack.pop() {
            for (name, e) in deps {
                if is_dev(e) {
                    continue;
                }
                if let Some(ver) = e.get("version").and_then(Value::as_str).filter(|v| registry_version(v)) {
                    out.push(npm_package(name, ver));
                }
                if let Some(d) = e.get("dependencies").and_then(Value::as_object) {
                    stack.push(d);
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out.dedup();
    Ok(out)
}

fn is_dev(e: &Value) -> bool {
    e.get("dev").and_then(Value::as_bool) == Some(true)
}

/// `file:`, `git+https:`, `github:` and tarball URLs are not registry versions.
pub(crate) fn registry_version(v: &str) -> bool {
    !v.is_empty() && !v.contains(':') && !v.contains('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{meta, run, testdata};

    #[test]
    fn installed_manifests() {
        let out = run(&Npm, "app/node_modules/lodash/package.json", &testdata("npm/node_modules/lodash/package.json"));
        let p = &out.packages[0];
        assert_eq!((p.name.as_str(), p.version.as_str(), p.purl.as_str()), ("lodash", "4.17.15", "pkg:npm/lodash@4.17.15"));
        assert_eq!(p.licenses, vec!["MIT".to_string()]);
        let out = run(
            &Npm,
            "app/node_modules/a/node_modules/@types/node/package.json",
            br#"{"name":"@types/node","version":"14.0.0","license":{"type":"MIT"}}"#,
        );
        assert_eq!(out.packages[0].purl, "pkg:npm/%40types/node@14.0.0");
        assert_eq!(out.packages[0].licenses, vec!["MIT".to_string()]);
    }

    #[test]
    fn what_npm_wants() {
        let m = meta(1);
        assert!(!Npm.wants("app/package.json", &m), "the app itself is a project");
        assert!(!Npm.wants("app/node_modules/.package-lock.json", &m));
        assert!(!Npm.wants("app/node_modules/lodash/fp/package.json", &m));
        assert!(!Npm.wants("app/node_modules/@scope/package.json", &m));
        assert!(Npm.wants("app/package-lock.json", &m));
        assert!(!Npm.wants("app/node_modules/x/package-lock.json", &m));
    }

    #[test]
    fn lock_v3() {
        let out = run(&Npm, "app/package-lock.json", &testdata("npm/lock-v3/package-lock.json"));
        assert_eq!(out.packages.len(), 69);
        assert!(out.packages.iter().any(|p| p.name == "minimist" && p.version == "1.2.0"));
        assert!(!out.packages.iter().any(|p| p.name == "shipshape-bookworm-app"));
    }

    #[test]
    fn lock_v1_nested_without_dev_or_file_deps() {
        let out = run(&Npm, "srv/package-lock.json", &testdata("npm/lock-v1/package-lock.json"));
        let got: Vec<_> = out.packages.iter().map(|p| format!("{}@{}", p.name, p.version)).collect();
        assert_eq!(got, vec!["debug@2.6.9", "ms@2.0.0", "ms@2.1.3"]);
    }

    #[test]
    fn nameless_manifest_and_bad_json() {
        assert_eq!(parse_package_json(br#"{"type":"module"}"#), Ok(None));
        assert!(parse_package_json(b"{").is_err());
        assert!(parse_package_lock(b"[]").map(|v| v.is_empty()).unwrap_or(false));
    }
}
