//! `shipshape compliance check`: discover local assets and run the compliance catalog on them.

use std::path::PathBuf;

use compliance::{AssetType, Catalog, ContainerdSource, Engine, K8sSource, Sources};

use crate::Global;
use crate::output::{Format, print};

/// Compliance checks (CIS-based catalog in Rego) on this machine's Docker, containerd and Kubernetes assets
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: ComplianceCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ComplianceCommand {
    /// Check every asset (or one asset type) and print the results
    Check {
        /// ASSET_CONTAINER, ASSET_IMAGE, ASSET_HOST, ASSET_K8S, ASSET_CONTAINERD or ASSET_CONTAINERD_CONTAINER
        #[arg(long, value_name = "T")]
        asset_type: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Docker endpoint
        #[arg(long, env = "DOCKER_HOST", default_value = "unix:///var/run/docker.sock")]
        docker: String,
        /// containerd socket (ASSET_CONTAINERD, ASSET_CONTAINERD_CONTAINER)
        #[arg(long, value_name = "PATH")]
        containerd_socket: Option<PathBuf>,
        /// Kubernetes node root (reads etc/kubernetes and var/lib/kubelet below it) for ASSET_K8S
        #[arg(long, value_name = "DIR")]
        k8s_root: Option<PathBuf>,
        /// Node directory with workload manifests (Pods, Deployments...) for the pod items; repeatable
        #[arg(long, value_name = "DIR")]
        k8s_pods: Vec<String>,
        /// The node's root for host files (daemon.json, units, audit rules)
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// Skip the setuid scan of image layers (item 3004 then ends CHECK_FAILED)
        #[arg(long)]
        no_image_files: bool,
    },
}

pub async fn run(args: Args, _global: &Global) -> anyhow::Result<()> {
    let ComplianceCommand::Check { asset_type, format, docker, containerd_socket, k8s_root, k8s_pods, root, no_image_files } = args.command;
    let asset_types = match asset_type {
        Some(t) => Some(vec![t.parse::<AssetType>()?]),
        None => None,
    };
    let mut sources = Sources {
        docker: Some(docker),
        node_root: root.clone(),
        proc_root: root.join("proc"),
        containerd: containerd_socket.map(|socket| ContainerdSource { socket, config: None, namespaces: None }),
        k8s: k8s_root.map(|r| K8sSource { root: r, pod_dirs: k8s_pods, kubelet_argv: None }),
        asset_types,
        ..Sources::default()
    };
    sources.config.scan_image_files = !no_image_files;
    let catalog = Catalog::builtin();
    let engine = Engine::new(&catalog)?;
    let (reports, errors) = compliance::report::check(&sources, &engine).await;
    print(format, || compliance::report::to_json(&catalog, &reports, &errors), || compliance::report::to_table(&catalog, &reports, &errors))
}
