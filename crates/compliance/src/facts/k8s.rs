//! Kubernetes node facts (ASSET_K8S) read from node files the way kube-bench does: static pod manifests,
//! the kubelet config and argv, kubeconfig permissions, plus workload pod specs from configured directories.
//! Pods from the Kubernetes API (`--kubeconfig`) are not collected by this crate.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use super::NodeRoot;

pub const COMPONENTS: [&str; 4] = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"];

/// Boolean flags of the control-plane components and kubelet: pflag does not take a separate value for
/// them (`--profiling false` means `--profiling=true` plus a stray argument).
const K8S_BOOLS: &[&str] = &[
    "anonymous-auth",
    "profiling",
    "use-service-account-credentials",
    "client-cert-auth",
    "peer-client-cert-auth",
    "auto-tls",
    "peer-auto-tls",
    "enable-bootstrap-token-auth",
    "leader-elect",
    "rotate-certificates",
    "make-iptables-util-chains",
    "protect-kernel-defaults",
    "allow-privileged",
];

pub fn k8s_flags(argv: &[String]) -> std::collections::BTreeMap<String, Vec<String>> {
    super::parse_flags(argv, K8S_BOOLS, &[])
}

/// Parses YAML (possibly several documents) into JSON values.
pub fn yaml_docs(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let v = Value::deserialize(doc).map_err(|e| e.to_string())?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// The node's input document. `pod_dirs` are node directories holding workload manifests;
/// `kubelet_argv` overrides the process lookup.
pub fn node_facts(node: &NodeRoot, proc_root: &Path, pod_dirs: &[String], kubelet_argv: Option<&[String]>) -> Value {
    let mut components = serde_json::Map::new();
    let mut component_errors = serde_json::Map::new();
    let mut manifest_paths = Vec::new();
    for name in COMPONENTS {
        let path = format!("/etc/kubernetes/manifests/{name}.yaml");
        manifest_paths.push(path.clone());
        match node.read(&path) {
            Ok(None) => {}
            Ok(Some(b)) => match yaml_docs(&String::from_utf8_lossy(&b)) {
                Ok(docs) => {
                    let pod = docs.into_iter().next().unwrap_or(Value::Null);
                    let c0 = pod.pointer("/spec/containers/0").cloned().unwrap_or(Value::Null);
                    let argv: Vec<String> = ["command", "args"]
                        .iter()
                        .flat_map(|k| c0.get(*k).and_then(Value::as_array).cloned().unwrap_or_default())
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect();
                    components.insert(name.to_string(), json!({"flags": k8s_flags(&argv), "manifest": path}));
                }
                Err(e) => {
                    component_errors.insert(name.to_string(), json!(format!("{path}: {e}")));
                }
            },
            Err(e) => {
                component_errors.insert(name.to_string(), json!(e));
            }
        }
    }

    let kubelet_argv: Option<Vec<String>> =
        kubelet_argv.map(<[String]>::to_vec).or_else(|| super::find_process(proc_root, "kubelet").into_iter().next().map(|(_, a)| a));
    let kflags = kubelet_argv.as_deref().map(k8s_flags).unwrap_or_default();
    let config_path = kflags.get("config").and_then(|v| v.last()).cloned().unwrap_or_else(|| "/var/lib/kubelet/config.yaml".into());
    let mut kubelet = json!({"flags": kflags, "running": kubelet_argv.is_some(), "config_path": config_path});
    match node.read(&config_path) {
        Ok(None) => kubelet["config_present"] = json!(false),
        Ok(Some(b)) => {
            kubelet["config_present"] = json!(true);
            match yaml_docs(&String::from_utf8_lossy(&b)) {
                Ok(docs) => kubelet["config"] = docs.into_iter().next().unwrap_or(json!({})),
                Err(e) => kubelet["config_error"] = json!(format!("{config_path}: {e}")),
            }
        }
        Err(e) => {
            kubelet["config_present"] = json!(true);
            kubelet["config_error"] = json!(e);
        }
    }

    let mut pods = Vec::new();
    let mut pods_error: Option<String> = None;
    for dir in pod_dirs {
        for file in node.list_dir(dir) {
            if !(file.ends_with(".yaml") || file.ends_with(".yml") || file.ends_with(".json")) {
                continue;
            }
            match node.read(&file) {
                Ok(Some(b)) => match yaml_docs(&String::from_utf8_lossy(&b)) {
                    Ok(docs) => {
                        for d in docs {
                            if let Some(pod) = as_pod(&d) {
                                pods.push(json!({"source": file, "pod": pod}));
                            }
                        }
                    }
                    Err(e) => pods_error = Some(format!("{file}: {e}")),
                },
                Ok(None) => {}
                Err(e) => pods_error = Some(e),
            }
        }
    }

    let mut input = json!({
        "components": components,
        "component_errors": component_errors,
        "kubelet": kubelet,
        "pods": pods,
        "files": {
            "manifests": node.stats(manifest_paths.iter().map(String::as_str)),
            "admin_conf": node.stats(["/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"]),
            "kubelet_config": node.stats([config_path.as_str()]),
        },
    });
    if let Some(e) = pods_error {
        input["pods_error"] = json!(e);
    }
    input
}

/// A Pod, or the pod template of a workload object, as a Pod-shaped value.
fn as_pod(doc: &Value) -> Option<Value> {
    let kind = doc.get("kind").and_then(Value::as_str)?;
    let template = match kind {
        "Pod" => return Some(doc.clone()),
        "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "Job" | "ReplicationController" => doc.pointer("/spec/template"),
        "CronJob" => doc.pointer("/spec/jobTemplate/spec/template"),
        _ => None,
    }?;
    let mut pod = template.clone();
    pod["metadata"] = doc.get("metadata").cloned().unwrap_or(json!({}));
    Some(pod)
}

/// Whether this node has any Kubernetes files at all.
pub fn is_k8s_node(node: &NodeRoot) -> bool {
    node.exists("/etc/kubernetes") || node.exists("/var/lib/kubelet")
}
