//! `shipshape db bundle keygen|export` and `db import BUNDLE --verify-key` through the real
//! binary: a store's advisories carried to a fresh store as one signed file, and every way a
//! bundle must be refused (unverified, tampered, another key, a readable private key).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn shared() -> PathBuf {
    match std::env::var_os("SHIPSHAPE_SHARED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn shipshape(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipshape"))
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("SHIPSHAPE_DATABASE_URL")
        .env_remove("SHIPSHAPE_DATA_DIR")
        .args(args)
        .output()
        .expect("spawn shipshape")
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "{}", show(&out));
    out
}

fn json(out: Output) -> Value {
    serde_json::from_slice(&ok(out).stdout).expect("JSON on stdout")
}

fn status(dir: &Path) -> Value {
    json(shipshape(dir, &["db", "status", "--format", "json"]))
}

/// Sources by (name, fingerprint, advisories): what must survive the trip.
fn sources(st: &Value) -> Vec<(String, String, u64)> {
    st["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_owned(),
                s["fingerprint"].as_str().expect("fingerprint").to_owned(),
                s["advisories"].as_u64().expect("advisories"),
            )
        })
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn bundle_carries_a_store_and_refuses_what_it_must() {
    let pypi = shared().join("vulndata/osv/PyPI");
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    let key = tmp.path().join("k");
    let bundle = tmp.path().join("data.bundle");

    ok(shipshape(&a, &["db", "import", s(&pypi)]));
    let st_a = status(&a);
    assert!(st_a["total"].as_u64().unwrap() > 1000, "{st_a}");

    ok(shipshape(&a, &["db", "bundle", "keygen", "--out", s(&key)]));
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let public = tmp.path().join("k.pub");
    assert!(std::fs::read_to_string(&public).unwrap().starts_with("shipshape-ed25519 "));
    // A second keygen never overwrites a key.
    assert_eq!(shipshape(&a, &["db", "bundle", "keygen", "--out", s(&key)]).status.code(), Some(2));

    let exported = json(shipshape(&a, &["db", "bundle", "export", s(&bundle), "--sign-key", s(&key), "--format", "json"]));
    assert_eq!(exported["advisories"], st_a["total"], "{exported}");

    // Without the key a bundle is not imported at all.
    let unverified = shipshape(&b, &["db", "import", s(&bundle)]);
    assert_eq!(unverified.status.code(), Some(2), "{}", show(&unverified));
    assert!(String::from_utf8_lossy(&unverified.stderr).contains("--verify-key"), "{}", show(&unverified));
    // --verify-key is for bundles only.
    assert_eq!(shipshape(&b, &["db", "import", s(&pypi), "--verify-key", s(&public)]).status.code(), Some(2));

    ok(shipshape(&b, &["db", "import", s(&bundle), "--verify-key", s(&public)]));
    let st_b = status(&b);
    assert_eq!(st_b["ecosystems"], st_a["ecosystems"]);
    assert_eq!(st_b["total"], st_a["total"]);
    assert_eq!(sources(&st_b), sources(&st_a), "names and fingerprints kept");
    assert_eq!(st_b["data_version"], st_a["data_version"]);

    let again = json(shipshape(&b, &["db", "import", s(&bundle), "--verify-key", s(&public), "--format", "json"]));
    let outcomes: Vec<&str> = again["imports"][0]["sources"].as_array().unwrap().iter().map(|s| s["outcome"].as_str().unwrap()).collect();
    assert!(!outcomes.is_empty() && outcomes.iter().all(|o| *o == "unchanged"), "{again}");
    // The raw data it came from is the same data: unchanged too.
    let raw = json(shipshape(&b, &["db", "import", s(&pypi), "--format", "json"]));
    assert_eq!(raw["imports"][0]["sources"][0]["outcome"], "unchanged", "{raw}");

    // Refused, and the store untouched: one byte changed inside, or another key.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    let tampered = tmp.path().join("tampered.bundle");
    std::fs::write(&tampered, bytes).unwrap();
    let other = tmp.path().join("other");
    ok(shipshape(&a, &["db", "bundle", "keygen", "--out", s(&other)]));
    let other_pub = tmp.path().join("other.pub");
    for (file, key) in [(&tampered, &public), (&bundle, &other_pub)] {
        for dir in [&b, &c] {
            let before = status(dir);
            let out = shipshape(dir, &["db", "import", s(file), "--verify-key", s(key)]);
            assert!(!out.status.success(), "{}", show(&out));
            assert!(String::from_utf8_lossy(&out.stderr).contains("refused"), "{}", show(&out));
            assert_eq!(status(dir), before, "store changed by a refused bundle");
        }
    }
    assert!(sources(&status(&c)).is_empty());

    // A private key others can read is refused, and no bundle is written.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = tmp.path().join("loose.bundle");
    let out = shipshape(&a, &["db", "bundle", "export", s(&loose), "--sign-key", s(&key)]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too open"), "{}", show(&out));
    assert!(!loose.exists());
}
