//! Go modules from the build info the Go linker embeds in executables (Go 1.18+ layout:
//! `\xff Go buildinf:` header followed by inline version and module-info strings).
//!
//! Hand-written: no maintained Rust crate reads Go build info. We scan for the magic at
//! 16-byte-aligned offsets, as Go's own `debug/buildinfo` does within the data section, and
//! only in files that start like an ELF, PE or Mach-O executable. Binaries from Go < 1.18
//! (pointer-based header) are not read: their strings need the executable's address map.

mod gomod;

pub use gomod::{GoMod, parse_go_mod, parse_go_sum};

use crate::util;
use layer::{AnalyzeError, Analyzer, EntryKind, FileInput, FileMeta, LayerFindings};
use model::{Ecosystem, Package};

pub struct GoBinary;

const MAGIC: &[u8] = b"\xff Go buildinf:";

impl Analyzer for GoBinary {
    fn name(&self) -> &'static str {
        "go-binary"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, _path: &str, meta: &FileMeta) -> bool {
        is_executable(meta)
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        if !looks_executable(file.data) {
            return Ok(());
        }
        let Some(info) = parse_build_info(file.data) else {
            return Ok(());
        };
        for mut p in info.packages() {
            p.location = file.location.clone();
            out.packages.push(p);
        }
        Ok(())
    }
}

/// Regular file with an execute bit: binaries are only found among these.
pub(crate) fn is_executable(meta: &FileMeta) -> bool {
    meta.kind == EntryKind::File && meta.mode & 0o111 != 0 && meta.size >= 64
}

pub(crate) fn looks_executable(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
        || data.starts_with(b"MZ")
        || data.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])
        || data.starts_with(&[0xce, 0xfa, 0xed, 0xfe])
        || data.starts_with(&[0xfe, 0xed, 0xfa, 0xcf])
}

/// What a Go binary says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// `go1.21.5`.
    pub go_version: String,
    /// The main module: path and version (`(devel)` for a local build).
    pub main: Option<(String, String)>,
    /// Dependencies after `=>` replacements: path and version.
    pub deps: Vec<(String, String)>,
}

impl BuildInfo {
    /// The standard library (as `stdlib`, the name Go advisories use), the main module unless
    /// it is a `(devel)` build, and every dependency.
    pub fn packages(&self) -> Vec<Package> {
        let mut out = Vec::new();
        if let Some(v) = self.go_version.strip_prefix("go") {
            let v = v.split_whitespace().next().unwrap_or(v);
            out.push(go_package("stdlib", &format!("v{v}")));
        }
        if let Some((path, version)) = &self.main
            && !path.is_empty()
            && !version.is_empty()
            && version != "(devel)"
        {
            out.push(go_package(path, version));
        }
        for (path, version) in &self.deps {
            out.push(go_package(path, version));
        }
        out
    }
}

pub(crate) fn go_package(path: &str, version: &str) -> Package {
    let (ns, name) = match path.rsplit_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, path),
    };
    Package {
        ecosystem: Ecosystem::Go,
        name: path.to_string(),
        version: version.to_string(),
        source_name: None,
        source_version: None,
        purl: util::purl("golang", ns, name, version, &[]),
        licenses: Vec::new(),
        location: Default::default(),
    }
}

/// Finds and parses the build info of a Go executable.
pub fn parse_build_info(data: &[u8]) -> Option<BuildInfo> {
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&data[from..], MAGIC) {
        let at = from + i;
        if at % 16 == 0
            && let Some(info) = parse_header_at(&data[at..])
        {
            return Some(info);
        }
        from = at + 1;
    }
    None
}

fn parse_header_at(b: &[u8]) -> Option<BuildInfo> {
    let flags = *b.get(15)?;
    if flags & 0x2 == 0 {
        return None; // pre-1.18 pointer layout: not supported (see module doc)
    }
    let rest = b.get(32..)?;
    let (version, rest) = read_string(rest)?;
    let (modinfo, _) = read_string(rest)?;
    let go_version = std::str::from_utf8(version).ok()?;
    if !go_version.starts_with("go") {
        return None;
    }
    let modinfo = String::from_utf8_lossy(strip_sentinels(modinfo));
    let mut info = BuildInfo { go_version: go_version.to_string(), main: None, deps: Vec::new() };
    for line in modinfo.lines() {
        let mut f = line.split('\t');
        match (f.next(), f.next(), f.next()) {
            (Some("mod"), Some(p), Some(v)) => info.main = Some((p.to_string(), v.to_string())),
            (Some("dep"), Some(p), Some(v)) => info.deps.push((p.to_string(), v.to_string())),
            (Some("=>"), Some(p), v) => {
                // A replacement of the previous dep; a local path replacement has no version.
                if let Some(last) = info.deps.last_mut() {
                    last.0 = p.to_string();
                    if let Some(v) = v.filter(|v| !v.is_empty()) {
                        last.1 = v.to_string();
                    }
                }
            }
            _ => {}
        }
    }
    Some(info)
}

/// A uvarint length followed by that many bytes.
fn read_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let byte = *b.get(i)?;
        i += 1;
        len |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let len = usize::try_from(len).ok()?;
    let end = i.checked_add(len)?;
    Some((b.get(i..end)?, &b[end..]))
}

/// Module info is wrapped in two 16-byte sentinels when it is long enough.
fn strip_sentinels(m: &[u8]) -> &[u8] {
    if m.len() >= 33 && m[m.len() - 17] == b'\n' { &m[16..m.len() - 16] } else { m }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::run_mode;

    fn blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = b"\x7fELF".to_vec();
        b.resize(64, 0);
        b.extend_from_slice(MAGIC);
        b.push(8);
        b.push(2);
        b.resize(64 + 32, 0);
        for s in [version.as_bytes(), modinfo.as_bytes()] {
            let mut n = s.len();
            while n >= 0x80 {
                b.push((n as u8 & 0x7f) | 0x80);
                n >>= 7;
            }
            b.push(n as u8);
            b.extend_from_slice(s);
        }
        b
    }

    #[test]
    fn synthetic_header() {
        let modinfo = "0123456789abcdefpath\texample.com/app\nmod\texample.com/app\tv1.2.3\th1:x\ndep\tgolang.org/x/text\tv0.3.0\th1:y\n=>\tgolang.org/x/text\tv0.3.8\th1:z\nbuild\tGOOS=linux\n0123456789abcdef";
        let info = parse_build_info(&blob("go1.21.5", modinfo)).expect("build info");
        assert_eq!(info.go_version, "go1.21.5");
        assert_eq!(info.main, Some(("example.com/app".into(), "v1.2.3".into())));
        assert_eq!(info.deps, vec![("golang.org/x/text".into(), "v0.3.8".into())]);
        let purls: Vec<_> = info.packages().into_iter().map(|p| p.purl).collect();
        assert_eq!(purls, vec!["pkg:golang/stdlib@v1.21.5", "pkg:golang/example.com/app@v1.2.3", "pkg:golang/golang.org/x/text@v0.3.8"]);
    }

    #[test]
    fn truncated_and_unaligned_are_ignored() {
        let b = blob("go1.21.5", "mod\tx\tv1\t\n");
        for n in 0..b.len() {
            let _ = parse_build_info(&b[..n]);
        }
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&b);
        assert!(parse_build_info(&shifted).is_none());
    }

    /// Builds a real Go program with the Debian Go toolchain and reads its build info.
    #[test]
    fn real_go_binary() {
        let go = std::process::Command::new("go").arg("version").output();
        if !go.as_ref().is_ok_and(|o| o.status.success()) {
            if std::env::var("SHIPSHAPE_TEST_SERVICES").as_deref() == Ok("1") {
                panic!("go is required when SHIPSHAPE_TEST_SERVICES is set (apt-get install golang-go)");
            }
            eprintln!("skipped: no `go` toolchain (apt-get install golang-go)");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("go.mod"), "module example.com/hello\n\ngo 1.18\n").expect("write");
        std::fs::write(dir.path().join("main.go"), "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n")
            .expect("write");
        let st = std::process::Command::new("go")
            .args(["build", "-o", "hello", "."])
            .current_dir(dir.path())
            .env("GOFLAGS", "-mod=mod")
            .env("GOCACHE", dir.path().join("cache"))
            .env("GOPATH", dir.path().join("gopath"))
            .env("GOPROXY", "off")
            .status()
            .expect("go build");
        assert!(st.success());
        let bin = std::fs::read(dir.path().join("hello")).expect("binary");
        let out = run_mode(&GoBinary, "usr/local/bin/hello", &bin, 0o755);
        let names: Vec<_> = out.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["stdlib"], "a (devel) main module is not reported");
        let go_version = String::from_utf8_lossy(&go.expect("ran").stdout).to_string();
        let v = out.packages[0].version.trim_start_matches('v').to_string();
        assert!(go_version.contains(&format!("go{v} ")), "{go_version} vs {v}");
        let info = parse_build_info(&bin).expect("info");
        assert_eq!(info.main.map(|m| m.0), Some("example.com/hello".into()));
    }
}
