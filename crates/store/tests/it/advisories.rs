//! Advisory storage on real databases: SQLite in a temp dir and, when `SHIPSHAPE_TEST_PG` is set,
//! a fresh PostgreSQL database (dropped at the end, also when an assertion fails).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use model::{Distribution, Ecosystem, Location, Package};
use sqlx::Executor;
use store::Store;
use store::advisories::SourceOutcome;
use vuln::AdvisoryIndex;

fn shared() -> PathBuf {
    match std::env::var_os("SHIPSHAPE_SHARED") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vuln/tests/data/osv")
}

/// Drops the test database when the test ends, however it ends.
struct PgGuard {
    base: String,
    name: String,
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Own thread and runtime: Drop may run while the test's runtime is unwinding.
        let r = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&base).await?;
                pool.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
                pool.close().await;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if !matches!(r, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {r:?}", self.name);
        }
    }
}

struct Backend {
    label: &'static str,
    store: Store,
    /// The database URL (`None`: SQLite in the data dir `dir/<label>`).
    url: Option<String>,
    _pg: Option<PgGuard>,
}

async fn backends(dir: &Path) -> Vec<Backend> {
    let mut out = vec![Backend { label: "sqlite", store: Store::open(&dir.join("sqlite"), None).await.unwrap(), url: None, _pg: None }];
    match store::testing::fresh_postgres().await.unwrap() {
        Some(url) => {
            let name = url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
            let guard = PgGuard { base: std::env::var("SHIPSHAPE_TEST_PG").unwrap(), name };
            let store = Store::open(&dir.join("pg"), Some(&url)).await.unwrap();
            out.push(Backend { label: "postgres", store, url: Some(url), _pg: Some(guard) });
        }
        None => eprintln!("SHIPSHAPE_TEST_PG not set: PostgreSQL part skipped"),
    }
    out
}

fn pkg(eco: Ecosystem, name: &str, version: &str, source: Option<(&str, &str)>) -> Package {
    Package {
        ecosystem: eco,
        name: name.into(),
        version: version.into(),
        source_name: source.map(|s| s.0.to_owned()),
        source_version: source.map(|s| s.1.to_owned()),
        purl: format!("pkg:{}/{name}@{version}", eco.purl_type()),
        licenses: vec![],
        location: Location::default(),
    }
}

/// Matches through the store's async prefetch path.
async fn ids(store: &Store, dist: Option<&Distribution>, p: Package) -> Vec<String> {
    let pkgs = [p];
    let index = store.advisories_for(&vuln::query_keys(dist, &pkgs)).await.unwrap();
    vuln::match_packages(&index, dist, &pkgs).unwrap().into_iter().map(|f| f.advisory_id).collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[tokio::test]
async fn import_is_idempotent_and_incremental() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path()).await {
        let store = &b.store;
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("osv");
        copy_dir(&fixtures(), &dir);
        assert!(!store.has_advisories().await.unwrap());
        let r = store.import_advisories(&dir).await.unwrap();
        assert_eq!(r.sources.len(), 1);
        assert_eq!(r.sources[0].outcome, SourceOutcome::Imported { added: 10, updated: 0, removed: 0, unchanged: 0 }, "{}", b.label);
        assert_eq!(r.problems().count(), 1);
        assert!(r.problems().next().unwrap().contains("TEST-BROKEN.json"), "bad file named");
        assert!(store.has_advisories().await.unwrap());
        assert_eq!(ids(store, None, pkg(Ecosystem::Npm, "left-pad", "2.1.0", None)).await, ["TEST-NPM-1"]);
        assert_eq!(ids(store, None, pkg(Ecosystem::PyPI, "Some_Pkg.Name", "0.9", None)).await, ["TEST-PYPI-1"]);
        let st = store.advisory_status().await.unwrap();
        assert_eq!(st.total, 10);
        assert!(st.per_ecosystem.contains(&("PyPI".to_owned(), 1)), "withdrawn not counted: {:?}", st.per_ecosystem);
        assert_eq!(st.newest_modified.as_deref(), Some("2024-01-01T00:00:00Z"));

        // Same content again: nothing parsed, nothing written.
        let r = store.import_advisories(&dir).await.unwrap();
        assert_eq!(r.sources[0].outcome, SourceOutcome::Unchanged);
        assert_eq!(store.advisory_status().await.unwrap(), st);

        // Changed fix, a withdrawn advisory, a deleted file.
        let npm = std::fs::read_to_string(dir.join("TEST-NPM-1.json")).unwrap().replace("\"limit\":\"2.5.0\"", "\"fixed\":\"2.1.0\"");
        std::fs::write(dir.join("TEST-NPM-1.json"), npm).unwrap();
        let py = std::fs::read_to_string(dir.join("TEST-PYPI-1.json")).unwrap().replacen(
            "\"modified\"",
            "\"withdrawn\":\"2024-03-01T00:00:00Z\",\"modified\"",
            1,
        );
        std::fs::write(dir.join("TEST-PYPI-1.json"), py).unwrap();
        std::fs::remove_file(dir.join("TEST-GEM-1.json")).unwrap();
        let r = store.import_advisories(&dir).await.unwrap();
        assert_eq!(r.sources[0].outcome, SourceOutcome::Imported { added: 0, updated: 2, removed: 1, unchanged: 7 });
        assert!(ids(store, None, pkg(Ecosystem::Npm, "left-pad", "2.1.0", None)).await.is_empty(), "now fixed in 2.1.0");
        assert_eq!(ids(store, None, pkg(Ecosystem::Npm, "left-pad", "2.0.5", None)).await, ["TEST-NPM-1"]);
        assert!(ids(store, None, pkg(Ecosystem::PyPI, "some-pkg-name", "0.9", None)).await.is_empty(), "withdrawn stops matching");
        assert!(ids(store, None, pkg(Ecosystem::RubyGems, "rack", "2.0.9", None)).await.is_empty(), "deleted file's advisory is gone");
        let st2 = store.advisory_status().await.unwrap();
        assert_eq!(st2.total, 9);
        assert!(!st2.per_ecosystem.iter().any(|(e, _)| e == "PyPI"), "{:?}", st2.per_ecosystem);
        assert_ne!(st2.data_version, st.data_version);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_index_trait_on_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path()).await {
        let store = &b.store;
        assert!(AdvisoryIndex::is_empty(store).unwrap());
        store.import_advisories(&fixtures()).await.unwrap();
        assert!(!AdvisoryIndex::is_empty(store).unwrap());
        let f = vuln::match_packages(store, None, &[pkg(Ecosystem::Maven, "org.example:core", "5.2.1", None)]).unwrap();
        assert_eq!(f.len(), 1, "{}", b.label);
        assert_eq!(f[0].advisory_id, "TEST-MAVEN-1");
    }
}

/// Python dists of the test image: build.sh's PYREQS (as in crates/vuln/tests/acceptance.rs).
const PYPI: [&str; 7] = ["Django", "Flask", "Jinja2", "PyYAML", "requests", "six", "urllib3"];

type Triple = (String, String, String);

/// The test image's packages, from expected.json's list and the image's dpkg status (for sources).
fn test_image_packages(expected: &serde_json::Value) -> Vec<Package> {
    let status = include_str!("../../../vuln/tests/data/bookworm-app.dpkg-status");
    let mut dpkg: HashMap<(String, String), (String, String)> = HashMap::new();
    for para in status.split("\n\n") {
        let field = |k: &str| para.lines().find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':')).map(|v| v.trim().to_owned()));
        let (Some(name), Some(version)) = (field("Package"), field("Version")) else {
            continue;
        };
        if field("Status").as_deref() != Some("install ok installed") {
            continue;
        }
        let source = match field("Source") {
            Some(s) => match s.split_once(' ') {
                Some((n, v)) => (n.to_owned(), v.trim_matches(|c| c == '(' || c == ')' || c == ' ').to_owned()),
                None => (s, version.clone()),
            },
            None => (name.clone(), version.clone()),
        };
        dpkg.insert((name, version), source);
    }
    let mut out = Vec::new();
    for p in expected["packages"].as_array().expect("packages") {
        let (name, version) = (p[0].as_str().unwrap(), p[1].as_str().unwrap());
        if let Some((s, sv)) = dpkg.get(&(name.to_owned(), version.to_owned())) {
            out.push(pkg(Ecosystem::Debian, name, version, Some((s.as_str(), sv.as_str()))));
        } else if PYPI.contains(&name) {
            out.push(pkg(Ecosystem::PyPI, name, version, None));
        } else {
            out.push(pkg(Ecosystem::Npm, name, version, None));
        }
    }
    assert_eq!(out.iter().filter(|p| p.ecosystem == Ecosystem::Debian).count(), dpkg.len(), "package list and dpkg fixture disagree");
    out
}

/// Matchable advisories per ecosystem key, counted straight from the files (no store involved).
fn counts_from_files(path: &Path) -> (BTreeMap<String, u64>, u64) {
    let mut per: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for s in vuln::import::load_path(path).unwrap() {
        for a in &s.advisories {
            total += 1;
            if a.is_withdrawn() {
                continue;
            }
            let ecos: BTreeSet<&str> = a.affected.iter().map(|x| x.ecosystem.as_str()).collect();
            for e in ecos {
                *per.entry(e.to_owned()).or_default() += 1;
            }
        }
    }
    (per, total)
}

/// All of ../shared/vulndata through the store: counts, idempotent re-import, the test image's
/// expected triples (exactly), one changed and one withdrawn advisory.
#[tokio::test]
async fn full_vulndata_through_the_store() {
    let vulndata = shared().join("vulndata");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared().join("testimages/expected.json")).expect("expected.json")).unwrap();
    let packages = test_image_packages(&expected);
    let want: BTreeSet<Triple> = expected["vulns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v[0].as_str().unwrap().into(), v[1].as_str().unwrap().into(), v[2].as_str().unwrap().into()))
        .collect();
    let bookworm = Distribution { id: "debian".into(), version_id: "12".into(), codename: "bookworm".into(), ..Default::default() };
    let (file_counts, file_total) = counts_from_files(&vulndata);
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path()).await {
        let store = &b.store;
        let t = Instant::now();
        let r = store.import_advisories(&vulndata).await.unwrap();
        eprintln!("[{}] import of all vulndata: {:.2?} (peak RSS of the test process {:?} KiB)", b.label, t.elapsed(), peak_rss_kib());
        assert_eq!(r.problems().count(), 0, "{:?}", r.problems().take(3).collect::<Vec<_>>());
        assert!(r.sources.iter().any(|s| matches!(s.outcome, SourceOutcome::Imported { .. })));

        let st = store.advisory_status().await.unwrap();
        let per: BTreeMap<String, u64> = st.per_ecosystem.iter().cloned().collect();
        assert_eq!(per, file_counts, "[{}] per-ecosystem counts", b.label);
        assert_eq!(st.total, file_total);
        assert!(per.contains_key("Debian:12") && per.contains_key("Debian:11") && per.contains_key("PyPI"));
        assert_eq!(st.newest_modified.as_deref(), Some("2026-11-20T15:32:02Z"), "newest real date (Go's placeholders ignored)");

        // The test image through the store: exactly the expected triples.
        let index = store.advisories_for(&vuln::query_keys(Some(&bookworm), &packages)).await.unwrap();
        let findings = vuln::match_packages(&index, Some(&bookworm), &packages).unwrap();
        let got: BTreeSet<Triple> = findings
            .iter()
            .map(|f| {
                let name = f.package.source_name.clone().filter(|_| f.package.ecosystem.is_os()).unwrap_or(f.package.name.clone());
                (name, f.installed_version.clone(), f.advisory_id.clone())
            })
            .collect();
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(missing.is_empty() && extra.is_empty(), "[{}] missing {missing:#?}\nextra {extra:#?}", b.label);

        // Same data again, from the same path and from a copy elsewhere: nothing changes.
        let t = Instant::now();
        let again = store.import_advisories(&vulndata).await.unwrap();
        eprintln!("[{}] re-import, unchanged: {:.2?}", b.label, t.elapsed());
        assert!(again.sources.iter().all(|s| matches!(s.outcome, SourceOutcome::Unchanged | SourceOutcome::Empty)), "{again:?}");
        let copy_root = tempfile::tempdir().unwrap();
        let copy = copy_root.path().join("vulndata");
        copy_dir(&vulndata, &copy);
        let again = store.import_advisories(&copy).await.unwrap();
        assert!(again.sources.iter().all(|s| matches!(s.outcome, SourceOutcome::Unchanged | SourceOutcome::Empty)), "{again:?}");
        assert_eq!(store.advisory_status().await.unwrap().per_ecosystem, st.per_ecosystem);

        // One advisory changed (fix moved down), one withdrawn: only their source is rewritten.
        let lodash = |v: &str| pkg(Ecosystem::Npm, "lodash", v, None);
        assert!(ids(store, None, lodash("4.17.17")).await.contains(&"NPM-ADV-516".to_owned()));
        assert!(ids(store, None, lodash("4.17.20")).await.contains(&"GHSA-35jh-r3h4-6jhm".to_owned()));
        let f516 = copy.join("osv/npm/NPM-ADV-516.json");
        let text = std::fs::read_to_string(&f516).unwrap();
        assert!(text.contains("\"fixed\": \"4.17.19\""));
        std::fs::write(&f516, text.replace("\"fixed\": \"4.17.19\"", "\"fixed\": \"4.17.16\"")).unwrap();
        let ghsa = copy.join("osv/npm/GHSA-35jh-r3h4-6jhm.json");
        let text = std::fs::read_to_string(&ghsa).unwrap();
        let text = text.replacen('{', "{\"withdrawn\": \"2026-01-01T00:00:00Z\",", 1);
        std::fs::write(&ghsa, text).unwrap();
        let r = store.import_advisories(&copy).await.unwrap();
        let npm_total = per_source_total(store, "vulndata/osv/npm").await;
        for s in &r.sources {
            if s.name == "vulndata/osv/npm" {
                assert_eq!(s.outcome, SourceOutcome::Imported { added: 0, updated: 2, removed: 0, unchanged: npm_total - 2 });
            } else {
                assert!(matches!(s.outcome, SourceOutcome::Unchanged | SourceOutcome::Empty), "{s:?}");
            }
        }
        let hits = ids(store, None, lodash("4.17.17")).await;
        assert!(!hits.contains(&"NPM-ADV-516".to_owned()), "changed fix applies: {hits:?}");
        assert!(ids(store, None, lodash("4.17.15")).await.contains(&"NPM-ADV-516".to_owned()));
        assert!(!ids(store, None, lodash("4.17.20")).await.contains(&"GHSA-35jh-r3h4-6jhm".to_owned()), "withdrawn stops matching");
        let st2 = store.advisory_status().await.unwrap();
        assert_eq!(st2.total, st.total, "withdrawn advisories stay stored");
        let npm = |s: &store::advisories::AdvisoryStatus| s.per_ecosystem.iter().find(|(e, _)| e == "npm").map(|(_, n)| *n);
        assert_eq!(npm(&st2), npm(&st).map(|n| n - 1));
        assert_ne!(st2.data_version, st.data_version);
    }
}

async fn per_source_total(store: &Store, name: &str) -> u64 {
    let st = store.advisory_status().await.unwrap();
    st.sources.iter().find(|s| s.name == name).map(|s| s.advisories).expect("source stored")
}

/// A store whose lookup keys were built under an older key scheme (OSV's `Ubuntu:22.04:LTS`
/// stored as written) rebuilds them when opened: the Ubuntu image then finds its advisory.
#[tokio::test]
async fn keys_of_an_older_scheme_are_rebuilt_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ubuntu");
    std::fs::create_dir_all(&data).unwrap();
    let rec = serde_json::json!({"id": "UBUNTU-CVE-2024-1", "modified": "2024-01-01T00:00:00Z", "upstream": ["CVE-2024-1"],
        "affected": [{"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssl"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.15"}]}]}]});
    std::fs::write(data.join("UBUNTU-CVE-2024-1.json"), rec.to_string()).unwrap();
    let ubuntu = Distribution { id: "ubuntu".into(), version_id: "22.04".into(), ..Default::default() };
    let libssl = || pkg(Ecosystem::Debian, "libssl3", "3.0.2-0ubuntu1.10", Some(("openssl", "3.0.2-0ubuntu1.10")));
    for b in backends(dir.path()).await {
        let s = &b.store;
        s.import_advisories(&data).await.unwrap();
        assert_eq!(ids(s, Some(&ubuntu), libssl()).await, ["UBUNTU-CVE-2024-1"], "{}", b.label);
        // What scheme 1 stored: the ecosystem as written.
        sqlx::query("UPDATE advisory_keys SET ecosystem = 'Ubuntu:22.04:LTS'").execute(s.pool()).await.unwrap();
        sqlx::query("UPDATE advisory_meta SET value = '1' WHERE name = 'key_scheme'").execute(s.pool()).await.unwrap();
        assert!(ids(s, Some(&ubuntu), libssl()).await.is_empty(), "{}: old keys do not match", b.label);
        s.close().await;
        let dir_of = dir.path().join(if b.url.is_some() { "pg" } else { "sqlite" });
        let reopened = Store::open(&dir_of, b.url.as_deref()).await.unwrap();
        assert_eq!(ids(&reopened, Some(&ubuntu), libssl()).await, ["UBUNTU-CVE-2024-1"], "{}: rebuilt", b.label);
        let scheme: String =
            sqlx::query_scalar("SELECT value FROM advisory_meta WHERE name = 'key_scheme'").fetch_one(reopened.pool()).await.unwrap();
        assert_eq!(scheme, vuln::KEY_SCHEME);
        reopened.close().await;
    }
}

/// Strict imports (feeds, bundles): a file in no advisory format (an HTML error page served as
/// `main.json`) fails the source and changes nothing; the lenient path names it and goes on.
#[tokio::test]
async fn strict_import_refuses_a_file_in_no_known_format() {
    use vuln::import::{DataFile, SourceData};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).await.unwrap();
    let page = || {
        SourceData::new("feed:alpine/v3.19/main".into(), vec![DataFile { path: "main.json".into(), data: b"<html>portal</html>".to_vec() }])
    };
    let err = store.import_sources(vec![page()], true).await.unwrap_err().to_string();
    assert!(err.contains("feed:alpine/v3.19/main") && err.contains("not in a known advisory format"), "{err}");
    assert!(store.advisory_status().await.unwrap().sources.is_empty(), "nothing recorded");
    let lenient = store.import_sources(vec![page()], false).await.unwrap();
    assert_eq!(lenient.sources[0].outcome, SourceOutcome::Empty);
}
