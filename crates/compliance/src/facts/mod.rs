//! Fact builders: turn daemon answers and node files into the Rego input of each asset type. Node files are
//! read below a configurable root directory (`/` in production, a fixture tree in tests), with symlinks
//! resolved inside that root so a hostile tree cannot point the reader elsewhere.

pub mod containerd;
pub mod docker;
pub mod host;
pub mod k8s;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use serde_json::{Value, json};

/// Largest config/manifest file read (bigger files are reported as unreadable, never loaded whole).
pub const MAX_FILE: u64 = 4 << 20;

/// A directory standing for the node's `/`.
#[derive(Debug, Clone)]
pub struct NodeRoot {
    root: PathBuf,
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl NodeRoot {
    pub fn new(root: impl Into<PathBuf>) -> NodeRoot {
        let root = root.into();
        let mut n = NodeRoot { root, users: HashMap::new(), groups: HashMap::new() };
        n.users = n.id_names("/etc/passwd");
        n.groups = n.id_names("/etc/group");
        n
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps an absolute node path to a host path, resolving symlinks so that they stay below the root
    /// (an absolute link target is re-anchored at the root, `..` stops at it).
    pub fn resolve(&self, abs: &str) -> PathBuf {
        let mut out = self.root.clone();
        let mut depth = 0usize;
        let mut pending: Vec<String> = components(abs);
        pending.reverse();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            match c.as_str() {
                "." | "" => continue,
                ".." => {
                    if depth > 0 {
                        out.pop();
                        depth -= 1;
                    }
                    continue;
                }
                _ => {}
            }
            let next = out.join(&c);
            match std::fs::symlink_metadata(&next) {
                Ok(m) if m.file_type().is_symlink() && hops < 40 => {
                    hops += 1;
                    let Ok(target) = std::fs::read_link(&next) else {
                        out = next;
                        depth += 1;
                        continue;
                    };
                    let t = target.to_string_lossy().to_string();
                    if t.starts_with('/') {
                        out = self.root.clone();
                        depth = 0;
                    }
                    let mut parts = components(&t);
                    parts.reverse();
                    pending.extend(parts);
                }
                _ => {
                    out = next;
                    depth += 1;
                }
            }
        }
        out
    }

    /// Reads a file of at most [`MAX_FILE`] bytes; Ok(None) when it does not exist.
    pub fn read(&self, abs: &str) -> Result<Option<Vec<u8>>, String> {
        read_bounded(&self.resolve(abs))
    }

    /// `stat` of a node path as Rego input: {exists, mode, mode_octal, uid, gid, owner, group, kind}, or
    /// {exists: false} / {exists: false, error}.
    pub fn stat(&self, abs: &str) -> Value {
        match std::fs::metadata(self.resolve(abs)) {
            Ok(m) => {
                let mode = m.mode() & 0o7777;
                let ft = m.file_type();
                let kind = if ft.is_dir() {
                    "directory"
                } else if ft.is_file() {
                    "regular file"
                } else {
                    use std::os::unix::fs::FileTypeExt;
                    if ft.is_socket() { "socket" } else { "other" }
                };
                json!({
                    "exists": true,
                    "mode": mode,
                    "mode_octal": format!("{mode:04o}"),
                    "uid": m.uid(),
                    "gid": m.gid(),
                    "owner": self.users.get(&m.uid()).cloned().unwrap_or_else(|| m.uid().to_string()),
                    "group": self.groups.get(&m.gid()).cloned().unwrap_or_else(|| m.gid().to_string()),
                    "kind": kind,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({"exists": false}),
            Err(e) => json!({"exists": false, "error": e.to_string()}),
        }
    }

    /// {path: stat} for several paths.
    pub fn stats<'a>(&self, paths: impl IntoIterator<Item = &'a str>) -> Value {
        let mut m = serde_json::Map::new();
        for p in paths {
            m.insert(p.to_string(), self.stat(p));
        }
        Value::Object(m)
    }

    /// Regular files directly in a node directory (sorted), empty when it does not exist.
    pub fn list_dir(&self, abs: &str) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.resolve(abs)) else {
            return Vec::new();
        };
        let mut out: Vec<String> =
            rd.filter_map(|e| e.ok()).map(|e| format!("{}/{}", abs.trim_end_matches('/'), e.file_name().to_string_lossy())).collect();
        out.sort();
        out
    }

    pub fn exists(&self, abs: &str) -> bool {
        self.resolve(abs).exists()
    }

    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.users.get(&uid).map(String::as_str)
    }

    fn id_names(&self, file: &str) -> HashMap<u32, String> {
        let mut m = HashMap::new();
        if let Ok(Some(b)) = self.read(file) {
            for line in String::from_utf8_lossy(&b).lines() {
                let f: Vec<&str> = line.split(':').collect();
                if f.len() >= 3
                    && let Ok(id) = f[2].parse::<u32>()
                {
                    m.entry(id).or_insert_with(|| f[0].to_string());
                }
            }
        }
        m
    }

    /// Members of a group in the node's /etc/group: None when the group does not exist.
    pub fn group_members(&self, group: &str) -> Result<Option<Vec<String>>, String> {
        let Some(b) = self.read("/etc/group")? else {
            return Ok(None);
        };
        for line in String::from_utf8_lossy(&b).lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() >= 4 && f[0] == group {
                return Ok(Some(f[3].split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()));
            }
        }
        Ok(None)
    }

    /// Mount points from `<proc>/self/mountinfo` (field 5).
    pub fn mount_points(&self, proc_root: &Path) -> Result<Option<Vec<String>>, String> {
        let Some(b) = read_bounded(&proc_root.join("self/mountinfo"))? else {
            return Ok(None);
        };
        Ok(Some(String::from_utf8_lossy(&b).lines().filter_map(|l| l.split(' ').nth(4)).map(|p| p.replace("\\040", " ")).collect()))
    }
}

fn components(p: &str) -> Vec<String> {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().to_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

pub(crate) fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut buf = Vec::new();
    f.take(MAX_FILE + 1).read_to_end(&mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
    if buf.len() as u64 > MAX_FILE {
        return Err(format!("{}: larger than {MAX_FILE} bytes", path.display()));
    }
    Ok(Some(buf))
}

/// Parses a daemon's argv into {flag: [values]} in order of appearance (the last one is effective).
/// `--k=v`, `--k v` and `-k v` are all understood; flags in `bools` take no separate value (pitfall K1).
/// Hand-written: each daemon has its own flag set and no maintained crate parses a foreign argv.
pub fn parse_flags(argv: &[String], bools: &[&str], aliases: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        i += 1;
        let Some(stripped) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            continue;
        };
        if stripped.is_empty() {
            continue;
        }
        let (name, inline) = match stripped.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (stripped.to_string(), None),
        };
        let name = aliases.iter().find(|(s, _)| *s == name).map(|(_, l)| l.to_string()).unwrap_or(name);
        let value = match inline {
            Some(v) => v,
            None if bools.contains(&name.as_str()) => "true".to_string(),
            None => match argv.get(i) {
                Some(v) if !v.starts_with('-') => {
                    i += 1;
                    v.clone()
                }
                _ => "true".to_string(),
            },
        };
        out.entry(name).or_default().push(value);
    }
    out
}

/// Finds running processes named `name` (by exe basename or comm) under a proc root; returns their argv.
pub fn find_process(proc_root: &Path, name: &str) -> Vec<(u32, Vec<String>)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(proc_root) else {
        return out;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let dir = e.path();
        let exe_name = std::fs::read_link(dir.join("exe")).ok().and_then(|p| p.file_name().map(|f| f.to_string_lossy().to_string()));
        let comm = std::fs::read_to_string(dir.join("comm")).map(|s| s.trim().to_string()).unwrap_or_default();
        if exe_name.as_deref() != Some(name) && comm != name {
            continue;
        }
        if let Ok(Some(b)) = read_bounded(&dir.join("cmdline")) {
            let argv: Vec<String> =
                b.split(|c| *c == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).to_string()).collect();
            if !argv.is_empty() {
                out.push((pid, argv));
            }
        }
    }
    out.sort();
    out
}

/// Audit rules of the node: `/etc/audit/audit.rules` and `/etc/audit/rules.d/*.rules`, plus which of
/// `paths` exist (only existing paths need a watch).
pub fn audit_facts(node: &NodeRoot, paths: &[String]) -> Value {
    let mut rules = Vec::new();
    let mut sources = Vec::new();
    let mut files = vec!["/etc/audit/audit.rules".to_string()];
    files.extend(node.list_dir("/etc/audit/rules.d").into_iter().filter(|p| p.ends_with(".rules")));
    for f in files {
        match node.read(&f) {
            Ok(Some(b)) => {
                sources.push(f);
                rules.extend(String::from_utf8_lossy(&b).lines().map(str::to_string));
            }
            Ok(None) => {}
            Err(e) => return json!({"error": e, "rules": [], "sources": [], "paths": []}),
        }
    }
    let existing: Vec<&String> = paths.iter().filter(|p| node.exists(p)).collect();
    json!({"rules": rules, "sources": sources, "paths": existing})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_last_wins_and_space_separated_values() {
        let f = parse_flags(
            &v(&[
                "kube-apiserver",
                "--audit-log-path",
                "/var/log/a",
                "--authorization-mode=AlwaysAllow",
                "--authorization-mode=Node,RBAC",
                "-v",
                "2",
            ]),
            &[],
            &[],
        );
        assert_eq!(f["audit-log-path"], vec!["/var/log/a"]);
        assert_eq!(f["authorization-mode"].last().map(String::as_str), Some("Node,RBAC"));
        let d = parse_flags(
            &v(&["dockerd", "-D", "-H", "tcp://0.0.0.0:2376", "--iptables=false"]),
            &["debug"],
            &[("D", "debug"), ("H", "host")],
        );
        assert_eq!(d["debug"], vec!["true"]);
        assert_eq!(d["host"], vec!["tcp://0.0.0.0:2376"]);
        assert_eq!(d["iptables"], vec!["false"]);
    }

    #[test]
    fn resolve_keeps_symlinks_inside_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/real"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/real", dir.path().join("etc/abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc/passwd", dir.path().join("etc/escape")).unwrap();
        let n = NodeRoot::new(dir.path());
        assert_eq!(n.resolve("/etc/abs"), dir.path().join("etc/real"));
        assert_eq!(n.resolve("/etc/escape"), dir.path().join("etc/passwd"));
        assert_eq!(n.resolve("/../../etc/real"), dir.path().join("etc/real"));
    }
}
