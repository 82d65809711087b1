//! Applying layers in order: whiteouts, opaque directories and overwrites. Pure.

use crate::LayerIndex;
use crate::path::join_link;
use crate::pathset::digest;
use model::{Distribution, MalwareFinding, Package, RiskFinding};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The content report of a whole image: what is there after every layer is applied.
///
/// There is no listing of the final file system: layers keep their files as digests
/// ([`crate::PathSet`]); ask [`file_layer`] whether a given path is there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageContent {
    /// Packages of the final file system, each with the layer it came from.
    pub packages: Vec<Package>,
    /// From the topmost layer that identified one.
    pub distribution: Option<Distribution>,
    /// All risks, including those in files a later layer deleted or replaced
    /// (`deleted_in_layer` set): a secret in a lower layer is still in the image's blobs.
    pub risks: Vec<RiskFinding>,
    pub malware: Vec<MalwareFinding>,
    /// Layer warnings (prefixed `layer N:`) and merge warnings.
    pub warnings: Vec<String>,
    /// Symlinks of the final file system: path → raw target. Resolve with [`resolve_symlink`].
    pub symlinks: BTreeMap<String, String>,
    /// Files with setuid/setgid bits in the final file system.
    pub setuid_files: Vec<String>,
    /// Some layer hit a walk limit: the report may miss things.
    pub partial: bool,
    pub entries: u64,
    pub bytes: u64,
}

/// How higher layers hide lower content. Filled top-down, so while layer `i` is merged it
/// holds exactly the layers above `i`.
#[derive(Default)]
struct Hides<'a> {
    /// Layers added so far, highest first: their files hide the path and everything under
    /// it; their directories replace a lower non-directory at the same path only.
    layers: Vec<(u32, &'a LayerIndex)>,
    /// Symlinks, specials and whiteouts: hide the path and everything under it (layers,
    /// highest first).
    tree: HashMap<&'a str, Vec<u32>>,
    /// Opaque directories: hide everything under them (not themselves).
    children: HashMap<&'a str, Vec<u32>>,
}

impl<'a> Hides<'a> {
    /// The lowest layer above `floor` that hides `path` (no leading `/`), if any.
    fn hidden_above(&self, path: &str, floor: u32) -> Option<u32> {
        let mut best: Option<u32> = None;
        let mut min = |l: u32| {
            if l > floor {
                best = Some(best.map_or(l, |b| b.min(l)));
            }
        };
        let d = digest(path);
        for &(i, idx) in &self.layers {
            if idx.files.contains_digest(d) || idx.dirs.contains_digest(d) {
                min(i);
            }
        }
        let named = |m: &HashMap<&str, Vec<u32>>, p: &str, min: &mut dyn FnMut(u32)| m.get(p).into_iter().flatten().for_each(|&l| min(l));
        named(&self.tree, path, &mut min);
        named(&self.children, "", &mut min);
        let mut end = 0;
        while let Some(off) = path[end..].find('/') {
            let anc = &path[..end + off];
            let d = digest(anc);
            for &(i, idx) in &self.layers {
                if idx.files.contains_digest(d) {
                    min(i);
                }
            }
            named(&self.tree, anc, &mut min);
            named(&self.children, anc, &mut min);
            end += off + 1;
        }
        best
    }

    fn add_layer(&mut self, i: u32, idx: &'a LayerIndex) {
        self.layers.push((i, idx));
        for p in idx.specials.iter().chain(idx.symlinks.iter().map(|l| &l.path)).chain(&idx.whiteouts) {
            self.tree.entry(p).or_default().push(i);
        }
        for d in &idx.opaque_dirs {
            self.children.entry(d).or_default().push(i);
        }
    }

    /// The layer whose copy of regular file `path` is in the final file system, if any.
    fn file_layer(&self, path: &str) -> Option<u32> {
        let d = digest(path);
        let &(j, _) = self.layers.iter().find(|(_, idx)| idx.files.contains_digest(d))?;
        self.hidden_above(path, j).is_none().then_some(j)
    }
}

/// The layer whose copy of the regular file (or hard link) at `path` (no leading `/`) is in
/// the final file system of `indexes` (bottom first), or `None` when no layer writes it or a
/// higher layer deletes or replaces it.
pub fn file_layer(indexes: &[LayerIndex], path: &str) -> Option<u32> {
    let mut hides = Hides::default();
    for (i, idx) in indexes.iter().enumerate().rev() {
        hides.add_layer(i as u32, idx);
    }
    hides.file_layer(path.strip_prefix('/').unwrap_or(path))
}

/// Merges per-layer indexes (`indexes[i]` is layer `i`, bottom first) into the image content.
///
/// A finding in layer `i` at path P is hidden when a layer above deletes P (whiteout of P or
/// of a parent, opaque parent) or writes P again. Hidden packages are dropped (the higher
/// layer's own copy, if any, was analysed there); hidden risks and malware are kept with
/// `deleted_in_layer` = the lowest such layer.
pub fn merge(indexes: &[LayerIndex]) -> ImageContent {
    let mut out = ImageContent::default();
    let mut hides = Hides::default();
    // Per layer, filled top-down, emitted bottom-up.
    let mut per_layer: Vec<(Vec<Package>, Vec<RiskFinding>, Vec<MalwareFinding>)> = Vec::new();
    for (i, idx) in indexes.iter().enumerate().rev() {
        let i = i as u32;
        let f = &idx.findings;
        let hidden = |p: &str| hides.hidden_above(p.strip_prefix('/').unwrap_or(p), i);
        let packages = f.packages.iter().filter(|p| hidden(&p.location.path).is_none()).cloned().collect();
        let mut risks = f.risks.clone();
        for r in &mut risks {
            r.deleted_in_layer = r.deleted_in_layer.or(hidden(&r.location.path));
        }
        let mut malware = f.malware.clone();
        for m in &mut malware {
            m.deleted_in_layer = m.deleted_in_layer.or(hidden(&m.location.path));
        }
        per_layer.push((packages, risks, malware));
        if out.distribution.is_none() {
            out.distribution = f.distribution.clone();
        }
        out.warnings.extend(f.warnings.iter().map(|w| format!("layer {i}: {w}")));
        for l in &idx.symlinks {
            if hidden(&l.path).is_none() {
                out.symlinks.entry(l.path.clone()).or_insert_with(|| l.target.clone());
            }
        }
        out.setuid_files.extend(idx.setuid_files.iter().filter(|p| hidden(p).is_none()).cloned());
        out.partial |= idx.partial;
        out.entries += idx.entries;
        out.bytes += idx.bytes;
        hides.add_layer(i, idx);
    }
    // Layers were visited top-down: emit bottom-up.
    for (p, r, m) in per_layer.into_iter().rev() {
        out.packages.extend(p);
        out.risks.extend(r);
        out.malware.extend(m);
    }
    out.setuid_files.sort();
    out.setuid_files.dedup();

    // Hard links must point at a file of the image; anything else is reported, never resolved.
    for (i, idx) in indexes.iter().enumerate() {
        for l in &idx.hardlinks {
            let exists = hides.file_layer(&l.target).is_some();
            if !exists {
                out.warnings.push(format!("layer {i}: hard link /{} → /{}: target not in the image", l.path, l.target));
            }
        }
    }
    out
}

/// Most symlink hops followed before giving up (Linux's MAXSYMLINKS).
pub const MAX_SYMLINK_HOPS: usize = 40;

/// Resolves `path` (with or without leading `/`) through the image's symlinks, inside the
/// image root: `..` clamps at `/`, absolute targets restart at the image root, every
/// component (directories too) is followed. `None` after [`MAX_SYMLINK_HOPS`] hops (a loop).
/// The result has no leading `/`; it may name a path that does not exist.
pub fn resolve_symlink(links: &BTreeMap<String, String>, path: &str) -> Option<String> {
    let mut pending: Vec<String> = Vec::new(); // reversed: last element is the next component
    push_components(&mut pending, path);
    // The resolved prefix, kept as one string plus the lengths to truncate back to: linear
    // in the path length, however deep.
    let mut here = String::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut hops = 0;
    while let Some(comp) = pending.pop() {
        match comp.as_str() {
            "" | "." => {}
            ".." => {
                if let Some(m) = marks.pop() {
                    here.truncate(m);
                }
            }
            _ => {
                marks.push(here.len());
                if !here.is_empty() {
                    here.push('/');
                }
                here.push_str(&comp);
                if let Some(target) = links.get(&here) {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return None;
                    }
                    if let Some(m) = marks.pop() {
                        here.truncate(m);
                    }
                    if target.starts_with('/') {
                        here.clear();
                        marks.clear();
                    }
                    push_components(&mut pending, target);
                }
            }
        }
    }
    Some(here)
}

fn push_components(pending: &mut Vec<String>, path: &str) {
    pending.extend(path.split('/').rev().filter(|c| !c.is_empty()).map(str::to_string));
}

/// Where a symlink at `link_path` points, as an image path, without following further links.
pub fn link_target(link_path: &str, target: &str) -> String {
    join_link(link_path, target).path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LayerFindings, LinkRecord};
    use model::{Ecosystem, Location, Severity};

    fn loc(path: &str, layer: u32) -> Location {
        Location { path: format!("/{path}"), layer_index: layer, layer_digest: format!("sha256:{layer}") }
    }
    fn pkg(name: &str, path: &str, layer: u32) -> Package {
        Package {
            ecosystem: Ecosystem::PyPI,
            name: name.into(),
            version: "1".into(),
            source_name: None,
            source_version: None,
            purl: format!("pkg:pypi/{name}@1"),
            licenses: vec![],
            location: loc(path, layer),
        }
    }
    fn risk(path: &str, layer: u32) -> RiskFinding {
        RiskFinding {
            rule_id: "aws".into(),
            title: "AWS".into(),
            category: "secret".into(),
            severity: Severity::High,
            location: loc(path, layer),
            line: 1,
            masked: "AKIA****".into(),
            deleted_in_layer: None,
        }
    }
    fn layer(i: u32, files: &[&str], pkgs: Vec<Package>, risks: Vec<RiskFinding>) -> LayerIndex {
        LayerIndex {
            diff_id: format!("sha256:{i}"),
            files: files.iter().map(|s| s.to_string()).collect(),
            findings: LayerFindings { packages: pkgs, risks, ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn whiteout_deletes_and_keeps_risk_as_deleted() {
        let l0 = layer(
            0,
            &["app/config/old.json", "app/config/settings.py"],
            vec![],
            vec![risk("app/config/old.json", 0), risk("app/config/settings.py", 0)],
        );
        let mut l1 = layer(1, &[], vec![], vec![]);
        l1.whiteouts.push("app/config/old.json".into());
        let layers = [l0, l1];
        let c = merge(&layers);
        assert_eq!(c.risks.len(), 2);
        assert_eq!(c.risks[0].deleted_in_layer, Some(1));
        assert_eq!(c.risks[1].deleted_in_layer, None);
        assert_eq!(file_layer(&layers, "app/config/settings.py"), Some(0));
        assert_eq!(file_layer(&layers, "/app/config/settings.py"), Some(0));
        assert_eq!(file_layer(&layers, "app/config/old.json"), None);
    }

    #[test]
    fn whiteout_of_directory_and_opaque_dir() {
        let l0 = layer(0, &["a/x/METADATA", "b/y/METADATA", "b/z"], vec![pkg("x", "a/x/METADATA", 0), pkg("y", "b/y/METADATA", 0)], vec![]);
        let mut l1 = layer(1, &["b/new"], vec![], vec![]);
        l1.whiteouts.push("a".into());
        l1.opaque_dirs.push("b".into());
        let layers = [l0, l1];
        let c = merge(&layers);
        assert!(c.packages.is_empty());
        assert_eq!(file_layer(&layers, "b/new"), Some(1));
        for gone in ["a/x/METADATA", "b/y/METADATA", "b/z"] {
            assert_eq!(file_layer(&layers, gone), None, "{gone}");
        }
        // The opaque dir itself is not hidden, and a whiteout only hides lower layers.
        let mut l2 = layer(2, &["b"], vec![], vec![]);
        l2.opaque_dirs.push("c".into());
        let l3 = layer(3, &["c/keep"], vec![], vec![]);
        let layers = [layer(0, &[], vec![], vec![]), layer(1, &[], vec![], vec![]), l2, l3];
        assert_eq!((file_layer(&layers, "b"), file_layer(&layers, "c/keep")), (Some(2), Some(3)));
        // A file in a higher layer replaces a whole lower directory tree.
        let l0 = layer(0, &["d/e/f"], vec![pkg("f", "d/e/f", 0)], vec![]);
        let l1 = layer(1, &["d/e"], vec![], vec![]);
        assert!(merge(&[l0.clone(), l1.clone()]).packages.is_empty());
        assert_eq!(file_layer(&[l0, l1], "d/e/f"), None);
    }

    #[test]
    fn overwrite_keeps_top_package_with_its_layer() {
        let l0 = layer(0, &["var/lib/dpkg/status"], vec![pkg("old", "var/lib/dpkg/status", 0)], vec![]);
        let l1 = layer(1, &["var/lib/dpkg/status"], vec![pkg("new", "var/lib/dpkg/status", 1)], vec![]);
        let l2 = layer(2, &["other"], vec![pkg("other", "other", 2)], vec![]);
        let layers = [l0, l1, l2];
        let c = merge(&layers);
        let names: Vec<_> = c.packages.iter().map(|p| (p.name.as_str(), p.location.layer_index)).collect();
        assert_eq!(names, vec![("new", 1), ("other", 2)]);
        assert_eq!(file_layer(&layers, "var/lib/dpkg/status"), Some(1));
    }

    #[test]
    fn deleted_in_lowest_hiding_layer() {
        let l0 = layer(0, &["s"], vec![], vec![risk("s", 0)]);
        let l1 = layer(1, &["s"], vec![], vec![]);
        let mut l2 = layer(2, &[], vec![], vec![]);
        l2.whiteouts.push("s".into());
        let layers = [l0, l1, l2];
        let c = merge(&layers);
        assert_eq!(c.risks[0].deleted_in_layer, Some(1));
        assert_eq!(file_layer(&layers, "s"), None);
    }

    #[test]
    fn distribution_is_topmost_and_dir_replaces_file() {
        let mut l0 = layer(0, &["etc/x"], vec![], vec![]);
        l0.findings.distribution = Some(Distribution { id: "debian".into(), ..Default::default() });
        let mut l1 = layer(1, &[], vec![], vec![]);
        l1.findings.distribution = Some(Distribution { id: "alpine".into(), ..Default::default() });
        l1.dirs.insert("etc/x");
        let layers = [l0, l1];
        let c = merge(&layers);
        assert_eq!(c.distribution.unwrap().id, "alpine");
        assert_eq!(file_layer(&layers, "etc/x"), None);
    }

    #[test]
    fn hardlink_outside_is_reported() {
        let mut l0 = layer(0, &["etc/passwd", "ok", "bad"], vec![], vec![]);
        l0.hardlinks.push(LinkRecord { path: "ok".into(), target: "etc/passwd".into() });
        l0.hardlinks.push(LinkRecord { path: "bad".into(), target: "etc/shadow".into() });
        let c = merge(&[l0]);
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("/etc/shadow"));
    }

    #[test]
    fn symlinks_resolve_inside_root() {
        let links: BTreeMap<String, String> = [
            ("etc/os-release", "../usr/lib/os-release"),
            ("etc/passwd-link", "../../../../etc/shadow"),
            ("etc/abs-link", "/etc/shadow"),
            ("loop/a", "b"),
            ("loop/b", "a"),
            ("loop/self", "self"),
            ("lib", "usr/lib"),
            ("usr/lib/x", "../../../lib/y"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let r = |p| resolve_symlink(&links, p);
        assert_eq!(r("etc/os-release").as_deref(), Some("usr/lib/os-release"));
        assert_eq!(r("/etc/os-release").as_deref(), Some("usr/lib/os-release"));
        assert_eq!(r("etc/passwd-link").as_deref(), Some("etc/shadow"));
        assert_eq!(r("etc/abs-link").as_deref(), Some("etc/shadow"));
        assert_eq!(r("loop/a"), None);
        assert_eq!(r("loop/self"), None);
        assert_eq!(r("lib/os-release").as_deref(), Some("usr/lib/os-release"));
        // lib -> usr/lib, x -> ../../../lib/y (clamped) -> lib/y -> usr/lib/y
        assert_eq!(r("lib/x").as_deref(), Some("usr/lib/y"));
        assert_eq!(r("plain/file").as_deref(), Some("plain/file"));
        assert_eq!(link_target("etc/os-release", "../usr/lib/os-release"), "usr/lib/os-release");
    }

    #[test]
    fn symlink_whited_out_is_gone() {
        let mut l0 = layer(0, &[], vec![], vec![]);
        l0.symlinks.push(LinkRecord { path: "etc/os-release".into(), target: "x".into() });
        let mut l1 = layer(1, &[], vec![], vec![]);
        l1.whiteouts.push("etc".into());
        assert!(merge(&[l0.clone(), l1]).symlinks.is_empty());
        assert_eq!(merge(&[l0]).symlinks.len(), 1);
    }
}
