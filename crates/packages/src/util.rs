//! Small helpers shared by the analyzers: RFC 822 style stanzas, purls, package construction.

use model::Distribution;
#[cfg(test)]
use model::Location;

/// Splits `Key: value` stanzas (dpkg status, apk is different) into fields; continuation lines
/// (starting with space or tab) are appended to the previous field with a newline.
pub(crate) fn stanza_fields(stanza: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for line in stanza.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim(), v.trim().to_string()));
        }
    }
    out
}

/// Builds a purl; `None` when a part is invalid for the purl spec (the package is still kept
/// with an empty purl rather than dropped).
pub(crate) fn purl(ty: &str, namespace: Option<&str>, name: &str, version: &str, qualifiers: &[(&str, &str)]) -> String {
    let build = || -> Result<String, packageurl::Error> {
        let mut p = packageurl::PackageUrl::new(ty.to_string(), name.to_string())?;
        if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
            p.with_namespace(ns.to_string())?;
        }
        if !version.is_empty() {
            p.with_version(version.to_string())?;
        }
        for (k, v) in qualifiers.iter().filter(|(_, v)| !v.is_empty()) {
            p.add_qualifier(k.to_string(), v.to_string())?;
        }
        Ok(p.to_string())
    };
    build().unwrap_or_default()
}

/// Rewrites an OS package purl with the image's distribution: namespace = `ID`, qualifier
/// `distro=<ID>-<VERSION_ID>`. A purl that does not parse is returned unchanged.
pub(crate) fn qualify_os_purl(purl: &str, d: &Distribution) -> String {
    use std::str::FromStr;
    let Ok(p) = packageurl::PackageUrl::from_str(purl) else {
        return purl.to_string();
    };
    let mut quals: Vec<(String, String)> =
        p.qualifiers().iter().filter(|(k, _)| *k != "distro").map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let distro = if d.version_id.is_empty() { d.id.clone() } else { format!("{}-{}", d.id, d.version_id) };
    if !d.id.is_empty() {
        quals.push(("distro".into(), distro));
    }
    let ns = if d.id.is_empty() { p.namespace().map(str::to_string) } else { Some(d.id.clone()) };
    let q: Vec<(&str, &str)> = quals.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = self::purl(p.ty(), ns.as_deref(), p.name(), p.version().unwrap_or(""), &q);
    if out.is_empty() { purl.to_string() } else { out }
}

/// Lock files (and manifests read as such) declare what should be installed, not what is: see
/// [`crate::finalize`].
pub(crate) fn is_lock_file(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    matches!(
        base,
        "package-lock.json"
            | "npm-shrinkwrap.json"
            | "Cargo.lock"
            | "yarn.lock"
            | "pnpm-lock.yaml"
            | "poetry.lock"
            | "Pipfile.lock"
            | "go.mod"
            | "go.sum"
            | "Gemfile.lock"
            | "pom.xml"
    ) || crate::python::is_requirements(base)
}

/// Lock files inside `node_modules` belong to installed packages, not to the project.
pub(crate) fn outside_node_modules(path: &str) -> bool {
    !path.split('/').any(|c| c == "node_modules")
}

/// Appends packages read from `file`, each located there.
pub(crate) fn push_located(found: Vec<model::Package>, file: &layer::FileInput<'_>, out: &mut layer::LayerFindings) {
    out.packages.extend(found.into_iter().map(|mut p| {
        p.location = file.location.clone();
        p
    }));
}

/// The final path component.
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Location for tests and fuzzing.
#[cfg(test)]
pub(crate) fn test_location(path: &str) -> Location {
    Location { path: format!("/{path}"), layer_index: 0, layer_digest: "sha256:test".into() }
}

#[cfg(test)]
pub(crate) mod testing {
    use layer::{Analyzer, EntryKind, FileInput, FileMeta, LayerFindings};

    pub(crate) fn meta(size: usize) -> FileMeta {
        FileMeta { kind: EntryKind::File, size: size as u64, mode: 0o644, uid: 0, gid: 0 }
    }

    /// Runs one analyzer on one file the way the walker does: `wants` first, then `analyze`.
    pub(crate) fn run(a: &dyn Analyzer, path: &str, data: &[u8]) -> LayerFindings {
        run_mode(a, path, data, 0o644)
    }

    pub(crate) fn run_mode(a: &dyn Analyzer, path: &str, data: &[u8], mode: u32) -> LayerFindings {
        let mut m = meta(data.len());
        m.mode = mode;
        assert!(a.wants(path, &m), "{} should want {path}", a.name());
        let loc = super::test_location(path);
        let f = FileInput { path, meta: m, data, truncated: false, location: &loc };
        let mut out = LayerFindings::default();
        a.analyze(&f, &mut out).unwrap_or_else(|e| panic!("{path}: {e}"));
        out
    }

    pub(crate) fn testdata(rel: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }
}
