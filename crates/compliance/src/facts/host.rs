//! Docker host facts (ASSET_HOST): `docker info`/`version` from the daemon, plus node files read below a root
//! directory: dockerd argv, daemon.json, unit files, certificates, the socket, audit rules, /etc/group.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::NodeRoot;
use super::docker::{DaemonState, HostSummary};

/// dockerd flags that take no separate value.
const DOCKERD_BOOLS: &[&str] = &[
    "debug",
    "iptables",
    "ip6tables",
    "icc",
    "userland-proxy",
    "no-new-privileges",
    "live-restore",
    "tls",
    "tlsverify",
    "experimental",
    "selinux-enabled",
    "ip-forward",
    "ip-masq",
    "ipv6",
    "raw-logs",
    "rootless",
    "validate",
    "init",
    "help",
    "version",
];
const DOCKERD_ALIASES: &[(&str, &str)] = &[
    ("D", "debug"),
    ("H", "host"),
    ("l", "log-level"),
    ("G", "group"),
    ("s", "storage-driver"),
    ("p", "pidfile"),
    ("b", "bridge"),
    ("g", "data-root"),
];

/// Operator settings some host/image items compare against.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// Users allowed in the `docker` group (item 1003); exact names.
    pub docker_group_allow: Vec<String>,
    /// Minimum supported Docker Engine version (item 1004).
    pub min_docker_version: String,
    /// This host is meant to be a swarm node (item 1115).
    pub swarm_node: bool,
    /// Image age limit in days (item 3007).
    pub max_image_age_days: u64,
    /// Scan image layers for setuid/setgid files (item 3004); streams `docker save`.
    pub scan_image_files: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            docker_group_allow: Vec::new(),
            min_docker_version: "20.10.0".into(),
            swarm_node: false,
            max_image_age_days: 90,
            scan_image_files: true,
        }
    }
}

pub fn dockerd_flags(argv: &[String]) -> BTreeMap<String, Vec<String>> {
    super::parse_flags(argv, DOCKERD_BOOLS, DOCKERD_ALIASES)
}

/// The dockerd argv: given explicitly, else found by exe name under the proc root (never `pgrep -f`
/// substring matching: pitfall D20). Returns (argv, exe path).
pub fn dockerd_argv(proc_root: &Path, explicit: Option<&[String]>) -> Option<(Vec<String>, Option<String>)> {
    if let Some(a) = explicit {
        return Some((a.to_vec(), None));
    }
    let (pid, argv) = super::find_process(proc_root, "dockerd").into_iter().next()?;
    let exe = std::fs::read_link(proc_root.join(pid.to_string()).join("exe")).ok().map(|p| p.to_string_lossy().to_string());
    Some((argv, exe))
}

fn last<'a>(flags: &'a BTreeMap<String, Vec<String>>, k: &str) -> Option<&'a str> {
    flags.get(k).and_then(|v| v.last()).map(String::as_str)
}

/// Effective string setting: argv wins over daemon.json.
fn setting(flags: &BTreeMap<String, Vec<String>>, dj: &Value, k: &str) -> Option<String> {
    last(flags, k).map(str::to_string).or_else(|| match dj.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// Builds the host input and the summary container checks need.
pub fn host_facts(
    node: &NodeRoot,
    proc_root: &Path,
    explicit_argv: Option<&[String]>,
    daemon: &DaemonState,
    cfg: &CheckConfig,
) -> (Value, HostSummary) {
    let found = dockerd_argv(proc_root, explicit_argv);
    let (argv, exe) = found.clone().unwrap_or_default();
    let flags = dockerd_flags(&argv);
    let mut input = json!({"dockerd_found": found.is_some(), "flags": flags, "argv": argv});

    // daemon.json (a JSON parser, never tr/sed: pitfall D19).
    let dj_path = last(&flags, "config-file").unwrap_or("/etc/docker/daemon.json").to_string();
    let dj = match node.read(&dj_path) {
        Ok(Some(b)) => match serde_json::from_slice::<Value>(&b) {
            Ok(v) if v.is_object() => v,
            Ok(_) => {
                input["daemon_json_error"] = json!(format!("{dj_path}: not a JSON object"));
                json!({})
            }
            Err(e) => {
                input["daemon_json_error"] = json!(format!("{dj_path}: {e}"));
                json!({})
            }
        },
        Ok(None) => json!({}),
        Err(e) => {
            input["daemon_json_error"] = json!(e);
            json!({})
        }
    };
    input["daemon_json"] = dj.clone();

    match &daemon.info {
        Ok(i) => input["info"] = i.clone(),
        Err(e) => input["info_error"] = json!(e),
    }
    if let Some(v) = &daemon.version {
        input["version"] = v.clone();
    }
    match &daemon.bridge {
        Ok(Some(b)) => input["bridge"] = json!({"present": true, "options": b.get("Options").cloned().unwrap_or(json!({}))}),
        Ok(None) => input["bridge"] = json!({"present": false}),
        Err(e) => input["bridge_error"] = json!(e),
    }
    match node.mount_points(proc_root) {
        Ok(Some(m)) => input["mount_points"] = json!(m),
        Ok(None) => {}
        Err(e) => input["mountinfo_error"] = json!(e),
    }
    input["docker_group"] = match node.group_members("docker") {
        Ok(Some(m)) => json!({"exists": true, "members": m}),
        Ok(None) => json!({"exists": false, "members": []}),
        Err(e) => json!({"exists": false, "members": [], "error": e}),
    };
    input["config"] = json!({
        "docker_group_allow": cfg.docker_group_allow,
        "min_docker_version": cfg.min_docker_version,
        "swarm_node": cfg.swarm_node,
    });

    // Files. Unit files: the first unit found plus every drop-in (pitfall D21).
    let unit = |name: &str| -> Vec<String> {
        let mut paths = Vec::new();
        if let Some(p) = ["/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"]
            .iter()
            .map(|d| format!("{d}/{name}"))
            .find(|p| node.exists(p))
        {
            paths.push(p);
        }
        for d in ["/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"] {
            paths.extend(node.list_dir(&format!("{d}/{name}.d")).into_iter().filter(|p| p.ends_with(".conf")));
        }
        paths
    };
    let service_units = unit("docker.service");
    let socket_units = unit("docker.socket");
    let mut certs = Vec::new();
    for d in node.list_dir("/etc/docker/certs.d") {
        certs.extend(node.list_dir(&d));
    }
    let tls_certs: Vec<String> = ["tlscacert", "tlscert"].iter().filter_map(|k| setting(&flags, &dj, k)).collect();
    let tls_key: Vec<String> = setting(&flags, &dj, "tlskey").into_iter().collect();
    let json_hosts: Vec<String> =
        dj.get("hosts").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
    let mut sockets: Vec<String> = flags
        .get("host")
        .into_iter()
        .flatten()
        .chain(json_hosts.iter())
        .filter_map(|h| h.strip_prefix("unix://").map(str::to_string))
        .collect();
    if sockets.is_empty() {
        // The default (also what fd:// socket activation creates) (pitfall D24).
        sockets.push("/var/run/docker.sock".into());
    }
    let env_files = ["/etc/default/docker", "/etc/sysconfig/docker"];
    input["files"] = json!({
        "docker_service": node.stats(service_units.iter().map(String::as_str)),
        "docker_socket_unit": node.stats(socket_units.iter().map(String::as_str)),
        "etc_docker": node.stats(["/etc/docker"]),
        "registry_certs": node.stats(certs.iter().map(String::as_str)),
        "tls_certs": node.stats(tls_certs.iter().map(String::as_str)),
        "tls_key": node.stats(tls_key.iter().map(String::as_str)),
        "docker_socket": node.stats(sockets.iter().map(String::as_str)),
        "daemon_json": node.stats([dj_path.as_str()]),
        "env_files": node.stats(env_files),
    });

    // Audit: the real dockerd binary, not a hard-coded path (pitfall D22).
    let root_dir = daemon.info.as_ref().ok().and_then(|i| i.get("DockerRootDir")).and_then(Value::as_str).unwrap_or("/var/lib/docker");
    let mut audit_paths = vec![exe.unwrap_or_else(|| "/usr/bin/dockerd".into()), root_dir.to_string(), "/etc/docker".into()];
    audit_paths.extend(service_units.iter().take(1).cloned());
    audit_paths.extend(socket_units.iter().take(1).cloned());
    audit_paths.extend(["/etc/default/docker".into(), "/etc/sysconfig/docker".into(), dj_path.clone()]);
    input["audit"] = super::audit_facts(node, &audit_paths);

    let summary = HostSummary {
        security_options: daemon
            .info
            .as_ref()
            .ok()
            .and_then(|i| i.get("SecurityOptions"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        daemon_no_new_privileges: setting(&flags, &dj, "no-new-privileges").as_deref() == Some("true"),
    };
    (input, summary)
}
