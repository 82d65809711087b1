//! OS detection from `etc/os-release`, `usr/lib/os-release`, `etc/alpine-release` and
//! `etc/redhat-release`.

use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::Distribution;

pub struct OsRelease;

impl Analyzer for OsRelease {
    fn name(&self) -> &'static str {
        "os-release"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        matches!(path, "etc/os-release" | "usr/lib/os-release" | "etc/alpine-release" | "etc/redhat-release")
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let text = String::from_utf8_lossy(file.data);
        match file.path {
            "etc/os-release" | "usr/lib/os-release" => {
                let Some(d) = parse_os_release(&text) else {
                    return Err(AnalyzeError::Malformed { path: file.path.into(), format: "os-release", reason: "no ID".into() });
                };
                // etc/ overrides usr/lib/ (os-release(5)); the vendor copy only fills a gap.
                let from_os_release = out.distribution.as_ref().is_some_and(|e| !e.pretty_name.is_empty());
                if file.path == "etc/os-release" || !from_os_release {
                    out.distribution = Some(d);
                }
            }
            "etc/alpine-release" => {
                let v = text.trim();
                if out.distribution.is_none() && !v.is_empty() {
                    out.distribution = Some(Distribution {
                        id: "alpine".into(),
                        version_id: v.into(),
                        codename: String::new(),
                        pretty_name: String::new(),
                    });
                }
            }
            _ => {
                if out.distribution.is_none() {
                    out.distribution = parse_redhat_release(text.trim());
                }
            }
        }
        Ok(())
    }
}

/// Parses os-release(5): `KEY=value` with optional shell quoting.
pub(crate) fn parse_os_release(text: &str) -> Option<Distribution> {
    let mut d = Distribution::default();
    for line in text.lines() {
        let Some((k, v)) = line.trim().split_once('=') else {
            continue;
        };
        let v = unquote(v.trim());
        match k.trim() {
            "ID" => d.id = v.to_ascii_lowercase(),
            "VERSION_ID" => d.version_id = v,
            "VERSION_CODENAME" => d.codename = v,
            "PRETTY_NAME" => d.pretty_name = v,
            _ => {}
        }
    }
    if d.id.is_empty() { None } else { Some(d) }
}

fn unquote(v: &str) -> String {
    let inner = if v.len() >= 2 && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\''))) {
        &v[1..v.len() - 1]
    } else {
        v
    };
    let mut s = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                s.push(n);
            }
        } else {
            s.push(c);
        }
    }
    s
}

/// `CentOS Linux release 7.9.2009 (Core)`, `Red Hat Enterprise Linux release 8.9 (Ootpa)`...
fn parse_redhat_release(line: &str) -> Option<Distribution> {
    let (name, rest) = line.split_once(" release ")?;
    let version = rest.split_whitespace().next()?.to_string();
    let lower = name.to_ascii_lowercase();
    let id = if lower.starts_with("centos") {
        "centos"
    } else if lower.starts_with("red hat") {
        "rhel"
    } else if lower.starts_with("fedora") {
        "fedora"
    } else if lower.starts_with("rocky") {
        "rocky"
    } else if lower.starts_with("almalinux") {
        "almalinux"
    } else if lower.starts_with("oracle") {
        "ol"
    } else {
        return None;
    };
    Some(Distribution { id: id.into(), version_id: version, codename: String::new(), pretty_name: line.into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{run, testdata};

    #[test]
    fn debian_bookworm() {
        let out = run(&OsRelease, "usr/lib/os-release", &testdata("os/debian12/os-release"));
        let d = out.distribution.expect("distribution");
        assert_eq!((d.id.as_str(), d.version_id.as_str(), d.codename.as_str()), ("debian", "12", "bookworm"));
        assert_eq!(d.pretty_name, "Debian GNU/Linux 12 (bookworm)");
    }

    #[test]
    fn alpine_release_and_os_release() {
        let out = run(&OsRelease, "etc/alpine-release", b"3.19.1\n");
        assert_eq!(out.distribution.as_ref().map(|d| d.version_id.as_str()), Some("3.19.1"));
        let out = run(&OsRelease, "etc/os-release", &testdata("os/alpine319/os-release"));
        let d = out.distribution.expect("distribution");
        assert_eq!((d.id.as_str(), d.version_id.as_str()), ("alpine", "3.19.1"));
    }

    #[test]
    fn etc_overrides_usr_lib_but_not_the_reverse() {
        let a = &OsRelease;
        let loc = crate::util::test_location("x");
        let meta = crate::util::testing::meta(0);
        let mut out = layer::LayerFindings::default();
        let etc = b"ID=ubuntu\nVERSION_ID=\"22.04\"\nPRETTY_NAME=\"Ubuntu 22.04\"\n";
        let lib = b"ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian\"\n";
        for (path, data) in [("etc/os-release", &etc[..]), ("usr/lib/os-release", &lib[..])] {
            let f = FileInput { path, meta, data, truncated: false, location: &loc };
            a.analyze(&f, &mut out).expect("ok");
        }
        assert_eq!(out.distribution.map(|d| d.id), Some("ubuntu".into()));
    }

    #[test]
    fn redhat_release() {
        let out = run(&OsRelease, "etc/redhat-release", b"CentOS Linux release 7.9.2009 (Core)\n");
        let d = out.distribution.expect("distribution");
        assert_eq!((d.id.as_str(), d.version_id.as_str()), ("centos", "7.9.2009"));
        assert!(parse_redhat_release("Something else").is_none());
    }

    #[test]
    fn no_id_is_malformed() {
        let loc = crate::util::test_location("etc/os-release");
        let f = FileInput { path: "etc/os-release", meta: crate::util::testing::meta(3), data: b"X=1", truncated: false, location: &loc };
        assert!(OsRelease.analyze(&f, &mut LayerFindings::default()).is_err());
    }
}
