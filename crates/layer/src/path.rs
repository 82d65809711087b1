//! Entry-name normalisation: every tar name becomes a path relative to the image root.
//!
//! Never touches the host file system: the result is a string key, not a host path.

/// A normalised entry name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalPath {
    /// Relative to the image root, no leading `/`, no `.`/`..`/empty components; `""` is the root.
    pub path: String,
    /// The raw name tried to climb above the root (`..` past `/`): it was clamped.
    pub escaped: bool,
    /// The raw name was not valid UTF-8 (replaced lossily).
    pub lossy: bool,
}

/// Normalises a raw tar name: strips leading `/` and `./`, resolves `..` clamped at the root.
///
/// Iterative (no recursion), so 300-level deep names are fine.
pub fn normalize(raw: &[u8]) -> NormalPath {
    let text = String::from_utf8_lossy(raw);
    let lossy = matches!(text, std::borrow::Cow::Owned(_));
    let mut parts: Vec<&str> = Vec::new();
    let mut escaped = false;
    for comp in text.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    escaped = true;
                }
            }
            c => parts.push(c),
        }
    }
    NormalPath { path: parts.join("/"), escaped, lossy }
}

/// Joins a link target onto the directory holding the link, inside the image root.
/// Absolute targets are relative to the image root, never the host's.
pub fn join_link(link_path: &str, target: &str) -> NormalPath {
    if target.starts_with('/') {
        return normalize(target.as_bytes());
    }
    let parent = parent(link_path);
    let joined = if parent.is_empty() { target.to_string() } else { format!("{parent}/{target}") };
    normalize(joined.as_bytes())
}

/// The parent of a normalised path (`""` for top-level entries).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// The last component of a normalised path.
pub fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> (String, bool) {
        let p = normalize(s.as_bytes());
        (p.path, p.escaped)
    }

    #[test]
    fn strips_prefixes() {
        assert_eq!(n("/etc/passwd"), ("etc/passwd".into(), false));
        assert_eq!(n("./etc/passwd"), ("etc/passwd".into(), false));
        assert_eq!(n(".//./etc//passwd/"), ("etc/passwd".into(), false));
        assert_eq!(n("./"), ("".into(), false));
        assert_eq!(n(""), ("".into(), false));
    }

    #[test]
    fn clamps_dotdot_at_root() {
        assert_eq!(n("../../escape.txt"), ("escape.txt".into(), true));
        assert_eq!(n("/../../etc/shadow"), ("etc/shadow".into(), true));
        assert_eq!(n("a/b/../../c"), ("c".into(), false));
        assert_eq!(n("a/../../c"), ("c".into(), true));
        assert_eq!(n("a/b/.."), ("a".into(), false));
    }

    #[test]
    fn deep_paths_do_not_recurse() {
        let deep = "d/".repeat(300) + "bottom.txt";
        let p = normalize(deep.as_bytes());
        assert_eq!(p.path, deep);
        let climb = "../".repeat(10_000) + "x";
        assert_eq!(n(&climb), ("x".into(), true));
    }

    #[test]
    fn non_utf8_is_lossy() {
        let p = normalize(b"etc/\xffbad");
        assert!(p.lossy);
        assert_eq!(p.path, "etc/\u{fffd}bad");
    }

    #[test]
    fn link_targets_stay_inside() {
        assert_eq!(join_link("etc/passwd-link", "../../../../etc/shadow").path, "etc/shadow");
        assert_eq!(join_link("etc/abs-link", "/etc/shadow").path, "etc/shadow");
        assert_eq!(join_link("etc/os-release", "../usr/lib/os-release").path, "usr/lib/os-release");
        assert_eq!(join_link("top", "x").path, "x");
    }
}
