//! Rust crates from binaries built with `cargo auditable` (the `.dep-v0` section, read with the
//! `auditable-info` crate) and from `Cargo.lock` files (declared; see [`crate::finalize`]).

use crate::golang::{is_executable, looks_executable};
use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::{Ecosystem, Package};

pub struct Cargo;

/// Decompressed audit JSON larger than this is refused (zip-bomb bound).
const MAX_AUDIT_JSON: usize = 8 << 20;

impl Analyzer for Cargo {
    fn name(&self) -> &'static str {
        "cargo"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, meta: &FileMeta) -> bool {
        util::basename(path) == "Cargo.lock" || is_executable(meta)
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let found = if util::basename(file.path) == "Cargo.lock" {
            parse_cargo_lock(file.data).map_err(|reason| AnalyzeError::Malformed {
                path: file.path.into(),
                format: "Cargo.lock",
                reason,
            })?
        } else if looks_executable(file.data) {
            parse_auditable(file.data)
        } else {
            Vec::new()
        };
        for mut p in found {
            p.location = file.location.clone();
            out.packages.push(p);
        }
        Ok(())
    }
}

/// Crates a cargo-auditable binary embeds; empty for binaries without audit data. Local
/// (workspace) crates are the program itself and are left out.
pub fn parse_auditable(data: &[u8]) -> Vec<Package> {
    let Ok(info) = auditable_info::audit_info_from_slice(data, MAX_AUDIT_JSON) else {
        return Vec::new();
    };
    info.packages
        .iter()
        .filter(|p| !matches!(p.source, auditable_serde::Source::Local))
        .map(|p| crate_package(&p.name, &p.version.to_string()))
        .collect()
}

fn crate_package(name: &str, version: &str) -> Package {
    Package {
        ecosystem: Ecosystem::CratesIo,
        name: name.to_string(),
        version: version.to_string(),
        source_name: None,
        source_version: None,
        purl: util::purl("cargo", None, name, version, &[]),
        licenses: Vec::new(),
        location: Default::default(),
    }
}

#[derive(serde::Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(serde::Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    source: Option<String>,
}

/// `[[package]]` entries with a `source` (registry or git); path dependencies are the project.
pub fn parse_cargo_lock(data: &[u8]) -> Result<Vec<Package>, String> {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let lock: Lock = toml::from_str(text).map_err(|e| e.to_string())?;
    Ok(lock.package.iter().filter(|p| p.source.is_some()).map(|p| crate_package(&p.name, &p.version)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{run, run_mode, testdata};

    #[test]
    fn cargo_lock() {
        let out = run(&Cargo, "src/app/Cargo.lock", &testdata("cargo/Cargo.lock"));
        let got: Vec<_> = out.packages.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(got, vec!["pkg:cargo/memchr@2.7.4", "pkg:cargo/regex@1.11.1"]);
    }

    #[test]
    fn deeply_nested_lock_file_does_not_overflow_the_stack() {
        let deep = format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_cargo_lock(deep.as_bytes()).is_err() || parse_cargo_lock(deep.as_bytes()).is_ok_and(|v| v.is_empty()));
        let deep = format!("x = {}1{}\n", "{a=".repeat(50_000), "}".repeat(50_000));
        let _ = parse_cargo_lock(deep.as_bytes());
    }

    /// A cargo-auditable binary needs `cargo auditable`; CI installs it (cargo install
    /// cargo-auditable). Without it the test builds nothing and says so.
    #[test]
    fn auditable_binary() {
        let has = std::process::Command::new("cargo").args(["auditable", "--version"]).output();
        if !has.as_ref().is_ok_and(|o| o.status.success()) {
            if std::env::var("SHIPSHAPE_TEST_SERVICES").as_deref() == Ok("1") {
                panic!("cargo-auditable is required when SHIPSHAPE_TEST_SERVICES is set");
            }
            eprintln!("skipped: `cargo auditable` is not installed");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cargo/hello");
        for f in ["Cargo.toml", "src/main.rs"] {
            std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
            std::fs::copy(src.join(f), dir.path().join(f)).expect("copy");
        }
        let st = std::process::Command::new("cargo")
            .args(["auditable", "build", "--release", "--offline", "--quiet"])
            .current_dir(dir.path())
            .env("CARGO_TARGET_DIR", dir.path().join("target"))
            .status()
            .expect("cargo auditable");
        assert!(st.success());
        let bin = std::fs::read(dir.path().join("target/release/hello-auditable")).expect("binary");
        let out = run_mode(&Cargo, "usr/local/bin/hello-auditable", &bin, 0o755);
        let names: Vec<_> = out.packages.iter().map(|p| p.name.as_str()).collect();
        assert!(names.contains(&"memchr"), "{names:?}");
        assert!(!names.contains(&"hello-auditable"), "the program itself is local");
        assert!(parse_auditable(b"\x7fELF not really").is_empty());
    }
}
