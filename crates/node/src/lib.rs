//! What a node reports about itself ([`model::node`]): the host running the Docker Engine, every
//! container with its mounts, network, resource use, processes and listening sockets.
//!
//! The engine says what it knows (inspect, top, stats); the host's /proc says what only the
//! kernel knows: each process's PID inside its container, its executable, and the sockets
//! listening in each container's network namespace (matched to processes by socket inode).
//! /proc is read best effort: a server that cannot read it (another PID namespace, no
//! privileges) still reports everything the engine knows, with those fields empty.
//!
//! Not here: storing snapshots (`store::nodes`), the TCSS views of them (`service::assets`).

pub mod containerd;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, ListImagesOptionsBuilder, StatsOptionsBuilder, TopOptionsBuilder};
use futures::StreamExt;
use model::node::{ContainerFacts, HostFacts, ImageFacts, MountFacts, NetworkFacts, PortFacts, ProcessFacts};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("docker engine: {0}")]
    Docker(String),
}

fn docker_err(e: bollard::errors::Error) -> Error {
    Error::Docker(e.to_string())
}

/// Containers inspected at once.
const CONCURRENCY: usize = 8;

/// Where the node's facts are read from.
pub struct Node<'a> {
    pub docker: &'a Docker,
    /// The host's /proc (`/proc`; a fixture tree in tests).
    pub proc_root: PathBuf,
}

/// One build step of an image's history: `# <created>` then the command.
pub fn history_step(created: &str, created_by: &str) -> String {
    format!("# {created}\n{}", created_by.trim())
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn u(v: &Value) -> u64 {
    v.as_u64().or_else(|| v.as_i64().map(|i| i.max(0) as u64)).unwrap_or(0)
}

impl Node<'_> {
    /// The host and all its containers. `previous`: the last collection's containers, for CPU
    /// usage rates.
    pub async fn collect(&self, previous: &[ContainerFacts]) -> Result<(HostFacts, Vec<ContainerFacts>), Error> {
        let host = self.host().await?;
        let opts = ListContainersOptionsBuilder::default().all(true).build();
        let list = self.docker.list_containers(Some(opts)).await.map_err(docker_err)?;
        let ids: Vec<String> = list.into_iter().filter_map(|c| c.id).collect();
        let before: HashMap<&str, &ContainerFacts> = previous.iter().map(|c| (c.container_id.as_str(), c)).collect();
        let mut out: Vec<ContainerFacts> = futures::stream::iter(ids)
            .map(|id| async move { self.container(&id).await })
            .buffer_unordered(CONCURRENCY)
            .filter_map(|r| async move {
                match r {
                    Ok(c) => Some(c),
                    // Removed between the listing and the inspect: not a failure of the node.
                    Err(e) => {
                        tracing::debug!(error = %e, "container skipped");
                        None
                    }
                }
            })
            .collect()
            .await;
        for c in &mut out {
            c.cpu_usage_milli = before.get(c.container_id.as_str()).and_then(|p| cpu_rate(p, c));
        }
        out.sort_by(|a, b| a.container_id.cmp(&b.container_id));
        Ok((host, out))
    }

    /// The engine's images (tagged and untagged, not intermediate layers) with their containers,
    /// layers and history.
    pub async fn images(&self) -> Result<Vec<ImageFacts>, Error> {
        let docker = self.docker;
        let images = docker.list_images(Some(ListImagesOptionsBuilder::default().all(false).build())).await.map_err(docker_err)?;
        let containers =
            docker.list_containers(Some(ListContainersOptionsBuilder::default().all(true).build())).await.map_err(docker_err)?;
        let mut counts: HashMap<String, (u64, u64)> = HashMap::new();
        for c in &containers {
            let Some(id) = c.image_id.clone() else {
                continue;
            };
            let e = counts.entry(id).or_default();
            e.0 += 1;
            if c.state.as_ref().map(|s| s.to_string()).as_deref() == Some("running") {
                e.1 += 1;
            }
        }
        let mut out = Vec::with_capacity(images.len());
        for s in images {
            let id = s.id.clone();
            // An image removed between list and inspect is simply not in this collection.
            let Ok(inspect) = docker.inspect_image(&id).await else {
                continue;
            };
            let history = docker.image_history(&id).await.unwrap_or_default();
            let steps: Vec<String> = history
                .iter()
                .rev()
                .map(|h| history_step(&if h.created > 0 { model::format_utc(h.created) } else { String::new() }, &h.created_by))
                .collect();
            let (container_cnt, running_cnt) = counts.get(&id).copied().unwrap_or_default();
            let mut names: Vec<String> = s.repo_tags.iter().filter(|t| t.as_str() != "<none>:<none>").cloned().collect();
            names.sort();
            let mut repo_digests: Vec<String> = s.repo_digests.iter().filter(|t| !t.starts_with("<none>")).cloned().collect();
            repo_digests.sort();
            out.push(ImageFacts {
                image_id: id,
                names,
                repo_digests,
                size: u64::try_from(s.size).unwrap_or(0),
                created: inspect.created.clone().unwrap_or_default(),
                os: inspect.os.clone().unwrap_or_default(),
                architecture: inspect.architecture.clone().unwrap_or_default(),
                author: inspect.author.clone().unwrap_or_default(),
                history: steps.join("\n"),
                layers: inspect.root_fs.as_ref().and_then(|r| r.layers.clone()).unwrap_or_default(),
                container_cnt,
                running_cnt,
            });
        }
        out.sort_by(|a, b| a.image_id.cmp(&b.image_id));
        Ok(out)
    }

    async fn host(&self) -> Result<HostFacts, Error> {
        let info = serde_json::to_value(self.docker.info().await.map_err(docker_err)?).unwrap_or_default();
        let version = serde_json::to_value(self.docker.version().await.map_err(docker_err)?).unwrap_or_default();
        Ok(HostFacts {
            host_id: s(&info["ID"]),
            hostname: s(&info["Name"]),
            ip: route_source_ip(),
            os_name: s(&info["OperatingSystem"]),
            kernel_version: s(&info["KernelVersion"]),
            docker_version: s(&info["ServerVersion"]),
            docker_api_version: s(&version["ApiVersion"]),
            docker_go_version: s(&version["GoVersion"]),
            storage_driver: s(&info["Driver"]),
            docker_root_dir: s(&info["DockerRootDir"]),
            cpus: u(&info["NCPU"]),
            memory_bytes: u(&info["MemTotal"]),
            image_cnt: u(&info["Images"]),
            container_cnt: u(&info["Containers"]),
            collected_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        })
    }

    async fn container(&self, id: &str) -> Result<ContainerFacts, Error> {
        let v = serde_json::to_value(self.docker.inspect_container(id, None).await.map_err(docker_err)?).unwrap_or_default();
        let status = s(&v["State"]["Status"]);
        let pid = if status == "running" || status == "paused" { u(&v["State"]["Pid"]) } else { 0 };
        let cfg = &v["Config"];
        let mut cmd: Vec<String> = Vec::new();
        if let Some(p) = v["Path"].as_str().filter(|p| !p.is_empty()) {
            cmd.push(p.to_string());
        }
        cmd.extend(v["Args"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_string)));
        let mounts = v["Mounts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| MountFacts {
                kind: s(&m["Type"]),
                source: s(&m["Source"]),
                destination: s(&m["Destination"]),
                mode: s(&m["Mode"]),
                rw: m["RW"].as_bool().unwrap_or(false),
                propagation: s(&m["Propagation"]),
                name: s(&m["Name"]),
                driver: s(&m["Driver"]),
            })
            .collect();
        let mode = s(&v["HostConfig"]["NetworkMode"]);
        let network = match v["NetworkSettings"]["Networks"].as_object().and_then(|n| n.iter().next()) {
            Some((name, e)) => NetworkFacts {
                mode: mode.clone(),
                name: name.clone(),
                network_id: s(&e["NetworkID"]),
                endpoint_id: s(&e["EndpointID"]),
                gateway: s(&e["Gateway"]),
                ipv4: s(&e["IPAddress"]),
                ipv6: s(&e["GlobalIPv6Address"]),
                mac: s(&e["MacAddress"]),
            },
            None => NetworkFacts { mode, ..Default::default() },
        };
        let user = s(&cfg["User"]);
        let mut c = ContainerFacts {
            container_id: s(&v["Id"]),
            name: s(&v["Name"]).trim_start_matches('/').to_string(),
            image_name: s(&cfg["Image"]),
            image_id: s(&v["Image"]),
            created: s(&v["Created"]),
            run_as: if user.is_empty() { "root".into() } else { user },
            cmd: cmd.join(" "),
            pid,
            mounts,
            network,
            pod_name: s(&cfg["Labels"]["io.kubernetes.pod.name"]),
            status,
            runtime: "docker".into(),
            ..Default::default()
        };
        if pid > 0 {
            c.processes = self.processes(id).await;
            let (mem, cpu, sys) = self.stats(id).await;
            (c.memory_kib, c.cpu_total, c.system_cpu_total) = (mem, cpu, sys);
        }
        c.ports = self.ports(&c, &v["NetworkSettings"]["Ports"]);
        Ok(c)
    }

    /// `docker top` (the engine knows which host PIDs are the container's), completed from /proc.
    async fn processes(&self, id: &str) -> Vec<ProcessFacts> {
        // Fixed columns, the last one (args) taking the rest of the line as the engine splits it.
        let opts = TopOptionsBuilder::default().ps_args("-o pid,user:32,etimes,comm,args").build();
        let top = match self.docker.top_processes(id, Some(opts)).await {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!(container = id, error = %e, "docker top failed");
                return Vec::new();
            }
        };
        let now = time::OffsetDateTime::now_utc();
        top.processes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|row| {
                let [pid, user, elapsed, comm, args] = <[String; 5]>::try_from(row).ok()?;
                let pid: u64 = pid.trim().parse().ok()?;
                let started = elapsed.trim().parse::<i64>().ok().map(|e| now - time::Duration::seconds(e));
                let proc_dir = self.proc_root.join(pid.to_string());
                Some(ProcessFacts {
                    pid,
                    container_pid: ns_pid(&proc_dir).unwrap_or(0),
                    user,
                    name: comm,
                    cmdline: args,
                    exe: std::fs::read_link(proc_dir.join("exe")).map(|p| p.display().to_string()).unwrap_or_default(),
                    start_time: started
                        .and_then(|t| t.replace_nanosecond(0).ok())
                        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Memory (KiB) and cumulative CPU counters from one stats sample.
    async fn stats(&self, id: &str) -> (u64, u64, u64) {
        let opts = StatsOptionsBuilder::default().stream(false).one_shot(true).build();
        let mut stream = self.docker.stats(id, Some(opts));
        match stream.next().await {
            Some(Ok(st)) => {
                let v = serde_json::to_value(st).unwrap_or_default();
                (
                    u(&v["memory_stats"]["usage"]) / 1024,
                    u(&v["cpu_stats"]["cpu_usage"]["total_usage"]),
                    u(&v["cpu_stats"]["system_cpu_usage"]),
                )
            }
            _ => (0, 0, 0),
        }
    }

    /// Sockets listening in the container's network namespace, with the host port each is
    /// published on; published ports whose socket was not seen are listed too.
    fn ports(&self, c: &ContainerFacts, published: &Value) -> Vec<PortFacts> {
        let mut out = if c.pid > 0 { listening(&self.proc_root, c) } else { Vec::new() };
        for (key, bindings) in published.as_object().into_iter().flatten() {
            let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
            let Ok(port) = port.parse::<u64>() else { continue };
            for b in bindings.as_array().into_iter().flatten() {
                let host_port = s(&b["HostPort"]).parse::<u64>().unwrap_or(0);
                let host_listen = format!("{}:{host_port}", s(&b["HostIp"]));
                match out.iter_mut().find(|p| p.port == port && p.protocol == proto && p.host_listen.is_empty()) {
                    Some(p) => (p.host_listen, p.host_port) = (host_listen, host_port),
                    None => out.push(PortFacts {
                        protocol: proto.to_string(),
                        port,
                        host_listen,
                        host_port,
                        user: c.run_as.clone(),
                        ..Default::default()
                    }),
                }
            }
        }
        out
    }
}

/// CPU use between two samples in thousandths of one CPU: container CPU time over elapsed host
/// CPU time, times the CPUs (the engine's `docker stats` formula).
fn cpu_rate(before: &ContainerFacts, now: &ContainerFacts) -> Option<u64> {
    let cpu = now.cpu_total.checked_sub(before.cpu_total)?;
    let sys = now.system_cpu_total.checked_sub(before.system_cpu_total)?;
    if sys == 0 || now.cpu_total == 0 {
        return None;
    }
    // system_cpu_usage sums all CPUs: the share of one CPU is cpu/sys × CPUs, not known here;
    // report the share of the whole host (×1000), which is what TCSS's "CPU使用率 *1000" shows.
    Some(((cpu as u128 * 1000) / sys as u128) as u64)
}

/// The PID inside the innermost PID namespace (`NSpid:` of /proc/PID/status).
fn ns_pid(proc_dir: &Path) -> Option<u64> {
    let status = procfs::process::Process::new_with_root(proc_dir.to_path_buf()).ok()?.status().ok()?;
    status.nspid?.last().and_then(|p| u64::try_from(*p).ok())
}

/// Listening TCP sockets and bound UDP sockets of the container's network namespace (read
/// through its main process), each matched to a container process by socket inode.
fn listening(proc_root: &Path, c: &ContainerFacts) -> Vec<PortFacts> {
    let Ok(main) = procfs::process::Process::new_with_root(proc_root.join(c.pid.to_string())) else {
        return Vec::new();
    };
    let mut owner: HashMap<u64, &ProcessFacts> = HashMap::new();
    for p in &c.processes {
        let Ok(proc_) = procfs::process::Process::new_with_root(proc_root.join(p.pid.to_string())) else { continue };
        for fd in proc_.fd().into_iter().flatten().flatten() {
            if let procfs::process::FDTarget::Socket(inode) = fd.target {
                owner.insert(inode, p);
            }
        }
    }
    let mut out = Vec::new();
    let mut add = |proto: &str, addr: std::net::SocketAddr, inode: u64| {
        let p = owner.get(&inode);
        out.push(PortFacts {
            protocol: proto.to_string(),
            listen: addr.to_string(),
            port: u64::from(addr.port()),
            pid: p.map_or(0, |p| p.pid),
            process_name: p.map(|p| p.name.clone()).unwrap_or_default(),
            user: p.map(|p| p.user.clone()).unwrap_or_else(|| c.run_as.clone()),
            ..Default::default()
        });
    };
    for t in main.tcp().into_iter().flatten().chain(main.tcp6().into_iter().flatten()) {
        if t.state == procfs::net::TcpState::Listen {
            add("tcp", t.local_address, t.inode);
        }
    }
    for t in main.udp().into_iter().flatten().chain(main.udp6().into_iter().flatten()) {
        if t.state == procfs::net::UdpState::Close && t.local_address.port() != 0 {
            add("udp", t.local_address, t.inode);
        }
    }
    out.sort_by(|a, b| (a.port, &a.protocol, &a.listen).cmp(&(b.port, &b.protocol, &b.listen)));
    out.dedup_by(|a, b| a.port == b.port && a.protocol == b.protocol && a.listen == b.listen);
    out
}

/// The source address of the default route (no packet is sent: connecting a UDP socket only
/// picks a route). Empty when the host has none.
fn route_source_ip() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_rate_between_samples() {
        let a = ContainerFacts { cpu_total: 1_000, system_cpu_total: 100_000, ..Default::default() };
        let b = ContainerFacts { cpu_total: 6_000, system_cpu_total: 200_000, ..Default::default() };
        assert_eq!(cpu_rate(&a, &b), Some(50));
        // A restarted container's counters went backwards: no rate.
        assert_eq!(cpu_rate(&b, &a), None);
    }

    #[test]
    fn this_process_is_read_from_proc() {
        let me = std::process::id();
        // The innermost namespace's PID: this process's own when the tests run in the host's namespace.
        let ns = ns_pid(&PathBuf::from(format!("/proc/{me}"))).expect("NSpid readable");
        assert!(ns > 0);
        assert_eq!(ns_pid(Path::new("/proc/0")), None);
        // A listener of this process shows in its namespace's table with this process as owner.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = u64::from(l.local_addr().unwrap().port());
        let c = ContainerFacts {
            pid: u64::from(me),
            processes: vec![ProcessFacts { pid: u64::from(me), name: "test".into(), user: "u".into(), ..Default::default() }],
            ..Default::default()
        };
        let ports = listening(Path::new("/proc"), &c);
        let p = ports.iter().find(|p| p.port == port && p.protocol == "tcp").expect("listener found");
        assert_eq!((p.pid, p.process_name.as_str(), p.listen.as_str()), (u64::from(me), "test", format!("127.0.0.1:{port}").as_str()));
    }
}
