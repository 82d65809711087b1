//! `shipshape agent`: the node agent (one per node; Helm: a DaemonSet). Reports the node's host,
//! containers, images and compliance results to a Shipshape server with an agent key
//! (`shipshape keys create --role agent`), and scans the images only this node holds when the
//! server asks; the work is in the `agent` crate.

use std::path::PathBuf;
use std::time::Duration;

use crate::Global;

/// Run the node agent: report this node's host, containers, images and compliance results to a server
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server (or its load balancer): http(s)://HOST[:PORT]
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The agent key, as `shipshape keys create --role agent` prints it ({"SecretId", "SecretKey"})
    #[arg(long, value_name = "FILE")]
    pub key_file: PathBuf,
    /// This node's Docker Engine
    #[arg(long, env = "DOCKER_HOST", default_value = "unix:///var/run/docker.sock", value_name = "URL")]
    pub docker_host: String,
    /// Time between reports (90s, 30m...); the server shows the node offline after three missed ones
    #[arg(long, default_value = "30s", value_parser = feed::parse_period, value_name = "DURATION")]
    pub interval: Duration,
    /// Run the compliance checks at most this often (each report still carries the current facts)
    #[arg(long, default_value = "10m", value_parser = feed::parse_period, value_name = "DURATION")]
    pub compliance_every: Duration,
    /// The node's root for the host files (daemon.json, units, audit rules), its /proc and etc/machine-id
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub node_root: PathBuf,
    /// The name this node reports [default: the machine's hostname]
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// containerd's socket: its containers (outside Docker's namespace) are reported too
    #[arg(long, value_name = "PATH")]
    pub containerd_socket: Option<PathBuf>,
    /// Ask the server for work (images only on this node, to scan here) this often
    #[arg(long, default_value = "5s", value_parser = feed::parse_period, value_name = "DURATION")]
    pub poll_every: Duration,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    if args.interval.is_zero() {
        anyhow::bail!("--interval must be more than 0");
    }
    let node_name = match args.node_name {
        Some(n) => n,
        None => std::fs::read_to_string(args.node_root.join("etc/hostname")).map(|h| h.trim().to_string()).unwrap_or_default(),
    };
    if args.poll_every.is_zero() {
        anyhow::bail!("--poll-every must be more than 0");
    }
    let data_dir = global.data_dir()?;
    // The server's analyzers and malware rules (this data dir's imported ones, else those shipped);
    // layer indexes cached on the node.
    let signatures = crate::cmd::image::load_signatures(global)?;
    let scan_engine =
        std::sync::Arc::new(scan::Engine::new(Some(signatures), std::sync::Arc::new(scan::DirCache::new(data_dir.join("layer-cache"))))?);
    let cfg = agent::Config {
        server: args.server,
        key: agent::Key::load(&args.key_file)?,
        docker_host: args.docker_host,
        node_root: args.node_root,
        interval: args.interval,
        compliance_every: args.compliance_every,
        data_dir,
        node_name,
        containerd_socket: args.containerd_socket,
        poll_every: args.poll_every,
        scan_engine,
    };
    agent::run(cfg, crate::wiring::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}
