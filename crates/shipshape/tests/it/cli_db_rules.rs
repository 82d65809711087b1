//! `shipshape db import|status` and `shipshape rules import|status` through the real binary,
//! against ../shared/vulndata and ../shared/rules, on SQLite (and PostgreSQL with SHIPSHAPE_TEST_PG).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn shared() -> PathBuf {
    match std::env::var_os("SHIPSHAPE_SHARED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn shipshape(data_dir: &Path, database: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shipshape"));
    c.arg("--data-dir").arg(data_dir).env_remove("SHIPSHAPE_DATABASE_URL").env_remove("SHIPSHAPE_DATA_DIR");
    if let Some(db) = database {
        c.arg("--database").arg(db);
    }
    c.args(args).output().expect("spawn shipshape")
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Non-withdrawn OSV records per ecosystem in `osv/<dir>`, read straight from the files.
fn osv_counts(dir: &Path) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for ent in std::fs::read_dir(dir).expect("read osv dir") {
        let p = ent.expect("dir entry").path();
        if p.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        // A file that does not parse is one the import must name and skip: not counted.
        let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(&p).expect("read")) else {
            continue;
        };
        if v.get("withdrawn").is_some_and(|w| !w.is_null()) {
            continue;
        }
        let mut ecos: Vec<String> = v["affected"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["package"]["ecosystem"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        ecos.sort();
        ecos.dedup();
        for e in ecos {
            *counts.entry(e).or_insert(0) += 1;
        }
    }
    counts
}

fn per_ecosystem(status: &Value) -> BTreeMap<String, u64> {
    status["ecosystems"]
        .as_array()
        .expect("ecosystems")
        .iter()
        .map(|e| (e["ecosystem"].as_str().expect("name").to_owned(), e["advisories"].as_u64().expect("count")))
        .collect()
}

fn import_and_check(data: &Path, database: Option<&str>) {
    let vulndata = shared().join("vulndata");
    let first = ok_json(&shipshape(data, database, &["db", "import", vulndata.to_str().expect("utf-8"), "--format", "json"]));
    let sources = first["imports"][0]["sources"].as_array().expect("sources");
    let added: u64 = sources.iter().map(|s| s["added"].as_u64().expect("added")).sum();
    assert!(sources.iter().any(|s| s["outcome"] == "imported"), "{first}");

    let status = ok_json(&shipshape(data, database, &["db", "status", "--format", "json"]));
    assert_eq!(status["total"].as_u64(), Some(added), "stored = added on a first import");
    let eco = per_ecosystem(&status);
    // Ecosystems fed by one source each: counts must equal the records in the files.
    for (dir, key) in [("Debian", "Debian:12"), ("PyPI", "PyPI"), ("crates.io", "crates.io"), ("Go", "Go"), ("Maven", "Maven")] {
        let want = osv_counts(&vulndata.join("osv").join(dir));
        assert_eq!(eco.get(key), want.get(key), "{key}: status {eco:?} vs files {want:?}");
    }
    for key in ["npm", "Alpine:v3.11", "Debian:11"] {
        assert!(eco.keys().any(|k| k == key), "{key} missing from {eco:?}");
    }
    // The newest date is the Debian-derived data's (2026-11-20), Go's placeholder dates ignored.
    assert!(status["newest_modified"].as_str().is_some_and(|d| d.starts_with("2026-11-20")), "{status}");

    // Re-import: nothing changes.
    let again = ok_json(&shipshape(data, database, &["db", "import", vulndata.to_str().expect("utf-8"), "--format", "json"]));
    for s in again["imports"][0]["sources"].as_array().expect("sources") {
        assert_ne!(s["outcome"], "imported", "re-import changed {s}");
    }
    let status2 = ok_json(&shipshape(data, database, &["db", "status", "--format", "json"]));
    assert_eq!(status2["ecosystems"], status["ecosystems"]);
    assert_eq!(status2["total"], status["total"]);
    assert_eq!(status2["data_version"], status["data_version"]);

    // The table names every ecosystem too.
    let table = shipshape(data, database, &["db", "status"]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    for key in eco.keys() {
        assert!(text.contains(key.as_str()), "{key} not in table:\n{text}");
    }
}

#[test]
fn db_import_status_sqlite() {
    let data = tempfile::tempdir().expect("tempdir");
    import_and_check(data.path(), None);
}

#[test]
fn db_import_status_postgres() {
    let Ok(url) = std::env::var("SHIPSHAPE_TEST_PG") else {
        assert!(std::env::var("SHIPSHAPE_TEST_SERVICES").as_deref() != Ok("1"), "SHIPSHAPE_TEST_SERVICES=1 but SHIPSHAPE_TEST_PG is unset");
        println!("skipped: SHIPSHAPE_TEST_PG not set");
        return;
    };
    let name = format!(
        "shipshape_cli_db_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    );
    let psql = |sql: &str| {
        let out = Command::new("psql").arg(&url).arg("-v").arg("ON_ERROR_STOP=1").arg("-c").arg(sql).output().expect("psql");
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    };
    psql(&format!("CREATE DATABASE {name}"));
    let base = url.rsplit_once('/').map(|(b, _)| b).expect("URL with a database");
    let db_url = format!("{base}/{name}");
    let data = tempfile::tempdir().expect("tempdir");
    import_and_check(data.path(), Some(&db_url));
    psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
}

#[test]
fn db_import_names_and_skips_a_bad_file() {
    let data = tempfile::tempdir().expect("tempdir");
    let src = tempfile::tempdir().expect("tempdir");
    let dir = src.path().join("osv/PyPI");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let pypi = shared().join("vulndata/osv/PyPI");
    let mut good: Vec<PathBuf> = std::fs::read_dir(&pypi).expect("read").map(|e| e.expect("entry").path()).collect();
    good.sort();
    for g in good.iter().take(3) {
        std::fs::copy(g, dir.join(g.file_name().expect("name"))).expect("copy");
    }
    std::fs::write(dir.join("BROKEN-0001.json"), b"{\"id\": \"BROKEN-0001\", \"affected\": [").expect("write");
    let out = shipshape(data.path(), None, &["db", "import", src.path().to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("BROKEN-0001.json") && stderr.contains("BROKEN-0001.json"), "{stdout}\n{stderr}");
    let status = ok_json(&shipshape(data.path(), None, &["db", "status", "--format", "json"]));
    let want = osv_counts(&dir);
    assert_eq!(per_ecosystem(&status).get("PyPI"), want.get("PyPI"));
    assert_eq!(status["total"].as_u64(), Some(3));
}

#[test]
fn missing_paths_are_user_errors() {
    let data = tempfile::tempdir().expect("tempdir");
    let missing = data.path().join("no-such-dir");
    for cmd in ["db", "rules"] {
        let out = shipshape(data.path(), None, &[cmd, "import", missing.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-dir"));
    }
    let empty = tempfile::tempdir().expect("tempdir");
    let out = shipshape(data.path(), None, &["db", "import", empty.path().to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Signature lines (not comments, not blank) of a ClamAV text database.
fn sig_lines(p: &Path) -> usize {
    std::fs::read_to_string(p).expect("read").lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count()
}

#[test]
fn rules_import_and_status() {
    let data = tempfile::tempdir().expect("tempdir");
    let rules = shared().join("rules");

    // Nothing imported: the shipped default set is used and says so.
    let def = ok_json(&shipshape(data.path(), None, &["rules", "status", "--format", "json"]));
    assert!(def["source"].as_str().is_some_and(|s| s.starts_with("default")), "{def}");

    let clam = rules.join("clamav");
    let files: Vec<PathBuf> =
        ["shipshape-test.hdb", "shipshape-test.hsb", "shipshape-test.ndb", "shipshape-test.ldb"].iter().map(|f| clam.join(f)).collect();
    let mut args: Vec<String> = vec!["rules".into(), "import".into(), rules.join("yara").display().to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.push(clam.join("talos-unit-test-cvd").display().to_string());
    args.extend(["--format".into(), "json".into()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let imp = ok_json(&shipshape(data.path(), None, &argv));
    let reports = imp["imports"].as_array().expect("imports");
    assert_eq!(reports.len(), 6);
    let yara_files = reports[0]["report"]["yara_files"].as_u64().expect("yara_files");
    assert!(yara_files > 0, "{imp}");
    for r in &reports[1..] {
        assert!(r["report"]["clamav_files"].as_u64() >= Some(1), "{r}");
    }

    let st = ok_json(&shipshape(data.path(), None, &["rules", "status", "--format", "json"]));
    assert_eq!(st["source"], "imported");
    assert_eq!(st["yara_sets"]["yara"].as_u64(), Some(yara_files), "{st}");
    // `status.yara` is null when the binary is built without malware's `yara` feature (off by
    // default for now): the imported files are still counted above; compiling them needs yara-x.
    let y = &st["status"]["yara"];
    if !y.is_null() {
        assert_eq!(y["files"].as_u64(), Some(yara_files));
        assert!(y["rules"].as_u64() > Some(0));
        assert_eq!(y["compiled_files"].as_u64().expect("compiled") + y["failed"].as_array().expect("failed").len() as u64, yara_files);
    }
    let clam_stats = st["status"]["clamav"].as_array().expect("clamav");
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).expect("name");
        let s =
            clam_stats.iter().find(|s| s["file"].as_str().is_some_and(|n| n.ends_with(name))).unwrap_or_else(|| panic!("{name} in {st}"));
        let unsupported: u64 = s["unsupported"].as_object().expect("map").values().filter_map(Value::as_u64).sum();
        assert_eq!(s["loaded"].as_u64().expect("loaded") + unsupported, sig_lines(f) as u64, "{name}: {s}");
    }
    assert!(clam_stats.iter().any(|s| s["file"].as_str().is_some_and(|n| n.contains(".cvd/"))), "{st}");
    // Allow-list entries (.fp/.sfp) are loaded but are not detection signatures.
    let loaded: u64 = clam_stats.iter().filter(|s| s["kind"] != "allowlist").filter_map(|s| s["loaded"].as_u64()).sum();
    assert_eq!(st["status"]["clamav_signatures"].as_u64(), Some(loaded));

    // Re-import is idempotent: same counts.
    let _ = ok_json(&shipshape(data.path(), None, &argv));
    let st2 = ok_json(&shipshape(data.path(), None, &["rules", "status", "--format", "json"]));
    assert_eq!(st2["status"]["clamav"], st["status"]["clamav"]);
    assert_eq!(st2["status"]["yara"]["rules"], st["status"]["yara"]["rules"]);

    let table = shipshape(data.path(), None, &["rules", "status"]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("shipshape-test.ndb") && text.contains("YARA:") && text.contains("unsupported"), "{text}");
}

#[test]
fn rules_import_names_a_corrupt_database_and_keeps_going() {
    let data = tempfile::tempdir().expect("tempdir");
    let bad = tempfile::tempdir().expect("tempdir");
    let cvd = bad.path().join("broken.cvd");
    std::fs::write(&cvd, b"ClamAV-VDB:garbage").expect("write");
    let good = shared().join("rules/clamav/shipshape-test.hdb");
    let out = shipshape(data.path(), None, &["rules", "import", cvd.to_str().expect("utf-8"), good.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.cvd"));
    let st = ok_json(&shipshape(data.path(), None, &["rules", "status", "--format", "json"]));
    let files: Vec<&str> = st["status"]["clamav"].as_array().expect("clamav").iter().filter_map(|s| s["file"].as_str()).collect();
    assert!(files.iter().any(|f| f.ends_with("shipshape-test.hdb")), "{files:?}");
    assert!(!files.iter().any(|f| f.ends_with("broken.cvd")), "{files:?}");
}
