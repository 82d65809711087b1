//! `shipshape db update` through the real binary against an in-process HTTP mirror in the
//! upstream layouts (OSV's bucket: ecosystems.txt + <Ecosystem>/all.zip; Alpine secdb: an index
//! page + <branch>/main.json, community.json), built from ../shared/vulndata. The mirror answers
//! conditional requests, counts requests per path and can be told to fail.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

fn shared() -> PathBuf {
    std::env::var_os("SHIPSHAPE_SHARED").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn vulndata() -> PathBuf {
    shared().join("vulndata")
}

// ---------------------------------------------------------------------------------------------
// The mirror

/// How a path misbehaves.
#[derive(Clone, Copy)]
enum Fail {
    /// Every request answered with this status.
    Status(u16),
    /// 200 with the full Content-Length, then the connection drops halfway through the body.
    Cut,
}

struct Doc {
    body: Bytes,
    etag: Option<String>,
    last_modified: Option<String>,
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Hits {
    /// 200 with a body.
    full: u32,
    /// 304.
    not_modified: u32,
    /// Failures served on purpose, and 404s.
    failed: u32,
}

#[derive(Default)]
struct MirrorState {
    docs: HashMap<String, Doc>,
    fail: HashMap<String, Fail>,
    hits: HashMap<String, Hits>,
    /// Bumped by every `put`: each new version gets a new Last-Modified.
    version: u32,
}

type Shared = Arc<Mutex<MirrorState>>;

struct Mirror {
    state: Shared,
    addr: SocketAddr,
}

/// Which validators a document is served with.
#[derive(Clone, Copy)]
enum Validators {
    EtagAndDate,
    DateOnly,
}

impl Mirror {
    fn start() -> Mirror {
        let state = Shared::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(serve_doc).with_state(state.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(l, app).await.unwrap();
            });
        });
        Mirror { state, addr }
    }

    fn osv_url(&self) -> String {
        format!("http://{}/osv", self.addr)
    }

    fn alpine_url(&self) -> String {
        format!("http://{}/alpine", self.addr)
    }

    fn put(&self, path: &str, body: Vec<u8>, v: Validators) {
        let mut st = self.state.lock().unwrap();
        st.version += 1;
        let n = st.version;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut h);
        let etag = matches!(v, Validators::EtagAndDate).then(|| format!("\"{:016x}\"", h.finish()));
        let last_modified = Some(format!("Mon, 01 Jan 2024 {:02}:{:02}:{:02} GMT", n / 3600, n / 60 % 60, n % 60));
        st.docs.insert(path.into(), Doc { body: body.into(), etag, last_modified });
    }

    fn remove(&self, path: &str) {
        self.state.lock().unwrap().docs.remove(path);
    }

    fn fail(&self, path: &str, f: Option<Fail>) {
        let mut st = self.state.lock().unwrap();
        match f {
            Some(f) => st.fail.insert(path.into(), f),
            None => st.fail.remove(path),
        };
    }

    fn hits(&self, path: &str) -> Hits {
        self.state.lock().unwrap().hits.get(path).copied().unwrap_or_default()
    }

    fn reset_hits(&self) {
        self.state.lock().unwrap().hits.clear();
    }

    fn body(&self, path: &str) -> Bytes {
        self.state.lock().unwrap().docs[path].body.clone()
    }
}

async fn serve_doc(State(state): State<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let mut st = state.lock().unwrap();
    let fail = st.fail.get(&path).copied();
    let Some(doc) = st.docs.get(&path) else {
        st.hits.entry(path).or_default().failed += 1;
        return StatusCode::NOT_FOUND.into_response();
    };
    let body = doc.body.clone();
    let mut headers = HeaderMap::new();
    if let Some(e) = &doc.etag {
        headers.insert(header::ETAG, e.parse().unwrap());
    }
    if let Some(m) = &doc.last_modified {
        headers.insert(header::LAST_MODIFIED, m.parse().unwrap());
    }
    // If-None-Match, when sent, decides alone (RFC 9110 13.2.2).
    let h = |n: header::HeaderName| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let fresh = match (h(header::IF_NONE_MATCH), h(header::IF_MODIFIED_SINCE)) {
        (Some(inm), _) => doc.etag.as_deref() == Some(inm.as_str()),
        (None, Some(ims)) => doc.last_modified.as_deref() == Some(ims.as_str()),
        (None, None) => false,
    };
    let hits = st.hits.entry(path).or_default();
    match fail {
        Some(Fail::Status(code)) => {
            hits.failed += 1;
            StatusCode::from_u16(code).unwrap().into_response()
        }
        Some(Fail::Cut) => {
            hits.failed += 1;
            let half = body.slice(..body.len() / 2);
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Ok(half), Err(std::io::Error::other("cut"))];
            headers.insert(header::CONTENT_LENGTH, body.len().into());
            (headers, Body::from_stream(futures::stream::iter(chunks))).into_response()
        }
        None if fresh => {
            hits.not_modified += 1;
            (StatusCode::NOT_MODIFIED, headers).into_response()
        }
        None => {
            hits.full += 1;
            (headers, body).into_response()
        }
    }
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The OSV files of `osv/<ecosystem>`, by file name.
fn osv_files(ecosystem: &str) -> Vec<(String, Vec<u8>)> {
    let dir = vulndata().join("osv").join(ecosystem);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

fn all_zip(ecosystem: &str) -> String {
    format!("/osv/{ecosystem}/all.zip")
}

/// A mirror of these OSV ecosystems and Alpine branches (index page linking them, plus `edge/`
/// and noise that must be ignored).
fn mirror(ecosystems: &[&str], branches: &[&str]) -> Mirror {
    let m = Mirror::start();
    // Release-suffixed and unmatchable names must not be fetched: they are not served.
    let mut listing = String::from("Android\nAlpine:v3.10\nDebian:12\nBitnami\n");
    for e in ecosystems {
        listing.push_str(e);
        listing.push('\n');
        m.put(&all_zip(e), zip_of(&osv_files(e)), Validators::EtagAndDate);
    }
    m.put("/osv/ecosystems.txt", listing.into_bytes(), Validators::EtagAndDate);
    let mut index = String::from("<html><body><h1>Index of /</h1><pre><a href=\"../\">../</a>\n<a href=\"edge/\">edge/</a>\n");
    for b in branches {
        index.push_str(&format!("<a href=\"{b}/\">{b}/</a>   01-Jan-2024 00:00    -\n"));
        let dir = vulndata().join("alpine").join(b);
        m.put(&format!("/alpine/{b}/main.json"), std::fs::read(dir.join("main.json")).unwrap(), Validators::EtagAndDate);
        // community.json with Last-Modified only: exercises If-Modified-Since.
        m.put(&format!("/alpine/{b}/community.json"), std::fs::read(dir.join("community.json")).unwrap(), Validators::DateOnly);
    }
    index.push_str("<a href=\"README.md\">README.md</a></pre></body></html>\n");
    m.put("/alpine/", index.into_bytes(), Validators::EtagAndDate);
    m
}

// ---------------------------------------------------------------------------------------------
// The binary

fn shipshape(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shipshape"));
    c.arg("--data-dir").arg(data_dir).env_remove("SHIPSHAPE_DATABASE_URL").env_remove("SHIPSHAPE_DATA_DIR");
    // The mirror is local: no proxy in the way. Retries fast.
    for v in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        c.env_remove(v);
    }
    c.env("SHIPSHAPE_FEED_RETRY_DELAY_MS", "10").env_remove("SHIPSHAPE_FEED_MAX_BYTES");
    c.envs(env.iter().copied());
    c.args(args).output().expect("spawn shipshape")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn update_env(m: &Mirror, data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let (osv, alpine) = (m.osv_url(), m.alpine_url());
    let mut args = vec!["db", "update", "--format", "json", "--osv-url", &osv, "--alpine-secdb-url", &alpine];
    args.extend_from_slice(extra);
    shipshape(data, &args, env)
}

fn update(m: &Mirror, data: &Path, extra: &[&str]) -> Output {
    update_env(m, data, extra, &[])
}

/// Feed name → outcome, from `db update --format json`.
fn outcomes(out: &Output) -> BTreeMap<String, String> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", text(out)));
    v["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_owned(), f["outcome"].as_str().unwrap().to_owned()))
        .collect()
}

fn updated_ok(out: &Output) -> BTreeMap<String, String> {
    assert!(out.status.success(), "{}", text(out));
    outcomes(out)
}

fn failed_naming(out: &Output, feed: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", text(out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("error: feed {feed}:")), "stderr does not name {feed}:\n{}", text(out));
}

fn status(data: &Path) -> Value {
    let out = shipshape(data, &["db", "status", "--format", "json"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Feed name → its entry in `db status`.
fn feeds(st: &Value) -> BTreeMap<String, Value> {
    st["feeds"].as_array().unwrap().iter().map(|f| (f["name"].as_str().unwrap().to_owned(), f.clone())).collect()
}

fn records(st: &Value, feed: &str) -> u64 {
    feeds(st).get(feed).unwrap_or_else(|| panic!("no feed {feed} in {st:#}"))["records"].as_u64().unwrap()
}

fn ecosystems(st: &Value) -> BTreeMap<String, u64> {
    st["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["ecosystem"].as_str().unwrap().to_owned(), e["advisories"].as_u64().unwrap()))
        .collect()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

const OSV: [&str; 6] = ["PyPI", "Go", "crates.io", "npm", "Maven", "Debian"];
const ALPINE: [&str; 9] = ["v3.3", "v3.4", "v3.5", "v3.6", "v3.7", "v3.8", "v3.9", "v3.10", "v3.11"];

// ---------------------------------------------------------------------------------------------
// Cases

/// 1. A full update stores every feed with its records, URL and validators; the counts equal
///    what `db import` gives for the same folders. 2. A second update downloads nothing (every
///    request is conditional and answered 304) and changes nothing.
#[test]
fn full_update_then_conditional_noop() {
    let m = mirror(&OSV, &ALPINE);
    let data = tmp();
    let first = updated_ok(&update(&m, data.path(), &[]));
    let expected: Vec<String> = OSV
        .iter()
        .map(|e| format!("osv/{e}"))
        .chain(ALPINE.iter().flat_map(|b| [format!("alpine/{b}/main"), format!("alpine/{b}/community")]))
        .collect();
    assert_eq!(first.keys().cloned().collect::<std::collections::BTreeSet<_>>(), expected.iter().cloned().collect(), "{first:?}");
    // v3.3 has no community advisory: downloaded, nothing to import, not an error.
    assert_eq!(first["alpine/v3.3/community"], "empty");
    assert!(first.iter().filter(|(k, _)| *k != "alpine/v3.3/community").all(|(_, o)| o == "imported"), "{first:?}");
    for e in OSV {
        assert_eq!(m.hits(&all_zip(e)), Hits { full: 1, not_modified: 0, failed: 0 }, "{e}");
    }

    let st = status(data.path());
    let fs = feeds(&st);
    for e in OSV {
        let f = &fs[&format!("osv/{e}")];
        assert!(f["records"].as_u64().unwrap() > 0, "{f}");
        assert_eq!(f["url"], format!("{}/{e}/all.zip", m.osv_url()));
        assert!(f["etag"].as_str().is_some_and(|t| t.starts_with('"')), "{f}");
        assert!(f["error"].is_null(), "{f}");
    }
    for b in ALPINE {
        let main = &fs[&format!("alpine/{b}/main")];
        assert!(main["records"].as_u64().unwrap() > 0 && main["etag"].is_string(), "{main}");
        let community = &fs[&format!("alpine/{b}/community")];
        assert!(community["etag"].is_null() && community["last_modified"].is_string(), "{community}");
    }

    // The same folders through `db import`: same advisories per ecosystem (Alpine aside: there
    // a directory is one source, a feed one file) and per source.
    let cmp = tmp();
    for b in ALPINE {
        for r in ["main", "community"] {
            let d = cmp.path().join(format!("{b}-{r}"));
            std::fs::create_dir(&d).unwrap();
            std::fs::copy(vulndata().join("alpine").join(b).join(format!("{r}.json")), d.join(format!("{r}.json"))).unwrap();
        }
    }
    let imported = tmp();
    let mut args: Vec<String> = vec!["db".into(), "import".into(), "--format".into(), "json".into()];
    args.extend(OSV.iter().map(|e| vulndata().join("osv").join(e).display().to_string()));
    args.push(cmp.path().display().to_string());
    let out = shipshape(imported.path(), &args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    let ist = status(imported.path());
    let not_alpine = |m: BTreeMap<String, u64>| m.into_iter().filter(|(k, _)| !k.starts_with("Alpine")).collect::<BTreeMap<_, _>>();
    assert_eq!(not_alpine(ecosystems(&st)), not_alpine(ecosystems(&ist)));
    let sources: BTreeMap<String, u64> = ist["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["advisories"].as_u64().unwrap()))
        .collect();
    for e in OSV {
        assert_eq!(records(&st, &format!("osv/{e}")), sources[e], "{e}");
    }
    let cmp_name = cmp.path().file_name().unwrap().to_string_lossy().into_owned();
    for b in ALPINE {
        for r in ["main", "community"] {
            let want = sources.get(&format!("{cmp_name}/{b}-{r}")).copied().unwrap_or(0);
            assert_eq!(records(&st, &format!("alpine/{b}/{r}")), want, "{b} {r}");
        }
    }

    // 2. Nothing changed upstream: conditional requests only, all answered 304.
    m.reset_hits();
    let second = updated_ok(&update(&m, data.path(), &[]));
    assert!(second.values().all(|o| o == "not-modified"), "{second:?}");
    for e in OSV {
        assert_eq!(m.hits(&all_zip(e)), Hits { full: 0, not_modified: 1, failed: 0 }, "{e}");
    }
    for b in ALPINE {
        assert_eq!(m.hits(&format!("/alpine/{b}/community.json")).not_modified, 1, "If-Modified-Since for {b}");
    }
    let st2 = status(data.path());
    assert_eq!(st2["data_version"], st["data_version"]);
    assert_eq!(st2["sources"], st["sources"]);
    for (name, f) in feeds(&st2) {
        let before = &fs[&name];
        for k in ["records", "etag", "last_modified", "updated_at", "url"] {
            assert_eq!(f[k], before[k], "{name} {k}");
        }
    }
}

/// 3. A feed whose new download is broken (truncated all.zip, a 500 after the retries) keeps its
///    previous data whole and is named; the feeds that changed are applied; exit 1. Once the
///    mirror is fixed, the next update brings the feed up to date.
#[test]
fn broken_feed_keeps_its_data_others_apply() {
    let m = mirror(&["crates.io", "npm", "Maven"], &["v3.10"]);
    let data = tmp();
    updated_ok(&update(&m, data.path(), &[]));
    let before = status(data.path());
    let fb = feeds(&before);

    // npm changes (fewer advisories); crates.io changes but is served truncated; Maven fails.
    let npm: Vec<_> = osv_files("npm").into_iter().skip(10).collect();
    m.put(&all_zip("npm"), zip_of(&npm), Validators::EtagAndDate);
    let crates: Vec<_> = osv_files("crates.io").into_iter().skip(5).collect();
    let good = zip_of(&crates);
    m.put(&all_zip("crates.io"), good[..good.len() / 2].to_vec(), Validators::EtagAndDate);
    m.fail(&all_zip("Maven"), Some(Fail::Status(500)));
    m.reset_hits();

    let out = update(&m, data.path(), &[]);
    failed_naming(&out, "osv/crates.io");
    failed_naming(&out, "osv/Maven");
    let o = outcomes(&out);
    assert_eq!((o["osv/npm"].as_str(), o["osv/crates.io"].as_str(), o["osv/Maven"].as_str()), ("imported", "failed", "failed"));
    assert_eq!(m.hits(&all_zip("Maven")).failed, 3, "three attempts on a 500");
    let after = status(data.path());
    let fa = feeds(&after);
    assert_eq!(records(&after, "osv/npm"), records(&before, "osv/npm") - 10);
    for f in ["osv/crates.io", "osv/Maven"] {
        assert_eq!(fa[f]["records"], fb[f]["records"], "{f} kept whole");
        assert_eq!(fa[f]["etag"], fb[f]["etag"], "{f}: the validators of the data stored");
        assert!(fa[f]["error"].is_string(), "{}", fa[f]);
    }
    assert!(fa["osv/crates.io"]["error"].as_str().unwrap().contains("all.zip"), "{}", fa["osv/crates.io"]);
    let table = shipshape(data.path(), &["db", "status"], &[]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("LAST ERROR"), "{}", text(&table));

    // Fixed upstream: the old validators no longer match, the new data comes in.
    m.put(&all_zip("crates.io"), good, Validators::EtagAndDate);
    m.fail(&all_zip("Maven"), None);
    let o = updated_ok(&update(&m, data.path(), &[]));
    assert_eq!((o["osv/crates.io"].as_str(), o["osv/Maven"].as_str(), o["osv/npm"].as_str()), ("imported", "not-modified", "not-modified"));
    let fixed = status(data.path());
    assert_eq!(records(&fixed, "osv/crates.io"), records(&before, "osv/crates.io") - 5);
    assert!(feeds(&fixed)["osv/crates.io"]["error"].is_null());
}

/// 4. An unreachable mirror, and a transfer cut short: exit 1 naming the feeds, nothing lost.
#[test]
fn unreachable_or_cut_short_loses_nothing() {
    let m = mirror(&["npm", "Maven"], &["v3.10"]);
    let data = tmp();
    updated_ok(&update(&m, data.path(), &[]));
    let before = status(data.path());

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dead = format!("http://{closed}/osv");
    let alpine = m.alpine_url();
    // The listing is unreachable: every stored OSV feed is named.
    let out = shipshape(data.path(), &["db", "update", "--osv-url", &dead, "--alpine-secdb-url", &alpine], &[]);
    failed_naming(&out, "osv/npm");
    failed_naming(&out, "osv/Maven");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&closed.to_string()), "{}", text(&out));
    // Without a listing (--ecosystems), the feed itself is unreachable.
    let out = shipshape(data.path(), &["db", "update", "--osv-url", &dead, "--ecosystems", "npm", "--alpine-secdb-url", &alpine], &[]);
    failed_naming(&out, "osv/npm");
    let after = status(data.path());
    assert_eq!(after["sources"], before["sources"]);
    assert!(feeds(&after)["osv/npm"]["error"].as_str().is_some_and(|e| e.contains(&closed.to_string())));

    // The connection drops halfway through a changed file: retried, then failed; data kept.
    let mut main: Value = serde_json::from_slice(&m.body("/alpine/v3.10/main.json")).unwrap();
    main["packages"].as_array_mut().unwrap().truncate(5);
    m.put("/alpine/v3.10/main.json", serde_json::to_vec(&main).unwrap(), Validators::EtagAndDate);
    m.fail("/alpine/v3.10/main.json", Some(Fail::Cut));
    m.reset_hits();
    let out = update(&m, data.path(), &[]);
    failed_naming(&out, "alpine/v3.10/main");
    assert_eq!(m.hits("/alpine/v3.10/main.json").failed, 3);
    // The last attempt was made at another URL: its validators are not sent to this one, so
    // npm is downloaded again, to the same content.
    assert_eq!(outcomes(&out)["osv/npm"], "unchanged");
    let cut = status(data.path());
    assert_eq!(records(&cut, "alpine/v3.10/main"), records(&before, "alpine/v3.10/main"));
    assert_eq!(cut["data_version"], before["data_version"]);
}

/// 5. Branches come from the index page (`edge` and other links ignored), or `--alpine-branches`
///    (the index page is then not read); a community.json that is not published is no error.
#[test]
fn alpine_branches_from_index_or_flag() {
    let m = mirror(&["Maven"], &["v3.9", "v3.10"]);
    m.remove("/alpine/v3.9/community.json");
    let data = tmp();
    let o = updated_ok(&update(&m, data.path(), &[]));
    let alpine: Vec<(&str, &str)> = o.iter().filter(|(k, _)| k.starts_with("alpine/")).map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        alpine,
        [
            ("alpine/v3.10/community", "imported"),
            ("alpine/v3.10/main", "imported"),
            ("alpine/v3.9/community", "absent"),
            ("alpine/v3.9/main", "imported"),
        ]
    );
    assert_eq!(m.hits("/alpine/").full, 1);
    assert_eq!(m.hits("/alpine/edge/main.json"), Hits::default(), "edge is skipped");
    assert!(!feeds(&status(data.path())).contains_key("alpine/v3.9/community"));

    let only = tmp();
    m.reset_hits();
    let o = updated_ok(&update(&m, only.path(), &["--alpine-branches", "v3.10", "--ecosystems", "Maven"]));
    assert_eq!(o.keys().collect::<Vec<_>>(), ["alpine/v3.10/community", "alpine/v3.10/main", "osv/Maven"]);
    assert_eq!(m.hits("/alpine/"), Hits::default(), "no index page read with --alpine-branches");
    assert_eq!(m.hits("/osv/ecosystems.txt"), Hits::default(), "no listing read with --ecosystems");

    // `off` turns a kind of feed off: a mirror of OSV alone updates cleanly.
    let osv_only = tmp();
    m.reset_hits();
    let out = shipshape(
        osv_only.path(),
        &["db", "update", "--osv-url", &m.osv_url(), "--ecosystems", "Maven", "--alpine-secdb-url", "off", "--format", "json"],
        &[],
    );
    assert_eq!(updated_ok(&out).keys().collect::<Vec<_>>(), ["osv/Maven"]);
    assert_eq!(m.hits("/alpine/"), Hits::default(), "alpine off: nothing asked");

    // Bad names are usage errors (exit 2), before any request.
    m.reset_hits();
    for bad in [["--alpine-branches", "edge"], ["--ecosystems", "Cobol"], ["--alpine-branches", "3.10"]] {
        let out = update(&m, only.path(), &bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
    }
    let out = shipshape(only.path(), &["db", "update", "--osv-url", "ftp://x/osv"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(m.state.lock().unwrap().hits.is_empty());
}

/// 6. Caps: an archive entry that inflates past the per-entry cap (zip-bomb style), and a
///    download over the size cap, fail their feed only.
#[test]
fn size_caps_fail_the_feed() {
    let m = mirror(&["npm", "Maven"], &["v3.10"]);
    // An entry 1 MiB over the reader's per-entry cap deflates to a few hundred KiB.
    let bomb = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in osv_files("Maven") {
            w.start_file(name, opts).unwrap();
            w.write_all(&data).unwrap();
        }
        w.start_file("GHSA-bomb.json", opts).unwrap();
        let mib = vec![b' '; 1 << 20];
        for _ in 0..(vuln::import::MAX_FILE_SIZE >> 20) + 1 {
            w.write_all(&mib).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    assert!(bomb.len() < 2 << 20, "{}", bomb.len());
    m.put(&all_zip("Maven"), bomb, Validators::EtagAndDate);
    let data = tmp();
    let out = update(&m, data.path(), &[]);
    failed_naming(&out, "osv/Maven");
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than"), "{}", text(&out));
    let o = outcomes(&out);
    assert_eq!((o["osv/npm"].as_str(), o["alpine/v3.10/main"].as_str()), ("imported", "imported"));
    let st = status(data.path());
    assert_eq!(records(&st, "osv/Maven"), 0);
    assert!(!st["sources"].as_array().unwrap().iter().any(|s| s["name"] == "feed:osv/Maven"));

    // A 64 KiB cap: npm's all.zip is bigger (and unchanged feeds are not downloaded at all).
    let npm_zip = m.body(&all_zip("npm")).len();
    assert!(npm_zip > 64 << 10);
    let npm: Vec<_> = osv_files("npm").into_iter().skip(1).collect();
    m.put(&all_zip("npm"), zip_of(&npm), Validators::EtagAndDate);
    let out = update_env(&m, data.path(), &["--ecosystems", "npm"], &[("SHIPSHAPE_FEED_MAX_BYTES", "65536")]);
    failed_naming(&out, "osv/npm");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cap"), "{}", text(&out));
    assert_eq!(records(&status(data.path()), "osv/npm"), records(&st, "osv/npm"));
}

/// `serve --db-update-every`: the same update runs in the background at start (no data yet),
/// then every period (conditional requests), and stops with the server.
#[test]
fn serve_updates_in_the_background() {
    let m = mirror(&["Maven"], &["v3.10"]);
    let data = tmp();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::fs::File::create(data.path().join("serve.log")).unwrap();
    let (osv, alpine, listen) = (m.osv_url(), m.alpine_url(), format!("127.0.0.1:{port}"));
    let mut c = Command::new(env!("CARGO_BIN_EXE_shipshape"));
    c.arg("--data-dir").arg(data.path()).args(["serve", "--listen", &listen, "--db-update-every", "2s"]);
    c.args(["--osv-url", &osv, "--alpine-secdb-url", &alpine, "--docker-host", "unix:///nonexistent/docker.sock"]);
    c.arg("--node-root").arg(data.path());
    for v in ["SHIPSHAPE_DATABASE_URL", "SHIPSHAPE_DATA_DIR", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
        c.env_remove(v);
    }
    let mut child = c.env("SHIPSHAPE_FEED_RETRY_DELAY_MS", "10").stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
    let log = || std::fs::read_to_string(data.path().join("serve.log")).unwrap_or_default();
    let wait_for = |what: &str, ok: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !ok() {
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}\n{}", log());
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    wait_for("the first update", &|| m.hits(&all_zip("Maven")).full == 1 && m.hits("/alpine/v3.10/community.json").full == 1);
    wait_for("a periodic, conditional update", &|| m.hits(&all_zip("Maven")).not_modified >= 1);
    let st = status(data.path());
    assert_eq!(records(&st, "osv/Maven"), 3, "{st:#}");
    assert!(records(&st, "alpine/v3.10/main") > 0);

    let kill = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(kill.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "serve did not stop\n{}", log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(code.success(), "{code:?}\n{}", log());
    assert!(log().contains("advisory feeds updated"), "{}", log());
}

/// `--debian-tracker-url`: the document is one more feed (stored under the name the Debian
/// tracker importer recognises), fetched only when asked for.
#[test]
fn debian_tracker_feed() {
    let m = mirror(&["Maven"], &["v3.10"]);
    let doc = br#"{"openssl": {"CVE-2023-0286": {"description": "X.400 address type confusion", "scope": "remote",
        "releases": {"bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.8-1"}, "fixed_version": "3.0.8-1", "urgency": "high"}}}}}"#;
    m.put("/tracker/data/json", doc.to_vec(), Validators::EtagAndDate);
    let url = format!("http://{}/tracker/data/json", m.addr);
    let data = tmp();
    let o = updated_ok(&update(&m, data.path(), &[]));
    assert!(!o.contains_key("debian-tracker"), "{o:?}");
    let o = updated_ok(&update(&m, data.path(), &["--debian-tracker-url", &url]));
    assert_eq!(o["debian-tracker"], "imported");
    assert!(records(&status(data.path()), "debian-tracker") >= 1);
    let o = updated_ok(&update(&m, data.path(), &["--debian-tracker-url", &url]));
    assert_eq!(o["debian-tracker"], "not-modified");
}
