use super::*;
use crate::util::testing::{meta, run, testdata};

fn summary(out: &LayerFindings) -> Vec<String> {
    let mut v: Vec<String> = out
        .packages
        .iter()
        .filter(|p| !p.name.starts_with("foo-plugin-"))
        .map(|p| {
            format!(
                "{} {} {}/{} {}",
                p.name,
                p.version,
                p.source_name.as_deref().unwrap_or(""),
                p.source_version.as_deref().unwrap_or(""),
                p.purl
            )
        })
        .collect();
    v.sort();
    v
}

fn expected() -> Vec<String> {
    vec![
        "hello 2.10-3.fc39 hello/2.10-3.fc39 pkg:rpm/redhat/hello@2.10-3.fc39?arch=x86_64".to_string(),
        "libfoo 2:1.2.3-1.el9 foo/2:1.2.3-1.el9 pkg:rpm/redhat/libfoo@1.2.3-1.el9?arch=x86_64&epoch=2".to_string(),
    ]
}

#[test]
fn sqlite_rpmdb_made_by_rpm() {
    let out = run(&Rpm, "usr/lib/sysimage/rpm/rpmdb.sqlite", &testdata("rpm/rpmdb.sqlite"));
    assert_eq!(out.packages.len(), 62, "{:?}", out.warnings);
    assert_eq!(summary(&out), expected());
    assert_eq!(out.packages.iter().find(|p| p.name == "hello").map(|p| p.licenses.clone()), Some(vec!["GPL-3.0-or-later".to_string()]));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn berkeley_db_hash() {
    let out = run(&Rpm, "var/lib/rpm/Packages", &testdata("rpm/Packages"));
    assert_eq!(out.packages.len(), 62, "{:?}", out.warnings);
    assert_eq!(summary(&out), expected());
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

/// Lays out blobs the way rpm's ndb backend does: a 32-byte header and 16-byte slots in the
/// first page, each blob 16-byte aligned with its own header.
fn ndb_of(blobs: &[Vec<u8>]) -> Vec<u8> {
    let mut f = vec![0u8; 4096];
    f[..4].copy_from_slice(b"RpmP");
    f[8..12].copy_from_slice(&1u32.to_le_bytes());
    f[12..16].copy_from_slice(&1u32.to_le_bytes());
    for i in 0..254 {
        f[32 + i * 16..36 + i * 16].copy_from_slice(b"Slot");
    }
    for (i, b) in blobs.iter().enumerate() {
        let off = f.len();
        let pkg = (i + 1) as u32;
        let s = 32 + i * 16;
        f[s + 4..s + 8].copy_from_slice(&pkg.to_le_bytes());
        f[s + 8..s + 12].copy_from_slice(&((off / 16) as u32).to_le_bytes());
        f[s + 12..s + 16].copy_from_slice(&((16 + b.len()).div_ceil(16) as u32).to_le_bytes());
        f.extend_from_slice(b"BlbS");
        f.extend_from_slice(&pkg.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(b.len() as u32).to_le_bytes());
        f.extend_from_slice(b);
        f.resize(f.len().div_ceil(16) * 16, 0);
    }
    f
}

#[test]
fn ndb_packages_db() {
    let blobs = parse_sqlite(&testdata("rpm/rpmdb.sqlite")).expect("sqlite");
    let out = run(&Rpm, "var/lib/rpm/Packages.db", &ndb_of(&blobs));
    assert_eq!(out.packages.len(), 62);
    assert_eq!(summary(&out), expected());
}

#[test]
fn wants_only_rpmdb_paths() {
    assert!(Rpm.wants("var/lib/rpm/rpmdb.sqlite", &meta(1)));
    assert!(!Rpm.wants("var/lib/rpm/Packages.bak", &meta(1)));
    assert!(!Rpm.wants("home/var/lib/rpm/Packages", &meta(1)));
}

#[test]
fn corrupt_databases_fail_cleanly() {
    let sqlite = testdata("rpm/rpmdb.sqlite");
    let bdb = testdata("rpm/Packages");
    for cut in [100, 4096, 5000, sqlite.len() / 2] {
        let _ = parse_sqlite(&sqlite[..cut]);
    }
    for cut in [30, 4096, 9000, bdb.len() / 2] {
        let _ = parse_bdb(&bdb[..cut]);
    }
    // Flip bytes across the files: errors are fine, panics and hangs are not.
    for step in [7usize, 97, 1021] {
        let mut s = sqlite.clone();
        let mut b = bdb.clone();
        for i in (0..s.len()).step_by(step) {
            s[i] ^= 0x5a;
        }
        for i in (0..b.len()).step_by(step) {
            b[i] ^= 0x5a;
        }
        let _ = parse_sqlite(&s);
        let _ = parse_bdb(&b);
    }
    assert!(parse_header_blob(&[0, 0, 0, 1, 0, 0, 0, 0]).is_err());
    assert_eq!(split_source_rpm("openssl-3.0.7-24.el9.src.rpm"), Some(("openssl", "3.0.7", "24.el9")));
    assert_eq!(split_source_rpm("garbage"), None);
}

/// Slots that all point at one large blob must not multiply memory.
#[test]
fn shared_blobs_are_refused() {
    let blob = vec![0u8; 2048];
    let mut f = ndb_of(&[blob]);
    for i in 1..254 {
        let (s, first) = (32 + i * 16, 32);
        let copy: Vec<u8> = f[first + 4..first + 16].to_vec();
        f[s + 4..s + 16].copy_from_slice(&copy);
    }
    // Same package index everywhere, so the blob header check passes for every slot.
    assert!(parse_ndb(&f).is_err());
}

/// A header claiming zero slot pages (input of the packages_rpm fuzz target, minus its selector
/// byte): the slot count underflowed, a panic with overflow checks, else a walk over slots
/// to the end of the file.
#[test]
fn ndb_without_slot_pages_is_an_error() {
    let crash = b"RpmP\0\0\0\0\x01\0\0\0\0\0\0\0";
    assert_eq!(parse_ndb(crash), Err("no slot table".to_string()));
    let mut f = ndb_of(&[vec![0u8; 64]]);
    f[12..16].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(parse_ndb(&f), Err("no slot table".to_string()));
}
