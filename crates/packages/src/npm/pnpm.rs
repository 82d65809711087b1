//! npm packages from `pnpm-lock.yaml` (read with `yaml_serde`): lockfile v5 (`/name/1.0.0_peer`
//! keys), v6 (`/name@1.0.0(peer)`) and v9 (`name@1.0.0`, a separate `snapshots` graph).
//!
//! Dev dependencies are left out, as Trivy does by default: v5 and v6 mark them `dev: true`;
//! v9 no longer does, so the packages kept are those reachable from an importer's
//! `dependencies` / `optionalDependencies` through `snapshots` (a lock file without importers
//! keeps every package). Tarball, git, file and link entries are not registry packages and are
//! skipped.

use super::{npm_package, registry_version};
use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::Package;
use std::collections::{BTreeMap, HashSet};
use yaml_serde::Value;

pub struct Pnpm;

impl Analyzer for Pnpm {
    fn name(&self) -> &'static str {
        "pnpm"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        util::basename(path) == "pnpm-lock.yaml" && util::outside_node_modules(path)
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let found = parse_pnpm_lock(file.data).map_err(|reason| AnalyzeError::Malformed {
            path: file.path.into(),
            format: "pnpm-lock.yaml",
            reason,
        })?;
        util::push_located(found, file, out);
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct Lock {
    #[serde(rename = "lockfileVersion", default)]
    lockfile_version: Option<Value>,
    #[serde(default)]
    importers: BTreeMap<String, Importer>,
    #[serde(default)]
    packages: BTreeMap<String, Value>,
    #[serde(default)]
    snapshots: BTreeMap<String, Value>,
}

#[derive(serde::Deserialize, Default)]
struct Importer {
    #[serde(default)]
    dependencies: BTreeMap<String, Value>,
    #[serde(rename = "optionalDependencies", default)]
    optional_dependencies: BTreeMap<String, Value>,
}

/// A YAML scalar as text (`version: {specifier, version}` in v6/v9 importers, a string in v5).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Mapping(_) => v.get("version").and_then(text),
        _ => None,
    }
}

/// `name@version(peers)` → (`name`, `version`) for v6 (after the leading `/`) and v9 keys.
fn split_at_key(key: &str) -> Option<(&str, &str)> {
    let key = key.split('(').next().unwrap_or(key);
    let at = key.get(1..)?.find('@')? + 1;
    Some((&key[..at], &key[at + 1..]))
}

/// `/name/1.0.0_peer` or `/@scope/name/1.0.0_peer` (v5).
fn split_v5_key(key: &str) -> Option<(&str, &str)> {
    let key = key.strip_prefix('/')?;
    let segs = if key.starts_with('@') { 2 } else { 1 };
    let mut cut = 0;
    for _ in 0..segs {
        cut += key[cut..].find('/')? + 1;
    }
    let name = &key[..cut - 1];
    let version = key[cut..].split(['_', '/', '(']).next().unwrap_or("");
    Some((name, version))
}

/// Registry packages a pnpm lock file installs for production.
pub fn parse_pnpm_lock(data: &[u8]) -> Result<Vec<Package>, String> {
    let text_ = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let lock: Lock = yaml_serde::from_str(text_).map_err(|e| e.to_string())?;
    let major: u32 =
        lock.lockfile_version.as_ref().and_then(text).and_then(|v| v.split('.').next().and_then(|m| m.trim().parse().ok())).unwrap_or(0);
    let mut out = Vec::new();
    if major >= 9 {
        let prod = (!lock.importers.is_empty()).then(|| reachable(&lock));
        for key in lock.packages.keys() {
            let Some((name, version)) = split_at_key(key) else { continue };
            if prod.as_ref().is_some_and(|p| !p.contains(&format!("{name}@{version}"))) {
                continue;
            }
            if registry_version(version) {
                out.push(npm_package(name, version));
            }
        }
    } else {
        for (key, entry) in &lock.packages {
            if entry.get("dev").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let parsed = if major >= 6 { key.strip_prefix('/').and_then(split_at_key) } else { split_v5_key(key) };
            let Some((name, version)) = parsed else { continue };
            if registry_version(version) && !name.is_empty() {
                out.push(npm_package(name, version));
            }
        }
    }
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out.dedup();
    Ok(out)
}

/// v9: `name@version` of every package reachable from the importers' production dependencies.
/// An explicit work list and a visited set: cycles and depth cost nothing extra.
fn reachable(lock: &Lock) -> HashSet<String> {
    let snapshot_key = |name: &str, version: &str| -> String {
        // An alias (`foo: string-width@4.2.3`) names the real package.
        let bare = version.split('(').next().unwrap_or(version);
        if bare.get(1..).is_some_and(|v| v.contains('@')) { version.to_string() } else { format!("{name}@{version}") }
    };
    let mut todo: Vec<String> = Vec::new();
    for imp in lock.importers.values() {
        for (name, v) in imp.dependencies.iter().chain(&imp.optional_dependencies) {
            if let Some(v) = text(v) {
                todo.push(snapshot_key(name, &v));
            }
        }
    }
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(key) = todo.pop() {
        if !seen.insert(key.clone()) {
            continue;
        }
        let Some(snap) = lock.snapshots.get(&key) else { continue };
        for field in ["dependencies", "optionalDependencies"] {
            let Some(Value::Mapping(deps)) = snap.get(field) else { continue };
            for (n, v) in deps {
                if let (Some(n), Some(v)) = (n.as_str(), text(v)) {
                    todo.push(snapshot_key(n, &v));
                }
            }
        }
    }
    seen.iter().map(|k| k.split('(').next().unwrap_or(k).to_string()).collect()
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
    fn v5_without_dev() {
        let out = run(&Pnpm, "pnpm-lock.yaml", &testdata("npm/pnpm-v5/pnpm-lock.yaml"));
        assert_eq!(
            got(&out.packages),
            vec![
                "@babel/runtime@7.12.5 pkg:npm/%40babel/runtime@7.12.5",
                "lodash@4.17.19 pkg:npm/lodash@4.17.19",
                "react@16.14.0 pkg:npm/react@16.14.0",
                "regenerator-runtime@0.13.7 pkg:npm/regenerator-runtime@0.13.7"
            ]
        );
    }

    #[test]
    fn v6_without_dev() {
        let out = run(&Pnpm, "app/pnpm-lock.yaml", &testdata("npm/pnpm-v6/pnpm-lock.yaml"));
        assert_eq!(
            got(&out.packages),
            vec![
                "@types/prop-types@15.7.11 pkg:npm/%40types/prop-types@15.7.11",
                "js-tokens@4.0.0 pkg:npm/js-tokens@4.0.0",
                "loose-envify@1.4.0 pkg:npm/loose-envify@1.4.0",
                "minimist@1.2.5 pkg:npm/minimist@1.2.5",
                "react@18.2.0 pkg:npm/react@18.2.0"
            ]
        );
    }

    #[test]
    fn v9_dev_by_reachability() {
        let out = run(&Pnpm, "pnpm-lock.yaml", &testdata("npm/pnpm-v9/pnpm-lock.yaml"));
        assert_eq!(
            got(&out.packages),
            vec![
                "js-tokens@4.0.0 pkg:npm/js-tokens@4.0.0",
                "lodash@4.17.20 pkg:npm/lodash@4.17.20",
                "loose-envify@1.4.0 pkg:npm/loose-envify@1.4.0",
                "react@18.2.0 pkg:npm/react@18.2.0",
                "react-dom@18.2.0 pkg:npm/react-dom@18.2.0",
                "scheduler@0.23.0 pkg:npm/scheduler@0.23.0",
            ]
        );
    }

    #[test]
    fn keys() {
        assert_eq!(split_v5_key("/@babel/core/7.12.3_supports-color@5.5.0"), Some(("@babel/core", "7.12.3")));
        assert_eq!(split_v5_key("/a/1.0.0"), Some(("a", "1.0.0")));
        assert_eq!(split_v5_key("/@scope"), None);
        assert_eq!(split_at_key("@types/react@18.2.0(react@18.2.0)"), Some(("@types/react", "18.2.0")));
        assert_eq!(split_at_key("@"), None);
        assert!(parse_pnpm_lock(b"lockfileVersion: '9.0'\npackages: [1, 2]\n").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "(\\PC|\n|  |/|@|:|_|\\(){0,300}") {
            let _ = parse_pnpm_lock(s.as_bytes());
            for v in ["5.4", "'6.0'", "'9.0'"] {
                let doc = format!("lockfileVersion: {v}\nimporters:\n  .:\n    dependencies:\n      a: 1.0.0\npackages:\n  {s:?}: {{}}\n  /{s}@1.0.0: {{dev: false}}\nsnapshots:\n  a@1.0.0: {{dependencies: {{{s:?}: 1.0.0}}}}\n");
                let _ = parse_pnpm_lock(doc.as_bytes());
            }
        }
    }
}
