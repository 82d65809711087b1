//! OS findings for every distribution family `vuln::distro` knows, through the real binary:
//! images built here from scratch (os-release + the distribution's package database: dpkg
//! `status`/`status.d`, apk `installed`, rpm databases written by the real `rpm` tool from
//! packages built by `rpmbuild`), advisories in the upstream shapes (OSV records per
//! ecosystem, Alpine secdb) served by a local HTTP server in the upstream layouts (OSV's
//! `ecosystems.txt` + `<Ecosystem>/all.zip`, secdb's index page + `<branch>/main.json`) and
//! fetched with `shipshape db update`, and `image scan` asked for each image. Each image must get exactly its own release's findings: an Ubuntu 20.04 record
//! never matches 22.04, AlmaLinux data never matches Rocky, Alpine v3.18 fixes never apply to
//! 3.19, Red Hat's extended-support streams never apply to a plain RHEL/UBI.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn shipshape(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shipshape"))
        .args(args)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("SHIPSHAPE_CACHE_DIR", dir.join("cache"))
        .output()
        .unwrap()
}

/// An OSV record in the upstream shape: `affected` = (ecosystem, package, fixed version).
fn osv(id: &str, affected: &[(&str, &str, &str)], extra: Value) -> Value {
    let mut rec = json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2024-05-01T00:00:00Z",
        "published": "2024-04-02T10:00:00Z",
        "summary": format!("{id} summary"),
        "details": format!("{id} details: what the flaw is and who can reach it."),
        "affected": affected.iter().map(|(eco, name, fixed)| json!({
            "package": {"ecosystem": eco, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
        })).collect::<Vec<_>>(),
    });
    if let (Some(r), Value::Object(e)) = (rec.as_object_mut(), extra) {
        r.extend(e);
    }
    rec
}

/// Writes the advisories as files: `osv/<Ecosystem>/<id>.json` and `alpine/v3.19/main.json`.
fn write_advisories(root: &Path) {
    let recs = [
        // Ubuntu: the record names both LTS releases (OSV's Ubuntu CVE records do); the vendor's
        // own priority (high) wins over the CVSS score (9.8, critical).
        (
            "Ubuntu",
            osv(
                "UBUNTU-CVE-2024-0001",
                &[("Ubuntu:22.04:LTS", "openssl", "3.0.2-0ubuntu1.15"), ("Ubuntu:20.04:LTS", "openssl", "1.1.1f-1ubuntu2.22")],
                json!({"upstream": ["CVE-2024-0001"], "severity": [
                    {"type": "Ubuntu", "score": "high"},
                    {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}),
            ),
        ),
        ("Ubuntu", osv("UBUNTU-CVE-2024-0002", &[("Ubuntu:20.04:LTS", "openssl", "1.1.1f-1ubuntu2.23")], json!({}))),
        ("Ubuntu", osv("USN-9999-1", &[("Ubuntu:22.04:LTS", "openssl", "3.0.2-0ubuntu1.10")], json!({}))),
        // Notices: one whose only CVE is also found through its per-CVE record (reported once,
        // by that record), one naming a CVE no per-CVE record covers (kept).
        ("Ubuntu", osv("USN-9998-1", &[("Ubuntu:22.04:LTS", "openssl", "3.0.2-0ubuntu1.15")], json!({"upstream": ["CVE-2024-0001"]}))),
        (
            "Ubuntu",
            osv(
                "USN-9997-1",
                &[("Ubuntu:22.04:LTS", "openssl", "3.0.2-0ubuntu1.16")],
                json!({"upstream": ["CVE-2024-0001", "CVE-2024-0099"]}),
            ),
        ),
        ("Ubuntu", osv("UBUNTU-CVE-2024-0003", &[("Ubuntu:Pro:22.04:LTS", "openssl", "3.0.2-0ubuntu1.99+esm1")], json!({}))),
        // A CVSS v2 vector only: 7.5 → high.
        (
            "Ubuntu",
            osv(
                "UBUNTU-CVE-2018-0004",
                &[("Ubuntu:22.04:LTS", "zlib", "1:1.2.11.dfsg-2ubuntu9.2")],
                json!({"upstream": ["CVE-2018-0004"], "severity": [{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}]}),
            ),
        ),
        ("Debian", osv("DEBIAN-CVE-2024-0005", &[("Debian:12", "openssl", "3.0.13-1~deb12u1")], json!({"aliases": ["CVE-2024-0005"]}))),
        ("Debian", osv("DEBIAN-CVE-2024-0105", &[("Debian:11", "openssl", "3.0.99-1")], json!({}))),
        // A CVSS v4 vector only: 6.9 → medium.
        (
            "Alpine",
            osv(
                "ALPINE-CVE-2024-0006",
                &[("Alpine:v3.19", "openssl", "3.1.4-r5")],
                json!({"severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"}]}),
            ),
        ),
        ("Alpine", osv("ALPINE-CVE-2024-0106", &[("Alpine:v3.18", "openssl", "3.1.4-r9")], json!({}))),
        ("Wolfi", osv("CGA-aaaa-bbbb-cccc", &[("Wolfi", "openssl", "3.2.1-r0")], json!({"aliases": ["CVE-2024-0010"]}))),
        ("Rocky Linux", osv("RLSA-2024:0001", &[("Rocky Linux:9", "openssl-libs", "1:3.0.7-25.el9_3")], json!({}))),
        // Without the epoch, 3.0.7-30.el9 sorts below the installed 1:3.0.7-24.el9: not affected.
        ("Rocky Linux", osv("RLSA-2024:0003", &[("Rocky Linux:9", "openssl", "3.0.7-30.el9")], json!({}))),
        ("Rocky Linux", osv("RLSA-2024:0103", &[("Rocky Linux:8", "curl", "7.61.1-99.el8")], json!({}))),
        ("AlmaLinux", osv("ALSA-2024:0002", &[("AlmaLinux:9", "openssl-libs", "1:3.0.7-27.el9")], json!({}))),
        // Keyed by the source rpm's name: found through the binary's SOURCERPM.
        ("AlmaLinux", osv("ALSA-2024:0004", &[("AlmaLinux:8", "curl", "7.61.1-33.el8_9")], json!({"related": ["CVE-2024-0004"]}))),
        (
            "Red Hat",
            osv(
                "RHSA-2024:0005",
                &[("Red Hat:enterprise_linux:9::baseos", "glibc", "2.34-100.el9_4.2")],
                json!({"upstream": ["CVE-2024-0011", "CVE-2024-0012"]}),
            ),
        ),
        ("Red Hat", osv("RHSA-2024:0105", &[("Red Hat:rhel_eus:9.2::baseos", "glibc", "2.34-200.el9_2")], json!({}))),
        // A module stream's build: never compared with a plain (non-module) package.
        (
            "Red Hat",
            osv(
                "RHSA-2024:0106",
                &[("Red Hat:enterprise_linux:9::appstream", "glibc", "2.34-300.module+el9.4.0+21000+abcdef12")],
                json!({}),
            ),
        ),
        (
            "SUSE",
            osv(
                "SUSE-SU-2024:0009-1",
                &[("SUSE:Linux Enterprise Module for Basesystem 15 SP5", "libopenssl3", "3.0.8-150500.5.20.1")],
                json!({}),
            ),
        ),
        ("SUSE", osv("SUSE-SU-2024:0109-1", &[("SUSE:Linux Enterprise Server 15 SP4", "libopenssl3", "3.0.8-150400.9.1")], json!({}))),
    ];
    for (dir, rec) in recs {
        let d = root.join("osv").join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("{}.json", rec["id"].as_str().unwrap().replace(':', "_"))), rec.to_string()).unwrap();
    }
    // Alpine secdb: `0` = never affected in Alpine's build.
    let d = root.join("alpine/v3.19");
    std::fs::create_dir_all(&d).unwrap();
    let secdb = json!({"distroversion": "v3.19", "reponame": "main", "packages": [
        {"pkg": {"name": "openssl", "secfixes": {"0": ["CVE-2024-0007"], "3.1.4-r3": ["CVE-2024-0008"]}}}]});
    std::fs::write(d.join("main.json"), secdb.to_string()).unwrap();
}

/// The files of `write_advisories` in the feeds' upstream layouts under `mirror`.
fn mirror_layout(files: &Path, mirror: &Path) {
    use std::io::Write;
    let mut ecosystems = String::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(files.join("osv")).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for d in dirs {
        let eco = d.file_name().unwrap().to_str().unwrap().to_owned();
        ecosystems.push_str(&eco);
        ecosystems.push('\n');
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for f in std::fs::read_dir(&d).unwrap() {
            let f = f.unwrap().path();
            w.start_file(f.file_name().unwrap().to_str().unwrap(), zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(&std::fs::read(&f).unwrap()).unwrap();
        }
        let out = mirror.join("osv").join(&eco);
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("all.zip"), w.finish().unwrap().into_inner()).unwrap();
    }
    std::fs::write(mirror.join("osv/ecosystems.txt"), ecosystems).unwrap();
    let alpine = mirror.join("alpine/v3.19");
    std::fs::create_dir_all(&alpine).unwrap();
    std::fs::copy(files.join("alpine/v3.19/main.json"), alpine.join("main.json")).unwrap();
    std::fs::write(mirror.join("alpine/index.html"), "<html><body><a href=\"v3.19/\">v3.19/</a>\n</body></html>\n").unwrap();
}

/// `python3 -m http.server` on a free loopback port, killed on drop.
struct HttpServer(std::process::Child, u16);

impl HttpServer {
    fn start(dir: &Path) -> HttpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return HttpServer(child, port);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("http.server did not start");
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A one-layer docker-archive holding `files`.
fn docker_archive(out: &Path, files: &[(String, Vec<u8>)]) {
    let mut layer = tar::Builder::new(Vec::new());
    let mut dirs = BTreeSet::new();
    for (path, _) in files {
        let mut p = Path::new(path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_path_buf());
            p = d.parent();
        }
    }
    for d in &dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        layer.append_data(&mut h, format!("{}/", d.display()), &[][..]).unwrap();
    }
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        layer.append_data(&mut h, path, &data[..]).unwrap();
    }
    let layer = layer.into_inner().unwrap();
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&layer)));
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "built by distro_vuln.rs"}]})
    .to_string();
    let manifest = json!([{"Config": "config.json", "RepoTags": ["distro-test:1"], "Layers": ["layer.tar"]}]).to_string();
    let mut img = tar::Builder::new(std::fs::File::create(out).unwrap());
    for (name, data) in [("manifest.json", manifest.as_bytes()), ("config.json", config.as_bytes()), ("layer.tar", &layer[..])] {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        img.append_data(&mut h, name, data).unwrap();
    }
    img.finish().unwrap();
}

/// One rpm spec: (name, epoch, version, release, binary subpackages written `-n name`).
struct Spec<'a> {
    name: &'a str,
    epoch: Option<u32>,
    version: &'a str,
    release: &'a str,
    subpackages: &'a [&'a str],
}

/// Builds the specs' packages with `rpmbuild` and installs them (database only) with `rpm`
/// into a fresh root; returns the rpmdb.sqlite bytes.
fn rpm_database(work: &Path, dbpath: &str, specs: &[Spec<'_>]) -> Vec<u8> {
    let root = work.join("root");
    let top = work.join("rpmbuild");
    for s in specs {
        let mut text =
            format!("Name: {}\nVersion: {}\nRelease: {}\nSummary: test\nLicense: MIT\nBuildArch: noarch\n", s.name, s.version, s.release);
        if let Some(e) = s.epoch {
            text.push_str(&format!("Epoch: {e}\n"));
        }
        text.push_str("%description\ntest\n%files\n");
        for sub in s.subpackages {
            text.push_str(&format!("%package -n {sub}\nSummary: test\n%description -n {sub}\ntest\n%files -n {sub}\n"));
        }
        let spec = work.join(format!("{}.spec", s.name));
        std::fs::write(&spec, text).unwrap();
        let out = Command::new("rpmbuild")
            .args(["-bb", "--quiet", "--define"])
            .arg(format!("_topdir {}", top.display()))
            .arg(&spec)
            .output()
            .expect("rpmbuild (Debian package rpm) is needed");
        assert!(out.status.success(), "rpmbuild: {}", String::from_utf8_lossy(&out.stderr));
    }
    let rpms: Vec<PathBuf> = std::fs::read_dir(top.join("RPMS/noarch")).unwrap().map(|e| e.unwrap().path()).collect();
    let rpm = |args: &[&str]| {
        let out = Command::new("rpm")
            .arg("--root")
            .arg(&root)
            .args(["--dbpath", dbpath])
            .args(args)
            .args(rpms.iter().filter(|_| args.contains(&"-i")))
            .output()
            .unwrap();
        assert!(out.status.success(), "rpm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    rpm(&["--initdb"]);
    rpm(&["-i", "--justdb", "--nodeps", "--noscripts", "--notriggers"]);
    std::fs::read(root.join(dbpath.trim_start_matches('/')).join("rpmdb.sqlite")).unwrap()
}

fn os_release(id: &str, version_id: &str) -> (String, Vec<u8>) {
    ("etc/os-release".into(), format!("ID={id}\nVERSION_ID=\"{version_id}\"\nPRETTY_NAME=\"{id} {version_id}\"\n").into_bytes())
}

fn dpkg_stanza(name: &str, version: &str, source: &str, with_status: bool) -> String {
    let status = if with_status { "Status: install ok installed\n" } else { "" };
    format!("Package: {name}\n{status}Architecture: amd64\nVersion: {version}\nSource: {source}\n\n")
}

fn apk_entry(name: &str, version: &str, origin: &str) -> String {
    format!("C:Q1abc=\nP:{name}\nV:{version}\nA:x86_64\no:{origin}\n\n")
}

/// `image scan` as a CI gate on the Ubuntu image (two HIGH findings, one of unknown severity):
/// `--exit-code` when something remains after `--severity` and the ignore file (Trivy's form).
fn ci_gate(dir: &Path, image: &Path) {
    let src = format!("docker-archive:{}", image.display());
    let gate = |extra: &[&str]| {
        let mut args = vec!["image", "scan", &src, "--scanners", "vuln", "--format", "json", "--exit-code", "3"];
        args.extend_from_slice(extra);
        let out = shipshape(&args, dir);
        let ids = serde_json::from_slice::<Value>(&out.stdout).map(|v| ids(v["vulnerabilities"].as_array().unwrap())).unwrap_or_default();
        (out.status.code(), ids, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, found, err) = gate(&["--severity", "CRITICAL"]);
    assert_eq!((code, found.len()), (Some(0), 0), "nothing critical: passes. {err}");
    let (code, found, _) = gate(&["--severity", "HIGH,CRITICAL"]);
    assert_eq!((code, found), (Some(3), BTreeSet::from(["UBUNTU-CVE-2018-0004".into(), "UBUNTU-CVE-2024-0001".into()])));
    let (code, found, _) = gate(&[]);
    assert_eq!((code, found.len()), (Some(3), 3), "no --severity: every finding counts");
    // An alias (the CVE) ignores its advisory; an expired line applies no more.
    let ignore = dir.join("ignore");
    std::fs::write(&ignore, "# accepted\nCVE-2024-0001\nUBUNTU-CVE-2018-0004 exp:2999-12-31\n").unwrap();
    let (code, found, _) = gate(&["--severity", "HIGH", "--ignore-file", ignore.to_str().unwrap()]);
    assert_eq!((code, found.len()), (Some(0), 0));
    std::fs::write(&ignore, "CVE-2024-0001\nUBUNTU-CVE-2018-0004 exp:2001-01-01\n").unwrap();
    let (code, found, _) = gate(&["--severity", "HIGH", "--ignore-file", ignore.to_str().unwrap()]);
    assert_eq!((code, found), (Some(3), BTreeSet::from(["UBUNTU-CVE-2018-0004".into()])), "expired line");
    std::fs::write(&ignore, "CVE-2024-0001 until:tomorrow\n").unwrap();
    let (code, _, err) = gate(&["--ignore-file", ignore.to_str().unwrap()]);
    assert_eq!(code, Some(2), "a bad ignore file is a usage error: {err}");
    assert_eq!(gate(&["--severity", "SEVERE"]).0, Some(2));

    // VEX: an OpenVEX statement on every version of libssl3 and a CycloneDX one on zlib1g's exact
    // purl suppress their findings; suppressed findings stay listed with the reason.
    let out = shipshape(&["image", "scan", &src, "--scanners", "vuln", "--format", "json"], dir);
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    let zlib_purl =
        finding(all["vulnerabilities"].as_array().unwrap(), "UBUNTU-CVE-2018-0004")["package"]["purl"].as_str().unwrap().to_owned();
    let openvex = dir.join("app.openvex.json");
    std::fs::write(
        &openvex,
        json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "team", "version": 1,
            "timestamp": "2026-12-01T00:00:00Z",
            "statements": [{"vulnerability": {"name": "CVE-2024-0001"}, "products": [{"@id": "pkg:deb/ubuntu/libssl3"}],
                "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]})
        .to_string(),
    )
    .unwrap();
    let cdx = dir.join("app.cdx.json");
    std::fs::write(
        &cdx,
        json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "vulnerabilities": [
            {"id": "UBUNTU-CVE-2018-0004", "analysis": {"state": "resolved"}, "affects": [{"ref": zlib_purl}]}]})
        .to_string(),
    )
    .unwrap();
    let (code, found, err) = gate(&["--severity", "HIGH", "--vex", openvex.to_str().unwrap()]);
    assert_eq!((code, found), (Some(3), BTreeSet::from(["UBUNTU-CVE-2018-0004".into()])), "{err}");
    let vex_args = ["--severity", "HIGH", "--vex", openvex.to_str().unwrap(), "--vex", cdx.to_str().unwrap()];
    let (code, found, _) = gate(&vex_args);
    assert_eq!((code, found.len()), (Some(0), 0), "both suppressed: the gate passes");
    let mut args = vec!["image", "scan", &src, "--scanners", "vuln", "--format", "json"];
    args.extend_from_slice(&vex_args);
    let v: Value = serde_json::from_slice(&shipshape(&args, dir).stdout).unwrap();
    let reasons: BTreeSet<String> = v["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["finding"]["advisory_id"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        BTreeSet::from([
            "UBUNTU-CVE-2018-0004 resolved by app.cdx.json".into(),
            "UBUNTU-CVE-2024-0001 not_affected (vulnerable_code_not_in_execute_path) by app.openvex.json".into()
        ])
    );
    args[6] = "sarif";
    let sarif: Value = serde_json::from_slice(&shipshape(&args, dir).stdout).unwrap();
    let suppressed = sarif["runs"][0]["results"].as_array().unwrap().iter().filter(|r| r["suppressions"][0]["kind"] == "external").count();
    assert_eq!(suppressed, 2, "SARIF suppressions");
    std::fs::write(&cdx, "{\"statements\": []}").unwrap();
    assert_eq!(gate(&["--vex", cdx.to_str().unwrap()]).0, Some(2), "not a VEX document: usage error");
}

/// The findings of `image scan` as (advisory id, package, installed, display id, severity).
fn scan(dir: &Path, image: &Path) -> Vec<Value> {
    let src = format!("docker-archive:{}", image.display());
    let out = shipshape(&["image", "scan", &src, "--scanners", "vuln", "--format", "json"], dir);
    assert!(out.status.success(), "{}: {}", image.display(), String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["vulnerabilities"].as_array().unwrap().clone()
}

fn ids(findings: &[Value]) -> BTreeSet<String> {
    findings.iter().map(|f| f["advisory_id"].as_str().unwrap().to_owned()).collect()
}

fn finding<'a>(findings: &'a [Value], id: &str) -> &'a Value {
    findings.iter().find(|f| f["advisory_id"] == id).unwrap_or_else(|| panic!("{id} not found"))
}

#[test]
fn every_distribution_gets_its_own_release_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_advisories(&dir.join("advisories"));
    mirror_layout(&dir.join("advisories"), &dir.join("mirror"));
    let server = HttpServer::start(&dir.join("mirror"));
    let base = format!("http://127.0.0.1:{}", server.1);
    let (osv_url, alpine_url) = (format!("{base}/osv"), format!("{base}/alpine"));
    let out = shipshape(&["db", "update", "--osv-url", &osv_url, "--alpine-secdb-url", &alpine_url], dir);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Every ecosystem of the mirror is one a distribution family matches: all fetched.
    let st: Value = serde_json::from_slice(&shipshape(&["db", "status", "--format", "json"], dir).stdout).unwrap();
    let feeds: BTreeSet<&str> = st["feeds"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    for eco in ["Ubuntu", "Debian", "Alpine", "Wolfi", "Rocky Linux", "AlmaLinux", "Red Hat", "SUSE"] {
        assert!(feeds.contains(format!("osv/{eco}").as_str()), "osv/{eco} not fetched: {feeds:?}");
    }
    assert!(feeds.contains("alpine/v3.19/main"), "{feeds:?}");

    let image = |name: &str, files: Vec<(String, Vec<u8>)>| {
        let p = dir.join(format!("{name}.tar"));
        docker_archive(&p, &files);
        p
    };
    let rpm_image = |name: &str, id: &str, ver: &str, dbpath: &str, specs: &[Spec<'_>]| {
        let work = dir.join(format!("rpm-{name}"));
        std::fs::create_dir_all(&work).unwrap();
        let db = rpm_database(&work, dbpath, specs);
        image(name, vec![os_release(id, ver), (format!("{}/rpmdb.sqlite", dbpath.trim_start_matches('/')), db)])
    };

    // Ubuntu 22.04: by source package, only 22.04 records, not Pro, not the already-fixed USN.
    let ubuntu = image(
        "ubuntu",
        vec![
            os_release("ubuntu", "22.04"),
            (
                "var/lib/dpkg/status".into(),
                (dpkg_stanza("libssl3", "3.0.2-0ubuntu1.10", "openssl", true)
                    + &dpkg_stanza("zlib1g", "1:1.2.11.dfsg-2ubuntu9", "zlib", true))
                    .into_bytes(),
            ),
        ],
    );
    let f = scan(dir, &ubuntu);
    assert_eq!(ids(&f), BTreeSet::from(["UBUNTU-CVE-2024-0001".into(), "UBUNTU-CVE-2018-0004".into(), "USN-9997-1".into()]));
    let u1 = finding(&f, "UBUNTU-CVE-2024-0001");
    assert_eq!(u1["display_id"], "CVE-2024-0001", "upstream CVE shown");
    assert_eq!(u1["severity"], "High", "Ubuntu's priority wins over CVSS 9.8");
    assert_eq!(u1["cvss_score"], 9.8);
    assert_eq!(u1["fixed_versions"], json!(["3.0.2-0ubuntu1.15"]));
    assert_eq!(u1["package"]["name"], "libssl3");
    assert_eq!(u1["published"], "2024-04-02T10:00:00Z");
    assert!(u1["description"].as_str().unwrap().contains("details"));
    let z = finding(&f, "UBUNTU-CVE-2018-0004");
    assert_eq!((z["severity"].as_str(), z["cvss_score"].as_f64()), (Some("High"), Some(7.5)), "CVSS v2 7.5");
    ci_gate(dir, &ubuntu);

    // Debian distroless (status.d, no Status field).
    let distroless = image(
        "distroless",
        vec![
            os_release("debian", "12"),
            ("var/lib/dpkg/status.d/libssl3".into(), dpkg_stanza("libssl3", "3.0.11-1~deb12u2", "openssl", false).into_bytes()),
        ],
    );
    assert_eq!(ids(&scan(dir, &distroless)), BTreeSet::from(["DEBIAN-CVE-2024-0005".into()]));

    // Alpine 3.19: OSV and secdb by origin; v3.18 data and secfixes `0` never apply.
    let alpine = image(
        "alpine",
        vec![os_release("alpine", "3.19.1"), ("lib/apk/db/installed".into(), apk_entry("libcrypto3", "3.1.4-r1", "openssl").into_bytes())],
    );
    let f = scan(dir, &alpine);
    assert_eq!(ids(&f), BTreeSet::from(["ALPINE-CVE-2024-0006".into(), "ALPINE-CVE-2024-0008".into()]));
    let a = finding(&f, "ALPINE-CVE-2024-0006");
    assert_eq!((a["severity"].as_str(), a["cvss_score"].as_f64()), (Some("Medium"), Some(6.9)), "CVSS v4 6.9");

    // Wolfi: its own ecosystem, no release; Alpine data never applies.
    let wolfi = image(
        "wolfi",
        vec![os_release("wolfi", "20230201"), ("lib/apk/db/installed".into(), apk_entry("libcrypto3", "3.2.0-r0", "openssl").into_bytes())],
    );
    let f = scan(dir, &wolfi);
    assert_eq!(ids(&f), BTreeSet::from(["CGA-aaaa-bbbb-cccc".into()]));
    assert_eq!(finding(&f, "CGA-aaaa-bbbb-cccc")["display_id"], "CVE-2024-0010");

    // Rocky Linux 9 (rpmdb.sqlite by rpm): binary name, epochs ordered; AlmaLinux data never.
    let openssl = [Spec { name: "openssl", epoch: Some(1), version: "3.0.7", release: "24.el9", subpackages: &["openssl-libs"] }];
    let rocky = rpm_image("rocky", "rocky", "9.3", "/var/lib/rpm", &openssl);
    let f = scan(dir, &rocky);
    assert_eq!(ids(&f), BTreeSet::from(["RLSA-2024:0001".into()]));
    assert_eq!(finding(&f, "RLSA-2024:0001")["installed_version"], "1:3.0.7-24.el9");

    // AlmaLinux 8: an advisory keyed by the source rpm's name reaches the binary packages.
    let curl = [Spec { name: "curl", epoch: None, version: "7.61.1", release: "30.el8", subpackages: &["libcurl-minimal"] }];
    let alma = rpm_image("alma", "almalinux", "8.9", "/var/lib/rpm", &curl);
    let f = scan(dir, &alma);
    assert_eq!(ids(&f), BTreeSet::from(["ALSA-2024:0004".into()]));
    let names: BTreeSet<&str> = f.iter().map(|x| x["package"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["curl", "libcurl-minimal"]));
    assert_eq!(f[0]["display_id"], "ALSA-2024:0004", "a related CVE is not the advisory's own alias");

    // RHEL / UBI 9: every enterprise_linux:9 repository, never an EUS stream, never a module build.
    let glibc = [Spec { name: "glibc", epoch: None, version: "2.34", release: "100.el9", subpackages: &[] }];
    let rhel = rpm_image("rhel", "rhel", "9.4", "/var/lib/rpm", &glibc);
    let f = scan(dir, &rhel);
    assert_eq!(ids(&f), BTreeSet::from(["RHSA-2024:0005".into()]));
    assert_eq!(finding(&f, "RHSA-2024:0005")["display_id"], "RHSA-2024:0005", "two CVEs: the advisory id is shown");

    // SLES 15 SP5 (database under /usr/lib/sysimage/rpm): Basesystem module data applies, SP4's not.
    let suse = [Spec { name: "openssl-3", epoch: None, version: "3.0.8", release: "150500.5.8.1", subpackages: &["libopenssl3"] }];
    let sles = rpm_image("sles", "sles", "15.5", "/usr/lib/sysimage/rpm", &suse);
    assert_eq!(ids(&scan(dir, &sles)), BTreeSet::from(["SUSE-SU-2024:0009-1".into()]));
}
