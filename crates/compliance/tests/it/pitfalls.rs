//! One test per pitfall in ../shared/spec/compliance/pitfalls.md that the fixtures do not already pin down:
//! each builds the smallest input showing the trap and checks Shipshape concludes the right thing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use compliance::facts::docker::{DaemonState, HostSummary, ProcTable, container_input, image_input};
use compliance::facts::{NodeRoot, find_process, host, k8s};
use compliance::{AssetType, Catalog, CheckResult, CheckStatus, Engine, Evaluation, asset_from_facts};
use serde_json::{Value, json};

fn engine() -> Engine {
    Engine::new(&Catalog::builtin()).unwrap()
}

fn outcome(ev: &Evaluation, id: u64) -> &'static str {
    if ev.is_not_applicable(id) {
        return "NOT_APPLICABLE";
    }
    match ev.get(id) {
        Some(r) if r.status == CheckStatus::Failed => "CHECK_FAILED",
        Some(r) if r.result == Some(CheckResult::Passed) => "PASSED",
        Some(_) => "FAILED",
        None => "missing",
    }
}

/// Evaluates one container item on an inspect document merged over a minimal created container.
fn container(id: u64, patch: Value, host: &HostSummary) -> &'static str {
    let mut c = json!({"Id": "x", "State": {"Running": false, "Pid": 0}, "Config": {"User": "1000"}, "HostConfig": {}, "Mounts": []});
    merge(&mut c, patch);
    let input = container_input(c, host, &ProcTable::default(), Path::new("/nonexistent"));
    let ev = engine().evaluate(&asset_from_facts(AssetType::Container, "c", input), Some(&[id]));
    outcome(&ev, id)
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn plain() -> HostSummary {
    HostSummary { security_options: vec!["name=seccomp,profile=default".into()], daemon_no_new_privileges: false }
}

#[test]
fn d3_root_user_forms() {
    for u in ["", "0", "root", "0:0", "root:root", "0:1000"] {
        assert_eq!(container(2026, json!({"Config": {"User": u}}), &plain()), "FAILED", "{u:?}");
    }
    for u in ["1000", "1000:0", "app"] {
        assert_eq!(container(2026, json!({"Config": {"User": u}}), &plain()), "PASSED", "{u:?}");
    }
}

#[test]
fn d4_selinux_label_disable() {
    let opt = json!({"HostConfig": {"SecurityOpt": ["label=disable"]}, "ProcessLabel": "system_u:system_r:container_t:s0"});
    assert_eq!(container(2025, opt.clone(), &plain()), "NOT_APPLICABLE");
    let selinux = HostSummary { security_options: vec!["name=selinux".into()], daemon_no_new_privileges: false };
    assert_eq!(container(2025, opt, &selinux), "FAILED");
    // seccomp=unconfined is not an SELinux setting.
    assert_eq!(container(2025, json!({"HostConfig": {"SecurityOpt": ["seccomp=unconfined"]}, "ProcessLabel": ""}), &selinux), "FAILED");
    assert_eq!(container(2025, json!({"ProcessLabel": "system_u:system_r:container_t:s0"}), &selinux), "PASSED");
}

fn ports(ip: &str, port: &str) -> Value {
    json!({"HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": ip, "HostPort": port}]}}})
}

#[test]
fn d5_d6_port_bindings() {
    for ip in ["", "0.0.0.0", "::"] {
        assert_eq!(container(2012, ports(ip, "8080"), &plain()), "FAILED", "{ip:?}");
    }
    assert_eq!(container(2012, ports("127.0.0.1", "8080"), &plain()), "PASSED");
    assert_eq!(container(2007, ports("::", "80"), &plain()), "FAILED");
    assert_eq!(container(2007, ports("", "1024"), &plain()), "PASSED");
    assert_eq!(container(2007, ports("", ""), &plain()), "PASSED");
    // Host network: the binding lives only in HostConfig.
    let mut host_net = ports("", "80");
    merge(&mut host_net, json!({"HostConfig": {"NetworkMode": "host"}, "NetworkSettings": {"Ports": {}}}));
    assert_eq!(container(2007, host_net, &plain()), "FAILED");
}

#[test]
fn d7_restart_policies() {
    let rp = |n: &str, m: i64| json!({"HostConfig": {"RestartPolicy": {"Name": n, "MaximumRetryCount": m}}});
    assert_eq!(container(2013, rp("always", 0), &plain()), "FAILED");
    assert_eq!(container(2013, rp("unless-stopped", 0), &plain()), "FAILED");
    assert_eq!(container(2013, rp("on-failure", 6), &plain()), "FAILED");
    assert_eq!(container(2013, rp("on-failure", 5), &plain()), "PASSED");
    assert_eq!(container(2013, rp("no", 0), &plain()), "PASSED");
}

#[test]
fn d8_no_new_privileges_values() {
    let so = |v: &str| json!({"HostConfig": {"SecurityOpt": [v]}});
    assert_eq!(container(2020, so("no-new-privileges=false"), &plain()), "FAILED");
    assert_eq!(container(2020, so("no-new-privileges:false"), &plain()), "FAILED");
    assert_eq!(container(2020, so("no-new-privileges"), &plain()), "PASSED");
    assert_eq!(container(2020, so("no-new-privileges:true"), &plain()), "PASSED");
    let daemon = HostSummary { daemon_no_new_privileges: true, ..plain() };
    assert_eq!(container(2020, json!({}), &daemon), "PASSED");
    assert_eq!(container(2020, so("no-new-privileges=false"), &daemon), "FAILED");
}

fn bind(src: &str, rw: bool) -> Value {
    json!({"Mounts": [{"Type": "bind", "Source": src, "Destination": "/m", "RW": rw}]})
}

#[test]
fn d9_d10_sensitive_and_socket_mounts() {
    for src in ["/", "/etc/shadow", "/var/lib/docker", "/root", "/etc/"] {
        assert_eq!(container(2004, bind(src, false), &plain()), "FAILED", "{src}");
    }
    assert_eq!(container(2004, bind("/etcd-data", true), &plain()), "PASSED");
    for src in ["/run", "/var/run", "/run/containerd/containerd.sock", "/srv/docker.sock"] {
        assert_eq!(container(2005, bind(src, false), &plain()), "FAILED", "{src}");
    }
    assert_eq!(container(2005, bind("/srv/data", true), &plain()), "PASSED");
}

#[test]
fn d12_capability_normalisation() {
    assert_eq!(container(2003, json!({"HostConfig": {"CapAdd": ["cap_sys_admin"]}}), &plain()), "FAILED");
    assert_eq!(container(2002, json!({"HostConfig": {"CapAdd": ["ALL"]}}), &plain()), "FAILED");
    assert_eq!(container(2002, json!({"HostConfig": {"CapAdd": ["net_bind_service"], "CapDrop": ["ALL"]}}), &plain()), "PASSED");
}

#[test]
fn d13_healthcheck_none() {
    assert_eq!(container(2021, json!({"Config": {"Healthcheck": {"Test": ["NONE"]}}}), &plain()), "FAILED");
    assert_eq!(container(2021, json!({"Config": {"Healthcheck": {"Test": ["CMD", "true"]}}}), &plain()), "PASSED");
}

#[test]
fn e3_null_lists_and_e4_apparmor() {
    let nulls = json!({"HostConfig": {"SecurityOpt": null, "CapAdd": null, "CapDrop": null, "PidsLimit": null, "Devices": null}});
    for id in [2002, 2003, 2016, 2019] {
        assert_eq!(container(id, nulls.clone(), &plain()), "PASSED", "{id}");
    }
    assert_eq!(container(2022, nulls, &plain()), "FAILED");
    // AppArmorProfile is "" without AppArmor even for apparmor=unconfined: SecurityOpt shows it.
    assert_eq!(container(2024, json!({"HostConfig": {"SecurityOpt": ["apparmor=unconfined"]}, "AppArmorProfile": ""}), &plain()), "FAILED");
    assert_eq!(container(2024, json!({"AppArmorProfile": ""}), &plain()), "NOT_APPLICABLE");
    let aa = HostSummary { security_options: vec!["name=apparmor".into()], daemon_no_new_privileges: false };
    assert_eq!(container(2024, json!({"AppArmorProfile": "docker-default"}), &aa), "PASSED");
    assert_eq!(container(2024, json!({"AppArmorProfile": ""}), &aa), "FAILED");
}

fn image(id: u64, history: &[&str]) -> &'static str {
    let h: Vec<Value> = history.iter().map(|c| json!({"CreatedBy": c})).collect();
    let input = image_input(json!({"Config": {"User": "1"}, "Created": "2026-01-01T00:00:00Z"}), h, Ok(vec![]), 1767225600, 90);
    let ev = engine().evaluate(&asset_from_facts(AssetType::Image, "i", input), Some(&[id]));
    outcome(&ev, id)
}

#[test]
fn d14_d15_history_parsing() {
    assert_eq!(image(3003, &["/bin/sh -c #(nop)  ENV ADDRESS=10.0.0.1 ADDON=1"]), "PASSED");
    assert_eq!(image(3003, &["/bin/sh -c #(nop) ADD file:4a5b6c in / "]), "PASSED");
    assert_eq!(image(3003, &["/bin/sh -c #(nop) ADD file:4a5b6c in /app/app.sh "]), "FAILED");
    assert_eq!(image(3003, &["ADD app.tar.gz /srv # buildkit"]), "FAILED");
    assert_eq!(image(3006, &["/bin/sh -c apt-get update && apt-get install -y curl"]), "PASSED");
    assert_eq!(image(3006, &["RUN /bin/sh -c apt-get update # buildkit"]), "FAILED");
    assert_eq!(image(3006, &["/bin/sh -c echo outdated-update-notes"]), "PASSED");
    assert_eq!(image(3005, &["/bin/sh -c #(nop)  ENV APP_SECRET=s3cr3t"]), "FAILED");
    assert_eq!(image(3005, &["/bin/sh -c #(nop)  ENV APP_MODE=prod"]), "PASSED");
}

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn host_eval(root: &Path, argv: &[&str], info: Value, cfg: host::CheckConfig, ids: &[u64]) -> Evaluation {
    let node = NodeRoot::new(root);
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let daemon = DaemonState { info: Ok(info), version: None, bridge: Ok(None) };
    let (input, _) = host::host_facts(&node, &root.join("proc"), Some(&argv), &daemon, &cfg);
    engine().evaluate(&asset_from_facts(AssetType::Host, "h", input), Some(ids))
}

#[test]
fn d2_modes_are_octal_bitmasks() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("etc/docker")).unwrap();
    let dj = t.path().join("etc/docker/daemon.json");
    std::fs::write(&dj, "{}").unwrap();
    for (mode, want) in [(0o607, "FAILED"), (0o466, "FAILED"), (0o700, "FAILED"), (0o644, "PASSED"), (0o600, "PASSED"), (0o400, "PASSED")] {
        set_mode(&dj, mode);
        let ev = host_eval(t.path(), &["dockerd"], json!({}), host::CheckConfig::default(), &[1208]);
        assert_eq!(outcome(&ev, 1208), want, "{mode:o}: {:?}", ev.get(1208));
    }
    // Not there: NOT_APPLICABLE, never passed.
    std::fs::remove_file(&dj).unwrap();
    let ev = host_eval(t.path(), &["dockerd"], json!({}), host::CheckConfig::default(), &[1208]);
    assert_eq!(outcome(&ev, 1208), "NOT_APPLICABLE");
}

#[test]
fn d16_d18_d19_daemon_settings() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("etc/docker")).unwrap();
    std::fs::write(
        t.path().join("etc/docker/daemon.json"),
        r#"{"log-level": "info", "log-opts": {"max-size": "10m", "labels": "a,b"}, "hosts": ["tcp://0.0.0.0:2376"], "no-new-privileges": true}"#,
    )
    .unwrap();
    // argv overrides daemon.json.
    let ev = host_eval(t.path(), &["dockerd", "--log-level=debug"], json!({}), host::CheckConfig::default(), &[1102, 1106, 1110]);
    assert_eq!(outcome(&ev, 1102), "FAILED");
    assert_eq!(outcome(&ev, 1106), "FAILED", "{:?}", ev.get(1106));
    assert_eq!(outcome(&ev, 1110), "PASSED");
    let ev = host_eval(
        t.path(),
        &["dockerd", "--tlsverify", "--tlscacert", "/c", "--tlscert=/s", "--tlskey", "/k"],
        json!({}),
        host::CheckConfig::default(),
        &[1102, 1106],
    );
    assert_eq!(outcome(&ev, 1102), "PASSED");
    assert_eq!(outcome(&ev, 1106), "PASSED", "{:?}", ev.get(1106));
    for (driver, want) in [("local", "FAILED"), ("none", "FAILED"), ("json-file", "FAILED"), ("journald", "PASSED")] {
        let ev = host_eval(t.path(), &["dockerd"], json!({"LoggingDriver": driver}), host::CheckConfig::default(), &[1109]);
        assert_eq!(outcome(&ev, 1109), want, "{driver}");
    }
}

#[test]
fn d20_dockerd_found_by_name_not_substring() {
    let t = tempfile::tempdir().unwrap();
    let mk = |pid: &str, comm: &str, cmd: &[&str]| {
        let d = t.path().join(pid);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("comm"), format!("{comm}\n")).unwrap();
        std::fs::write(d.join("cmdline"), cmd.join("\0")).unwrap();
    };
    mk("100", "vim", &["vim", "/etc/dockerd.conf"]);
    mk("200", "dockerd", &["/usr/sbin/dockerd", "--iptables=false"]);
    mk("300", "grep", &["grep", "dockerd"]);
    let found = find_process(t.path(), "dockerd");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 200);
}

#[test]
fn d21_d22_d23_d24_units_audit_group_socket() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for d in
        ["lib/systemd/system", "etc/systemd/system/docker.service.d", "etc/audit/rules.d", "etc/docker", "usr/bin", "var/lib/docker", "run"]
    {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(r.join("lib/systemd/system/docker.service"), "[Service]\n").unwrap();
    set_mode(&r.join("lib/systemd/system/docker.service"), 0o644);
    let dropin = r.join("etc/systemd/system/docker.service.d/override.conf");
    std::fs::write(&dropin, "[Service]\n").unwrap();
    set_mode(&dropin, 0o666);
    std::fs::write(r.join("etc/group"), "root:x:0:\ndocker:x:998:bobby\n").unwrap();
    std::fs::write(r.join("usr/bin/dockerd"), "").unwrap();
    let sock = r.join("run/custom.sock");
    std::mem::forget(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    set_mode(&sock, 0o660);
    std::fs::write(
        r.join("etc/audit/rules.d/docker.rules"),
        "-w /usr/bin/dockerd -k docker\n-a always,exit -F path=/var/lib/docker -k docker\n# -w /etc/docker\n",
    )
    .unwrap();
    let cfg = host::CheckConfig { docker_group_allow: vec!["bob".into()], ..Default::default() };
    let info = json!({"DockerRootDir": "/var/lib/docker"});
    let ev = host_eval(r, &["dockerd", "-H", "unix:///run/custom.sock"], info.clone(), cfg, &[1001, 1003, 1201, 1207]);
    assert_eq!(outcome(&ev, 1201), "FAILED", "drop-in 0666: {:?}", ev.get(1201));
    assert!(ev.get(1201).unwrap().reason.contains("override.conf"));
    assert_eq!(outcome(&ev, 1003), "FAILED", "bobby is not bob");
    assert_eq!(outcome(&ev, 1207), "PASSED", "root:root 0660 on the argv socket: {:?}", ev.get(1207));
    // /etc/docker exists and is only in a comment: still unwatched.
    assert_eq!(outcome(&ev, 1001), "FAILED");
    assert!(ev.get(1001).unwrap().reason.contains("/etc/docker"), "{}", ev.get(1001).unwrap().reason);
    std::fs::write(r.join("etc/audit/rules.d/more.rules"), "-w /etc/docker -k docker\n-w /lib/systemd/system/docker.service\n").unwrap();
    let cfg = host::CheckConfig { docker_group_allow: vec!["bobby".into()], ..Default::default() };
    let ev = host_eval(r, &["dockerd", "-H", "unix:///run/custom.sock"], info, cfg, &[1001, 1003]);
    assert_eq!(outcome(&ev, 1001), "PASSED", "{:?}", ev.get(1001));
    assert_eq!(outcome(&ev, 1003), "PASSED");
}

fn kubelet_eval(config: Option<&str>, argv: &[&str], ids: &[u64]) -> Evaluation {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("var/lib/kubelet")).unwrap();
    if let Some(c) = config {
        std::fs::write(t.path().join("var/lib/kubelet/config.yaml"), c).unwrap();
    }
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let input = k8s::node_facts(&NodeRoot::new(t.path()), &t.path().join("proc"), &[], Some(&argv));
    engine().evaluate(&asset_from_facts(AssetType::K8s, "n", input), Some(ids))
}

#[test]
fn k1_k2_k3_k5_kubelet_effective_values() {
    // Flags only (no config file): read-only port defaults to 10255, anonymous auth to true.
    let ev = kubelet_eval(None, &["kubelet", "--config", "/none.yaml"], &[4502, 4503, 4504, 4505]);
    assert_eq!(outcome(&ev, 4504), "FAILED");
    assert_eq!(outcome(&ev, 4502), "FAILED");
    assert_eq!(outcome(&ev, 4503), "FAILED");
    // With a config file, unset means the config defaults; the flag (space-separated, last wins) overrides.
    let ev = kubelet_eval(
        Some("kind: KubeletConfiguration\npodPidsLimit: 4096\n"),
        &["kubelet", "--read-only-port", "10255", "--read-only-port", "0"],
        &[4502, 4503, 4504, 4505],
    );
    assert_eq!(outcome(&ev, 4504), "PASSED", "{:?}", ev.get(4504));
    assert_eq!(outcome(&ev, 4502), "PASSED");
    assert_eq!(outcome(&ev, 4503), "PASSED");
    assert_eq!(outcome(&ev, 4505), "PASSED");
    let ev = kubelet_eval(Some("podPidsLimit: -1\n"), &["kubelet"], &[4505]);
    assert_eq!(outcome(&ev, 4505), "FAILED");
    let ev = kubelet_eval(Some("podPidsLimit: 100\n"), &["kubelet", "--pod-max-pids=-1"], &[4505]);
    assert_eq!(outcome(&ev, 4505), "FAILED", "flag wins over the file");
}

#[test]
fn k1_apiserver_flags_last_wins_and_bool_flags() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("etc/kubernetes/manifests")).unwrap();
    std::fs::write(
        t.path().join("etc/kubernetes/manifests/kube-apiserver.yaml"),
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    command:\n    - kube-apiserver\n    - --authorization-mode=Node,RBAC\n    - --authorization-mode\n    - AlwaysAllow\n    - --profiling\n    - \"false\"\n",
    )
    .unwrap();
    let input = k8s::node_facts(&NodeRoot::new(t.path()), &t.path().join("proc"), &[], Some(&[]));
    let ev = engine().evaluate(&asset_from_facts(AssetType::K8s, "n", input), Some(&[4203, 4205, 4302]));
    assert_eq!(outcome(&ev, 4203), "FAILED", "the last --authorization-mode (AlwaysAllow) wins");
    // `--profiling false`: pflag booleans take no separate value, so profiling stays on.
    assert_eq!(outcome(&ev, 4205), "FAILED");
    assert_eq!(outcome(&ev, 4302), "NOT_APPLICABLE", "no controller-manager on this node");
}

#[test]
fn rego_error_is_check_failed_not_passed() {
    // An input the policy cannot use (Created unparsable, no setuid scan) must end CHECK_FAILED.
    let input = image_input(json!({"Config": {}, "Created": "yesterday"}), vec![], Err("daemon gone".into()), 0, 90);
    let ev = engine().evaluate(&asset_from_facts(AssetType::Image, "i", input), Some(&[3004, 3007]));
    assert_eq!(outcome(&ev, 3004), "CHECK_FAILED");
    assert_eq!(outcome(&ev, 3007), "CHECK_FAILED");
    assert!(ev.get(3004).unwrap().result.is_none());
}

#[test]
fn one_broken_item_does_not_fail_the_others() {
    // HostPort "abc" makes to_number fail inside 2007 (a Rego error): only that item ends CHECK_FAILED.
    let c = json!({"Id": "x", "State": {"Running": false}, "Config": {"User": "1000"},
        "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "abc"}]}}, "Mounts": []});
    let input = container_input(c, &plain(), &ProcTable::default(), Path::new("/nonexistent"));
    let ev = engine().evaluate(&asset_from_facts(AssetType::Container, "c", input), None);
    assert_eq!(outcome(&ev, 2007), "CHECK_FAILED");
    assert_eq!(outcome(&ev, 2012), "PASSED");
    assert_eq!(ev.results.iter().filter(|r| r.status == CheckStatus::Failed).count(), 1);
}
