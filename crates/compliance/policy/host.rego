# Docker host items 1001-1209 (CIS Docker Benchmark 1.6.0 sections 1-3, 5.1).
# Input (built by facts::host): {"info": docker info, "info_error", "version": docker version,
#  "flags": {flag: [values]} from the dockerd argv (last wins), "dockerd_found": bool,
#  "daemon_json": {..} ({} when absent), "daemon_json_error", "bridge": {"present", "options"}, "bridge_error",
#  "mount_points": [..], "mountinfo_error", "docker_group": {"exists", "members"}, "audit": {..},
#  "files": {group: {path: stat}}, "config": {"docker_group_allow", "min_docker_version", "swarm_node"}}
package shipshape.host

import data.shipshape.lib
import rego.v1

info := lib.obj(object.get(input, "info", {}))

flags := lib.obj(object.get(input, "flags", {}))

dj := lib.obj(object.get(input, "daemon_json", {}))

files := lib.obj(object.get(input, "files", {}))

# Items that need `docker info` fail to complete without it.
need_info(r) := lib.err(sprintf("docker info unavailable: %s", [input.info_error])) if {
	input.info_error
} else := r

# Effective daemon setting: argv overrides daemon.json (pitfall D16); values as strings.
setting(flag_name, json_key) := lib.flag(flags, flag_name)

setting(flag_name, json_key) := sprintf("%v", [dj[json_key]]) if {
	not lib.flag(flags, flag_name)
	dj[json_key] != null
}

setting_text(flag_name, json_key) := v if v := setting(flag_name, json_key)

setting_text(flag_name, json_key) := "unset" if not setting(flag_name, json_key)

# 1001
c1001 := lib.audit_item(input.audit, "Docker")

# 1002
root_dir := lib.str(object.get(info, "DockerRootDir", ""))

root_candidates := {root_dir, parent(root_dir)}

parent(p) := concat("/", array.slice(parts, 0, count(parts) - 1)) if {
	parts := split(lib.clean_path(p), "/")
	count(parts) > 2
} else := "/"

c1002 := need_info(r1002)

r1002 := lib.na("mountinfo not available") if {
	not input.mount_points
	not input.mountinfo_error
} else := lib.err(sprintf("mountinfo unreadable: %s", [input.mountinfo_error])) if {
	input.mountinfo_error
} else := lib.pass(sprintf("%s is a mount point", [root_dir]), {"DockerRootDir": root_dir}) if {
	some p in root_candidates
	p != "/"
	p in {lib.clean_path(m) | some m in input.mount_points}
} else := lib.fail(sprintf("%s is not on its own filesystem", [root_dir]), {"DockerRootDir": root_dir})

# 1003: exact names, not substrings (pitfall D23).
group_members := {m | some m in lib.arr(object.get(input, ["docker_group", "members"], []))}

allowed_users := {u | some u in lib.arr(object.get(input, ["config", "docker_group_allow"], []))}

c1003 := lib.err(sprintf("group file unreadable: %s", [input.docker_group.error])) if {
	input.docker_group.error
} else := lib.pass("no docker group", {"docker group": null}) if {
	not input.docker_group.exists
} else := lib.fail(sprintf("docker group members not allow-listed: %s", [concat(", ", sort(group_members - allowed_users))]), {"members": sort(group_members), "allow-list": sort(allowed_users)}) if {
	count(group_members - allowed_users) > 0
} else := lib.pass(sprintf("docker group members: %v", [sort(group_members)]), {"members": sort(group_members)})

# 1004: numeric compare of major.minor.patch, distro suffixes stripped.
# The API's /version has Version at the top; `docker version --format json` nests it under Server.
engine_version := v if {
	v := input.version.Version
	is_string(v)
} else := lib.str(object.get(input, ["version", "Server", "Version"], ""))

vparts(v) := array.slice(array.concat([to_number(x) | some x in split(regex.split(`[+~-]`, v)[0], ".")], [0, 0, 0]), 0, 3)

version_ge(a, b) if a[0] > b[0]

version_ge(a, b) if {
	a[0] == b[0]
	a[1] > b[1]
}

version_ge(a, b) if {
	a[0] == b[0]
	a[1] == b[1]
	a[2] >= b[2]
}

min_version := lib.str(object.get(input, ["config", "min_docker_version"], "0.0.0"))

c1004 := lib.err(sprintf("docker version unavailable: %s", [object.get(input, "info_error", "no version")])) if {
	engine_version == ""
} else := lib.pass(sprintf("%s >= minimum %s", [engine_version, min_version]), {"Server.Version": engine_version}) if {
	version_ge(vparts(engine_version), vparts(min_version))
} else := lib.fail(sprintf("%s < minimum %s", [engine_version, min_version]), {"Server.Version": engine_version})

# 1101
icc_opt := object.get(input, ["bridge", "options", "com.docker.network.bridge.enable_icc"], "true")

c1101 := lib.err(sprintf("bridge network unavailable: %s", [input.bridge_error])) if {
	input.bridge_error
} else := lib.na("no default bridge network (daemon started with --bridge=none)") if {
	not input.bridge.present
} else := lib.pass("enable_icc=false", {"com.docker.network.bridge.enable_icc": icc_opt}) if {
	icc_opt == "false"
} else := lib.fail(sprintf("enable_icc=%s", [icc_opt]), {"com.docker.network.bridge.enable_icc": icc_opt})

# 1102
log_level := setting_text("log-level", "log-level")

debug_on if setting("debug", "debug") == "true"

debug_on if info.Debug == true

c1102 := lib.fail(sprintf("log-level=%s, debug=%v", [log_level, object.get(info, "Debug", false)]), {"log-level": log_level, "Debug": object.get(info, "Debug", false)}) if {
	not log_level in {"unset", "info"}
} else := lib.fail("debug logging enabled", {"log-level": log_level, "Debug": true}) if {
	debug_on
} else := lib.pass(sprintf("log-level=%s", [log_level]), {"log-level": log_level})

# 1103
c1103 := lib.fail("iptables=false", {"iptables": "false"}) if {
	setting("iptables", "iptables") == "false"
} else := lib.pass(sprintf("iptables=%s", [setting_text("iptables", "iptables")]), {"iptables": setting_text("iptables", "iptables")})

# 1104: 127.0.0.0/8 is always there (pitfall E9).
insecure_cidrs := {x | some x in lib.arr(object.get(info, ["RegistryConfig", "InsecureRegistryCIDRs"], [])); x != "127.0.0.0/8"}

insecure_indexes := {name | some name, ic in lib.obj(object.get(info, ["RegistryConfig", "IndexConfigs"], {})); object.get(ic, "Secure", true) == false}

c1104 := need_info(r1104)

r1104 := lib.fail(sprintf("insecure registries: %v", [sort(insecure_cidrs | insecure_indexes)]), {"InsecureRegistryCIDRs": sort(insecure_cidrs), "insecure IndexConfigs": sort(insecure_indexes)}) if {
	count(insecure_cidrs | insecure_indexes) > 0
} else := lib.pass("no insecure registry besides 127.0.0.0/8", {"InsecureRegistryCIDRs": ["127.0.0.0/8"]})

# 1105
c1105 := need_info(r1105)

r1105 := lib.fail("Driver=aufs", {"Driver": "aufs"}) if {
	info.Driver == "aufs"
} else := lib.pass(sprintf("Driver=%s", [lib.str(object.get(info, "Driver", ""))]), {"Driver": object.get(info, "Driver", "")})

# 1106
hosts := array.concat(lib.arr(object.get(flags, "host", [])), lib.arr(object.get(dj, "hosts", [])))

tcp_hosts := [h | some h in hosts; startswith(lower(h), "tcp://")]

tls_complete if {
	setting("tlsverify", "tlsverify") == "true"
	setting("tlscacert", "tlscacert") != ""
	setting("tlscert", "tlscert") != ""
	setting("tlskey", "tlskey") != ""
}

c1106 := lib.pass("no tcp:// listener", {"hosts": hosts}) if {
	count(tcp_hosts) == 0
} else := lib.pass(sprintf("tcp listeners %v with tlsverify and certificates", [tcp_hosts]), {"hosts": tcp_hosts}) if {
	tls_complete
} else := lib.fail(sprintf("tcp listeners %v without TLS client verification", [tcp_hosts]), {"hosts": tcp_hosts, "tlsverify": setting_text("tlsverify", "tlsverify")})

# 1107, 1113
secopts := lib.arr(object.get(info, "SecurityOptions", []))

c1107 := need_info(r1107)

r1107 := lib.pass("SecurityOptions has name=userns", {"SecurityOptions": secopts}) if {
	some o in secopts
	startswith(o, "name=userns")
} else := lib.fail("SecurityOptions lacks name=userns", {"SecurityOptions": secopts})

seccomp_profiles := [p |
	some o in secopts
	startswith(o, "name=seccomp")
	some kv in split(o, ",")
	startswith(kv, "profile=")
	p := trim_prefix(kv, "profile=")
]

c1113 := need_info(r1113)

r1113 := lib.fail("no daemon-wide seccomp", {"SecurityOptions": secopts}) if {
	count(seccomp_profiles) == 0
} else := lib.fail("seccomp profile=unconfined", {"SecurityOptions": secopts}) if {
	"unconfined" in seccomp_profiles
} else := lib.pass(sprintf("seccomp profile=%s", [seccomp_profiles[0]]), {"SecurityOptions": secopts})

# 1108
authz := lib.arr(object.get(info, ["Plugins", "Authorization"], []))

c1108 := need_info(r1108)

r1108 := lib.pass(sprintf("Plugins.Authorization=%v", [authz]), {"Plugins.Authorization": authz}) if {
	count(authz) > 0
} else := lib.fail("Plugins.Authorization empty", {"Plugins.Authorization": authz})

# 1109: allow-list of forwarding drivers (pitfall D18).
forwarding := {"syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "gcplogs", "logentries", "etwlogs"}

log_driver := lib.str(object.get(info, "LoggingDriver", ""))

c1109 := need_info(r1109)

r1109 := lib.pass(sprintf("LoggingDriver=%s", [log_driver]), {"LoggingDriver": log_driver}) if {
	log_driver in forwarding
} else := lib.fail(sprintf("LoggingDriver=%s", [log_driver]), {"LoggingDriver": log_driver})

# 1110
c1110 := lib.pass("no-new-privileges=true", {"no-new-privileges": "true"}) if {
	setting("no-new-privileges", "no-new-privileges") == "true"
} else := lib.fail(sprintf("no-new-privileges=%s", [setting_text("no-new-privileges", "no-new-privileges")]), {"no-new-privileges": setting_text("no-new-privileges", "no-new-privileges")})

# 1111
swarm_state := lib.str(object.get(info, ["Swarm", "LocalNodeState"], ""))

c1111 := need_info(r1111)

r1111 := lib.pass("LiveRestoreEnabled=true", {"LiveRestoreEnabled": true}) if {
	info.LiveRestoreEnabled == true
} else := lib.na("swarm mode is active: live-restore is incompatible") if {
	swarm_state == "active"
} else := lib.fail(sprintf("LiveRestoreEnabled=false, Swarm %s", [swarm_state]), {"LiveRestoreEnabled": false, "Swarm.LocalNodeState": swarm_state})

# 1112
c1112 := lib.pass("userland-proxy=false", {"userland-proxy": "false"}) if {
	setting("userland-proxy", "userland-proxy") == "false"
} else := lib.fail(sprintf("userland-proxy=%s", [setting_text("userland-proxy", "userland-proxy")]), {"userland-proxy": setting_text("userland-proxy", "userland-proxy")})

# 1114
c1114 := need_info(r1114)

r1114 := lib.fail("ExperimentalBuild=true", {"ExperimentalBuild": true}) if {
	info.ExperimentalBuild == true
} else := lib.pass("ExperimentalBuild=false", {"ExperimentalBuild": false})

# 1115
c1115 := need_info(r1115)

r1115 := lib.pass(sprintf("Swarm.LocalNodeState=%s", [swarm_state]), {"Swarm.LocalNodeState": swarm_state}) if {
	swarm_state in {"", "inactive"}
} else := lib.pass("swarm node by configuration", {"Swarm.LocalNodeState": swarm_state}) if {
	input.config.swarm_node == true
} else := lib.fail(sprintf("Swarm.LocalNodeState=%s", [swarm_state]), {"Swarm.LocalNodeState": swarm_state})

# 1201-1209: file ownership and permissions, bitwise octal (pitfall D2).
c1201 := lib.file_item(lib.obj(files.docker_service), 420, "docker.service and drop-ins")

c1202 := lib.file_item(lib.obj(files.docker_socket_unit), 420, "docker.socket unit")

c1203 := lib.file_item(lib.obj(files.etc_docker), 493, "/etc/docker")

c1204 := lib.file_item(lib.obj(files.registry_certs), 292, "registry certificates")

c1205 := lib.file_item(lib.obj(files.tls_certs), 292, "TLS CA and server certificate")

c1206 := lib.file_item(lib.obj(files.tls_key), 256, "TLS server key")

# 1207: root:docker or root:root, 0660 or stricter (pitfall D24).
socket_bad := {lib.stat_text(p, st) |
	some p, st in lib.obj(files.docker_socket)
	st.exists
	not socket_good(st)
}

socket_good(st) if {
	lib.mode_ok(st, 432)
	st.uid == 0
	st.group in {"docker", "root"}
}

c1207 := lib.err(concat("; ", lib.stat_errors(lib.obj(files.docker_socket)))) if {
	count(lib.stat_errors(lib.obj(files.docker_socket))) > 0
} else := lib.na("docker socket not found") if {
	count([1 | some _, st in lib.obj(files.docker_socket); st.exists]) == 0
} else := lib.fail(sprintf("docker socket: %s", [concat(", ", sort(socket_bad))]), {"files": sort(socket_bad)}) if {
	count(socket_bad) > 0
} else := lib.pass(concat(", ", sort([lib.stat_text(p, st) | some p, st in lib.obj(files.docker_socket); st.exists])), {"files": sort([lib.stat_text(p, st) | some p, st in lib.obj(files.docker_socket); st.exists])})

c1208 := lib.file_item(lib.obj(files.daemon_json), 420, "daemon.json")

c1209 := lib.file_item(lib.obj(files.env_files), 420, "/etc/default/docker and /etc/sysconfig/docker")
