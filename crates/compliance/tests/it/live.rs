//! Against the real dockerd (SHIPSHAPE_TEST_DOCKER) and its containerd (SHIPSHAPE_TEST_CONTAINERD): containers
//! created here with known good and bad settings, `docker update` flipping results, a proxy socket that
//! goes away (CHECK_FAILED) and comes back (real results), and ctr-created containerd containers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use compliance::{AssetType, Catalog, CheckResult, CheckStatus, ContainerdSource, Engine, Evaluation, Sources, discover, refresh};

fn env_or_skip(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("SHIPSHAPE_TEST_SERVICES").as_deref() == Ok("1") {
                panic!("{var} is not set but SHIPSHAPE_TEST_SERVICES=1");
            }
            println!("skipped: {var} not set");
            None
        }
    }
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("spawn");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn sh_ok(args: &[&str]) {
    let _ = Command::new(args[0]).args(&args[1..]).output();
}

/// A tiny image made here: `docker import` of a tar with one script and one setuid file.
fn tiny_image(tag: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let tar_path = dir.path().join("rootfs.tar");
    let f = std::fs::File::create(&tar_path).unwrap();
    let mut b = tar::Builder::new(f);
    for (path, mode, body) in [("app", 0o755, &b"#!/bin/sh\necho app\n"[..]), ("bin/passwd", 0o4755, &b"x"[..])] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append_data(&mut h, path, body).unwrap();
    }
    b.finish().unwrap();
    drop(b);
    sh(&["docker", "import", "--change", "CMD [\"/app\"]", tar_path.to_str().unwrap(), tag]);
    tag.to_string()
}

struct Cleanup(Vec<String>, Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.0 {
            sh_ok(&["docker", "rm", "-f", c]);
        }
        for i in &self.1 {
            sh_ok(&["docker", "rmi", "-f", i]);
        }
    }
}

fn sources(endpoint: &str, types: &[AssetType]) -> Sources {
    Sources { docker: Some(endpoint.to_string()), asset_types: Some(types.to_vec()), ..Sources::default() }
}

fn result_of(ev: &Evaluation, id: u64) -> String {
    if ev.is_not_applicable(id) {
        return "NOT_APPLICABLE".into();
    }
    match ev.get(id) {
        Some(r) if r.status == CheckStatus::Failed => format!("CHECK_FAILED: {}", r.reason),
        Some(r) => match r.result {
            Some(CheckResult::Passed) => "PASSED".into(),
            Some(CheckResult::Failed) => "FAILED".into(),
            None => "?".into(),
        },
        None => "missing".into(),
    }
}

fn check(label: &str, ev: &Evaluation, want: &[(u64, &str)]) -> Vec<String> {
    want.iter()
        .filter_map(|(id, w)| {
            let got = result_of(ev, *id);
            (got != *w).then(|| format!("{label} {id}: got {got} want {w} ({:?})", ev.get(*id).map(|r| &r.reason)))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_containers_images_and_host() {
    let Some(endpoint) = env_or_skip("SHIPSHAPE_TEST_DOCKER") else {
        return;
    };
    let run = std::process::id();
    let img = tiny_image(&format!("shipshape-compliance-test/tiny:{run}"));
    let good = format!("ss-cmp-good-{run}");
    let bad = format!("ss-cmp-bad-{run}");
    let ports = format!("ss-cmp-ports-{run}");
    let _cleanup = Cleanup(vec![good.clone(), bad.clone(), ports.clone()], vec![img.clone()]);
    sh(&[
        "docker",
        "create",
        "--name",
        &good,
        "--network",
        "none",
        "--read-only",
        "--user",
        "1000:1000",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        "--memory",
        "64m",
        "--memory-swap",
        "64m",
        "--cpu-shares",
        "512",
        "--pids-limit",
        "64",
        "--restart",
        "on-failure:5",
        "--health-cmd",
        "/app",
        &img,
    ]);
    sh(&[
        "docker",
        "create",
        "--name",
        &bad,
        "--network",
        "none",
        "--user",
        "0:0",
        "--cap-add",
        "SYS_ADMIN",
        "--cap-add",
        "net_admin",
        "-v",
        "/etc:/host/etc:ro",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "--restart",
        "always",
        "-e",
        "DB_PASSWORD=hunter2",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "no-new-privileges=false",
        "--pid",
        "host",
        "--ipc",
        "host",
        "--uts",
        "host",
        "--no-healthcheck",
        &img,
    ]);
    sh(&["docker", "create", "--name", &ports, "--network", "host", "-p", "80:80", "-p", "127.0.0.1:8080:8080", "--privileged", &img]);
    let ids: Vec<String> = [&good, &bad, &ports].iter().map(|n| sh(&["docker", "inspect", "-f", "{{.Id}}", n])).collect();

    let engine = Engine::new(&Catalog::builtin()).unwrap();
    let mut all = sources(&endpoint, &[AssetType::Container, AssetType::Image, AssetType::Host]);
    // Other images in the daemon can be large: list them all, but stream only ours (below) through docker save.
    all.config.scan_image_files = false;
    let inv = discover(&all).await;
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let find = |id: &str| {
        inv.assets.iter().find(|a| a.key == id).unwrap_or_else(|| panic!("{id} not discovered (all containers, not only running)"))
    };
    let mut bad_list = Vec::new();
    let ev_good = engine.evaluate(find(&ids[0]), None);
    bad_list.extend(check(
        "good",
        &ev_good,
        &[
            (2001, "PASSED"),
            (2002, "PASSED"),
            (2003, "PASSED"),
            (2004, "PASSED"),
            (2005, "PASSED"),
            (2006, "NOT_APPLICABLE"),
            (2007, "PASSED"),
            (2008, "PASSED"),
            (2009, "PASSED"),
            (2010, "PASSED"),
            (2011, "PASSED"),
            (2012, "PASSED"),
            (2013, "PASSED"),
            (2014, "PASSED"),
            (2015, "PASSED"),
            (2016, "PASSED"),
            (2017, "PASSED"),
            (2018, "PASSED"),
            (2019, "PASSED"),
            (2020, "PASSED"),
            (2021, "PASSED"),
            (2022, "PASSED"),
            (2023, "PASSED"),
            (2025, "NOT_APPLICABLE"),
            (2026, "PASSED"),
            (2027, "PASSED"),
        ],
    ));
    let ev_bad = engine.evaluate(find(&ids[1]), None);
    bad_list.extend(check(
        "bad",
        &ev_bad,
        &[
            (2001, "PASSED"),
            (2002, "FAILED"),
            (2003, "FAILED"),
            (2004, "FAILED"),
            (2005, "FAILED"),
            (2009, "FAILED"),
            (2010, "FAILED"),
            (2011, "FAILED"),
            (2013, "FAILED"),
            (2014, "FAILED"),
            (2015, "FAILED"),
            (2018, "FAILED"),
            (2019, "FAILED"),
            (2020, "FAILED"),
            (2021, "FAILED"),
            (2022, "FAILED"),
            (2026, "FAILED"),
            (2027, "FAILED"),
            (2025, "NOT_APPLICABLE"),
        ],
    ));
    let ev_ports = engine.evaluate(find(&ids[2]), None);
    bad_list.extend(check("ports", &ev_ports, &[(2001, "FAILED"), (2007, "FAILED"), (2008, "FAILED"), (2012, "FAILED"), (2019, "FAILED")]));
    // Evidence names the field and its value.
    assert_eq!(ev_bad.get(2026).unwrap().evidence["Config.User"], "0:0");
    // Secrets: names only, never values.
    assert!(!serde_json::to_string(&ev_bad.get(2027).unwrap()).unwrap().contains("hunter2"));

    let image_id = sh(&["docker", "inspect", "-f", "{{.Id}}", &img]);
    assert!(inv.assets.iter().any(|a| a.key == image_id), "image discovered");
    // The layer scan (docker save) of this one image; discovery above skipped it for every image.
    let img_asset = refresh(&sources(&endpoint, &[AssetType::Image]), &[(AssetType::Image, image_id.clone())]).await;
    let ev_img = engine.evaluate(&img_asset[0], None);
    bad_list.extend(check("image", &ev_img, &[(3001, "FAILED"), (3002, "FAILED"), (3004, "FAILED"), (3005, "PASSED"), (3007, "PASSED")]));
    assert!(ev_img.get(3004).unwrap().reason.contains("/bin/passwd"), "{}", ev_img.get(3004).unwrap().reason);

    let host = inv.assets.iter().find(|a| a.asset_type == AssetType::Host).expect("host asset");
    let ev_host = engine.evaluate(host, None);
    // The CI daemon runs `dockerd --iptables=false --bridge=none` with vfs (see the fixtures' dockerd-argv.txt).
    bad_list.extend(check(
        "host",
        &ev_host,
        &[(1101, "NOT_APPLICABLE"), (1103, "FAILED"), (1105, "PASSED"), (1107, "FAILED"), (1114, "PASSED")],
    ));
    for r in &ev_host.results {
        assert_eq!(r.status, CheckStatus::Finished, "host item {} did not complete: {}", r.item_id, r.reason);
    }
    assert!(bad_list.is_empty(), "{}", bad_list.join("\n"));

    // docker update flips 2009 and 2022 on the next check of that item.
    let flip = &ids[1];
    let s = sources(&endpoint, &[AssetType::Container]);
    sh(&["docker", "update", "--memory", "64m", "--memory-swap", "64m", "--pids-limit", "100", flip]);
    let again = refresh(&s, &[(AssetType::Container, flip.clone())]).await;
    let ev = engine.evaluate(&again[0], Some(&[2009, 2022]));
    assert_eq!(result_of(&ev, 2009), "PASSED");
    assert_eq!(result_of(&ev, 2022), "PASSED");
    assert_eq!(ev.results.len(), 2, "only the asked items are evaluated");
    assert_eq!(ev.get(2022).unwrap().evidence["HostConfig.PidsLimit"], 100);

    // A container removed between discovery and check: CHECK_FAILED, never a result.
    sh(&["docker", "rm", "-f", &ids[2]]);
    let gone = refresh(&s, &[(AssetType::Container, ids[2].clone())]).await;
    let ev = engine.evaluate(&gone[0], None);
    assert_eq!(ev.results.len(), 27);
    assert!(ev.results.iter().all(|r| r.status == CheckStatus::Failed && r.result.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_container_process_check() {
    let Some(endpoint) = env_or_skip("SHIPSHAPE_TEST_DOCKER") else {
        return;
    };
    let image = "shipshape-test/bookworm-app:1";
    if Command::new("docker").args(["image", "inspect", image]).output().map(|o| !o.status.success()).unwrap_or(true) {
        if std::env::var("SHIPSHAPE_TEST_SERVICES").as_deref() == Ok("1") {
            panic!("{image} not loaded in dockerd");
        }
        println!("skipped: {image} not loaded");
        return;
    }
    let run = std::process::id();
    let plain = format!("ss-cmp-run-{run}");
    let sshd = format!("ss-cmp-sshd-{run}");
    let _c = Cleanup(vec![plain.clone(), sshd.clone()], vec![]);
    sh(&["docker", "run", "-d", "--name", &plain, "--network", "none", image, "sleep", "300"]);
    // A process whose comm is sshd, read from the host's /proc (no docker exec).
    sh(&["docker", "run", "-d", "--name", &sshd, "--network", "none", image, "sh", "-c", "cp /bin/sleep /tmp/sshd && exec /tmp/sshd 300"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let engine = Engine::new(&Catalog::builtin()).unwrap();
    let s = sources(&endpoint, &[AssetType::Container]);
    let ids: Vec<String> = [&plain, &sshd].iter().map(|n| sh(&["docker", "inspect", "-f", "{{.Id}}", n])).collect();
    let assets = refresh(&s, &[(AssetType::Container, ids[0].clone()), (AssetType::Container, ids[1].clone())]).await;
    let a = engine.evaluate(&assets[0], Some(&[2006]));
    let b = engine.evaluate(&assets[1], Some(&[2006]));
    assert_eq!(result_of(&a, 2006), "PASSED");
    assert_eq!(result_of(&b, 2006), "FAILED");
}

/// A unix-socket proxy in front of dockerd. `budget` = connections still allowed (negative = unlimited);
/// `stop()` closes it and removes the socket.
struct Proxy {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    fn start(path: &Path, upstream: &str, budget: Arc<AtomicI64>) -> Proxy {
        let _ = std::fs::remove_file(path);
        let listener = tokio::net::UnixListener::bind(path).unwrap();
        let upstream = upstream.trim_start_matches("unix://").to_string();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut down, _)) = listener.accept().await else {
                    break;
                };
                if budget.fetch_sub(1, Ordering::SeqCst) == 0 {
                    budget.store(0, Ordering::SeqCst);
                    drop(down);
                    continue;
                }
                let upstream = upstream.clone();
                conns.spawn(async move {
                    if let Ok(mut up) = tokio::net::UnixStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
            }
        });
        Proxy { path: path.to_path_buf(), task }
    }

    fn stop(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_unreachable_then_back() {
    let Some(endpoint) = env_or_skip("SHIPSHAPE_TEST_DOCKER") else {
        return;
    };
    let run = std::process::id();
    let img = tiny_image(&format!("shipshape-compliance-test/proxy:{run}"));
    let names: Vec<String> = (0..4).map(|i| format!("ss-cmp-proxy-{run}-{i}")).collect();
    let _c = Cleanup(names.clone(), vec![img.clone()]);
    for n in &names {
        sh(&["docker", "create", "--name", n, "--network", "none", "--memory", "32m", &img]);
    }
    let ids: Vec<(AssetType, String)> =
        names.iter().map(|n| (AssetType::Container, sh(&["docker", "inspect", "-f", "{{.Id}}", n]))).collect();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("docker.sock");
    let proxied = format!("unix://{}", sock.display());
    let engine = Engine::new(&Catalog::builtin()).unwrap();
    let mut s = sources(&proxied, &[AssetType::Container, AssetType::Host]);
    s.concurrency = 1;

    // Through a working proxy: real results.
    let budget = Arc::new(AtomicI64::new(-1));
    let proxy = Proxy::start(&sock, &endpoint, budget.clone());
    let first = refresh(&s, &ids).await;
    for a in &first {
        assert!(engine.evaluate(a, None).results.iter().all(|r| r.status == CheckStatus::Finished));
    }

    // The socket dies in the middle of the check: the connections after the budget are refused.
    // 4 requests cover version negotiation and the daemon state, then one container inspect succeeds.
    budget.store(5, Ordering::SeqCst);
    let mid = refresh(&s, &ids).await;
    let evs: Vec<Evaluation> = mid.iter().map(|a| engine.evaluate(a, None)).collect();
    let failed = evs.iter().filter(|e| e.results.iter().all(|r| r.status == CheckStatus::Failed)).count();
    assert!(failed >= 1, "some containers must end CHECK_FAILED");
    for e in &evs {
        for r in e.results.iter().filter(|r| r.status == CheckStatus::Failed) {
            assert!(r.result.is_none(), "a failed check carries no result");
        }
    }
    proxy.stop();

    // Socket gone entirely: every container item and the daemon-dependent host items fail to complete.
    let mut with_host = ids.clone();
    with_host.push((AssetType::Host, "docker-host".into()));
    let down = refresh(&s, &with_host).await;
    for a in down.iter().filter(|a| a.asset_type == AssetType::Container) {
        let ev = engine.evaluate(a, None);
        assert_eq!(ev.results.len(), 27);
        assert!(ev.results.iter().all(|r| r.status == CheckStatus::Failed), "{:?}", ev.results[0]);
    }
    let host_ev = engine.evaluate(down.iter().find(|a| a.asset_type == AssetType::Host).unwrap(), Some(&[1105, 1107]));
    assert!(host_ev.results.iter().all(|r| r.status == CheckStatus::Failed), "{:?}", host_ev.results);

    // Back again: the same assets are checked for real.
    let proxy = Proxy::start(&sock, &endpoint, Arc::new(AtomicI64::new(-1)));
    let back = refresh(&s, &ids).await;
    for a in &back {
        let ev = engine.evaluate(a, None);
        assert!(ev.results.iter().all(|r| r.status == CheckStatus::Finished));
        assert_eq!(result_of(&ev, 2009), "PASSED");
    }
    proxy.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containerd_containers_via_ctr() {
    let Some(sock) = env_or_skip("SHIPSHAPE_TEST_CONTAINERD") else {
        return;
    };
    let Some(_) = env_or_skip("SHIPSHAPE_TEST_DOCKER") else {
        return;
    };
    let run = std::process::id();
    let ns = format!("test-{run}");
    let img = tiny_image(&format!("shipshape-compliance-test/ctrd:{run}"));
    let _c = Cleanup(vec![], vec![img.clone()]);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("img.tar");
    sh(&["docker", "save", &img, "-o", archive.to_str().unwrap()]);
    let ctr = |args: &[&str]| {
        let mut a = vec!["ctr", "-a", sock.as_str(), "-n", ns.as_str()];
        a.extend_from_slice(args);
        sh(&a)
    };
    ctr(&["images", "import", "--snapshotter", "native", archive.to_str().unwrap()]);
    let image_ref = format!("docker.io/{img}");
    ctr(&["containers", "create", "--snapshotter", "native", "--read-only", "--seccomp", "--memory-limit", "67108864", &image_ref, "good"]);
    ctr(&[
        "containers",
        "create",
        "--snapshotter",
        "native",
        "--privileged",
        "--net-host",
        "--allow-new-privs",
        "--env",
        "AWS_SECRET_ACCESS_KEY=abc",
        "--mount",
        "type=bind,src=/var/run/docker.sock,dst=/s,options=rbind:ro",
        &image_ref,
        "risky",
    ]);
    let cleanup_ns = || {
        for c in ["good", "risky"] {
            sh_ok(&["ctr", "-a", &sock, "-n", &ns, "containers", "rm", c]);
        }
        sh_ok(&["ctr", "-a", &sock, "-n", &ns, "images", "rm", &image_ref]);
        if let Ok(o) = Command::new("ctr").args(["-a", &sock, "-n", &ns, "snapshots", "--snapshotter", "native", "ls"]).output() {
            for line in String::from_utf8_lossy(&o.stdout).lines().skip(1) {
                if let Some(k) = line.split_whitespace().next() {
                    sh_ok(&["ctr", "-a", &sock, "-n", &ns, "snapshots", "--snapshotter", "native", "rm", k]);
                }
            }
        }
        sh_ok(&["ctr", "-a", &sock, "namespaces", "rm", &ns]);
    };
    let s = Sources {
        docker: None,
        containerd: Some(ContainerdSource { socket: sock.clone().into(), config: None, namespaces: Some(vec![ns.clone()]) }),
        ..Sources::default()
    };
    let inv = discover(&s).await;
    let engine = Engine::new(&Catalog::builtin()).unwrap();
    let mut bad = Vec::new();
    let get = |k: &str| inv.assets.iter().find(|a| a.key == format!("{ns}/{k}")).cloned();
    match (get("good"), get("risky")) {
        (Some(g), Some(r)) => {
            let eg = engine.evaluate(&g, None);
            bad.extend(check(
                "good",
                &eg,
                &[
                    (6003, "PASSED"),
                    (6005, "PASSED"),
                    (6007, "PASSED"),
                    (6009, "PASSED"),
                    (6010, "PASSED"),
                    (6004, "FAILED"),
                    (6008, "FAILED"),
                ],
            ));
            let er = engine.evaluate(&r, None);
            bad.extend(check(
                "risky",
                &er,
                &[
                    (6001, "FAILED"),
                    (6002, "FAILED"),
                    (6003, "FAILED"),
                    (6006, "FAILED"),
                    (6007, "FAILED"),
                    (6009, "FAILED"),
                    (6010, "FAILED"),
                ],
            ));
        }
        other => bad.push(format!("containers not discovered: {:?} {:?}", other.0.is_some(), inv.errors)),
    }
    let daemon = inv.assets.iter().find(|a| a.asset_type == AssetType::Containerd).expect("containerd asset");
    let ed = engine.evaluate(daemon, None);
    bad.extend(check("daemon", &ed, &[(5002, "PASSED"), (5004, "PASSED"), (5005, "NOT_APPLICABLE")]));
    cleanup_ns();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
