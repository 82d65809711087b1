//! containerd facts: the daemon (ASSET_CONTAINERD: config.toml, socket, audit rules) and its containers
//! (ASSET_CONTAINERD_CONTAINER: the OCI runtime spec stored with each container), over the gRPC socket.

use std::path::Path;

use node::containerd as cd;
use serde_json::{Value, json};

pub use node::containerd::Channel;

use super::NodeRoot;
use crate::error::CollectError;

impl From<cd::Error> for CollectError {
    fn from(e: cd::Error) -> Self {
        match e {
            cd::Error::NotFound(m) => CollectError::Gone(m),
            cd::Error::Api(m) => CollectError::Containerd(m),
        }
    }
}

pub async fn connect(socket: &Path) -> Result<Channel, CollectError> {
    Ok(cd::connect(socket).await?)
}

pub async fn namespaces(ch: &Channel) -> Result<Vec<String>, CollectError> {
    Ok(cd::namespaces(ch).await?)
}

/// (id, Rego input) of every container in a namespace.
pub async fn containers(ch: &Channel, ns: &str) -> Result<Vec<(String, Result<Value, CollectError>)>, CollectError> {
    let list = cd::list(ch, ns).await?;
    Ok(list.into_iter().map(|ct| (ct.id.clone(), container_input(ns, &ct.id, ct.spec.map(|s| s.value)))).collect())
}

pub async fn container(ch: &Channel, ns: &str, id: &str) -> Result<Value, CollectError> {
    let ct = cd::get(ch, ns, id).await?;
    container_input(ns, id, ct.spec.map(|s| s.value))
}

/// containerd stores the spec as an Any whose value is the JSON of the OCI runtime spec.
pub fn container_input(ns: &str, id: &str, spec: Option<Vec<u8>>) -> Result<Value, CollectError> {
    let Some(bytes) = spec else {
        return Err(CollectError::Parse { path: format!("{ns}/{id}"), message: "container has no runtime spec".into() });
    };
    let spec: Value =
        serde_json::from_slice(&bytes).map_err(|e| CollectError::Parse { path: format!("{ns}/{id} spec"), message: e.to_string() })?;
    Ok(json!({"namespace": ns, "id": id, "spec": spec}))
}

/// The containerd daemon input. `config` overrides the config path (else the running containerd's
/// `--config`, else /etc/containerd/config.toml).
pub fn daemon_facts(node: &NodeRoot, proc_root: &Path, socket: &Path, config: Option<&str>) -> Value {
    let procs = super::find_process(proc_root, "containerd");
    // Prefer the containerd that serves this socket when several run (dockerd starts its own).
    let mut chosen: Option<(u32, Vec<String>)> = None;
    for (pid, argv) in procs {
        let flags = super::parse_flags(&argv, &[], &[("c", "config"), ("a", "address")]);
        let cfg = flags.get("config").and_then(|v| v.last()).cloned();
        let cfg_addr = cfg.as_deref().and_then(|c| read_config(node, c).ok()).and_then(|v| address(&v));
        let serves = flags.get("address").and_then(|v| v.last()).map(|a| Path::new(a) == socket).unwrap_or(false)
            || cfg_addr.map(|a| Path::new(&a) == socket).unwrap_or(false);
        if serves || chosen.is_none() {
            chosen = Some((pid, argv));
            if serves {
                break;
            }
        }
    }
    let argv_config = chosen.as_ref().and_then(|(_, argv)| {
        super::parse_flags(argv, &[], &[("c", "config"), ("a", "address")]).get("config").and_then(|v| v.last()).cloned()
    });
    let config_path = config.map(str::to_string).or(argv_config).unwrap_or_else(|| "/etc/containerd/config.toml".into());
    let mut input = json!({"config_path": config_path});
    let conf = match read_config(node, &config_path) {
        Ok(v) => v,
        Err(e) => {
            input["config_error"] = json!(e);
            json!({})
        }
    };
    let sock = address(&conf).unwrap_or_else(|| socket.to_string_lossy().to_string());
    input["config"] = conf;
    input["files"] = json!({
        "socket": node.stats([sock.as_str()]),
        "config": node.stats([config_path.as_str()]),
    });
    let exe = chosen
        .and_then(|(pid, _)| std::fs::read_link(proc_root.join(pid.to_string()).join("exe")).ok())
        .map(|p| p.to_string_lossy().to_string())
        .unwrap_or_else(|| "/usr/bin/containerd".into());
    let paths = vec![
        exe,
        "/run/containerd".into(),
        sock.clone(),
        config_path.clone(),
        "/usr/bin/containerd-shim".into(),
        "/usr/bin/containerd-shim-runc-v1".into(),
        "/usr/bin/containerd-shim-runc-v2".into(),
        "/usr/bin/runc".into(),
        "/usr/sbin/runc".into(),
    ];
    input["audit"] = super::audit_facts(node, &paths);
    input
}

/// Parsed config.toml as JSON; a missing file is an empty config (containerd's defaults).
fn read_config(node: &NodeRoot, path: &str) -> Result<Value, String> {
    match node.read(path)? {
        None => Ok(json!({})),
        Some(b) => {
            let text = String::from_utf8_lossy(&b);
            let v: toml::Table = toml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
            serde_json::to_value(v).map_err(|e| format!("{path}: {e}"))
        }
    }
}

fn address(conf: &Value) -> Option<String> {
    conf.pointer("/grpc/address").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}
