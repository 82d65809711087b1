# Docker container items 2001-2027 (CIS Docker Benchmark 1.6.0 section 5 numbering, see catalog.toml).
# Input: {"container": <docker inspect of one container>, "host": {"security_options": [..],
#         "daemon_no_new_privileges": bool}, "running": bool, "processes": [{"pid", "comm"}] (running only),
#         "processes_error": string, "user_uid": number (a user name resolved through the container's
#         /etc/passwd), "network_peer_mode": string (NetworkMode of a container:<id> peer)}
# Every container is evaluated, created and exited ones too (pitfall D1).
package shipshape.container

import data.shipshape.lib
import rego.v1

c := input.container

hc := lib.obj(object.get(c, "HostConfig", {}))

cfg := lib.obj(object.get(c, "Config", {}))

security_opt := lib.arr(object.get(hc, "SecurityOpt", []))

mounts := lib.arr(object.get(c, "Mounts", []))

bind_mounts := [m | some m in mounts; object.get(m, "Type", "") == "bind"]

host_secopts := lib.arr(object.get(input, ["host", "security_options"], []))

# "key=value" / "key:value" security options as [key, value]; a bare key gets "".
secopt_pairs := [[k, v] |
	some o in security_opt
	kv := regex.split(`[:=]`, o)
	k := kv[0]
	v := concat("=", array.slice(kv, 1, count(kv)))
]

# 2001
c2001 := lib.fail("HostConfig.Privileged=true", {"HostConfig.Privileged": true}) if {
	object.get(hc, "Privileged", false) == true
} else := lib.pass("HostConfig.Privileged=false", {"HostConfig.Privileged": false})

# 2002
default_caps := {
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
	"SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
}

cap_add := {lib.norm_cap(x) | some x in lib.arr(object.get(hc, "CapAdd", []))}

cap_drop := {lib.norm_cap(x) | some x in lib.arr(object.get(hc, "CapDrop", []))}

extra_caps := {x | some x in cap_add; not x in default_caps}

c2002 := lib.fail(sprintf("CapAdd beyond the default set: %s", [concat(", ", sort(extra_caps))]), {"HostConfig.CapAdd": sort(cap_add), "HostConfig.CapDrop": sort(cap_drop)}) if {
	count(extra_caps) > 0
} else := lib.pass(sprintf("CapAdd=%v, CapDrop=%v", [sort(cap_add), sort(cap_drop)]), {"HostConfig.CapAdd": sort(cap_add), "HostConfig.CapDrop": sort(cap_drop)})

# 2003
dangerous_caps := {"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "DAC_READ_SEARCH", "BPF", "PERFMON"}

bad_caps := cap_add & dangerous_caps

c2003 := lib.fail(sprintf("dangerous capabilities added: %s", [concat(", ", sort(bad_caps))]), {"HostConfig.CapAdd": sort(cap_add)}) if {
	count(bad_caps) > 0
} else := lib.pass("no dangerous capability added", {"HostConfig.CapAdd": sort(cap_add)})

# 2004: read-only mounts of these paths fail too (pitfall D9).
sensitive_dirs := ["/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sys", "/usr", "/root", "/var/lib/docker"]

sensitive_mounts := {sprintf("%s -> %s (RW=%v)", [src, object.get(m, "Destination", ""), object.get(m, "RW", false)]) |
	some m in bind_mounts
	src := lib.clean_path(object.get(m, "Source", ""))
	sensitive_source(src)
}

sensitive_source(src) if src == "/"

sensitive_source(src) if {
	some d in sensitive_dirs
	lib.under(src, d)
}

c2004 := lib.fail(sprintf("sensitive host paths mounted: %s", [concat(", ", sort(sensitive_mounts))]), {"Mounts": sort(sensitive_mounts)}) if {
	count(sensitive_mounts) > 0
} else := lib.pass(sprintf("%d bind mounts, none sensitive", [count(bind_mounts)]), {"Mounts": [object.get(m, "Source", "") | some m in bind_mounts]})

# 2005: the sockets, the directories that hold them, and "/" (pitfall D10).
socket_names := {"docker.sock", "containerd.sock"}

socket_dirs := {"/", "/run", "/var/run", "/run/containerd", "/var/run/containerd", "/run/docker", "/var/run/docker"}

socket_mounts := {sprintf("%s -> %s", [src, object.get(m, "Destination", "")]) |
	some m in bind_mounts
	src := lib.clean_path(object.get(m, "Source", ""))
	socket_source(src)
}

socket_source(src) if lib.basename(src) in socket_names

socket_source(src) if src in socket_dirs

c2005 := lib.fail(sprintf("runtime socket reachable through mounts: %s", [concat(", ", sort(socket_mounts))]), {"Mounts": sort(socket_mounts)}) if {
	count(socket_mounts) > 0
} else := lib.pass("no runtime socket mounted", {})

# 2006: process list read from the host's /proc (pitfall D11), only meaningful while running.
sshd_procs := [p | some p in lib.arr(object.get(input, "processes", [])); p.comm == "sshd"]

c2006 := lib.na("container is not running: no processes to inspect") if {
	not input.running
} else := lib.err(sprintf("process list unavailable: %s", [input.processes_error])) if {
	input.processes_error
} else := lib.fail(sprintf("sshd running (pids %v)", [[p.pid | some p in sshd_procs]]), {"processes": sshd_procs}) if {
	count(sshd_procs) > 0
} else := lib.pass(sprintf("%d processes, no sshd", [count(lib.arr(input.processes))]), {"comms": sort({p.comm | some p in lib.arr(input.processes)})})

# 2007 / 2012: stored PortBindings count even when not running or on host network (pitfalls D5, D6, E2).
port_bindings := array.concat(
	[[port, b] |
		some port, list in lib.obj(object.get(hc, "PortBindings", {}))
		some b in lib.arr(list)
	],
	[[port, b] |
		some port, list in lib.obj(object.get(c, ["NetworkSettings", "Ports"], {}))
		some b in lib.arr(list)
	],
)

low_ports := {sprintf("%s->%s", [port, hp]) |
	some tup in port_bindings
	port := tup[0]
	b := tup[1]
	hp := lib.str(object.get(b, "HostPort", ""))
	hp != ""
	to_number(hp) < 1024
}

c2007 := lib.fail(sprintf("privileged host ports published: %s", [concat(", ", sort(low_ports))]), {"PortBindings": sort(low_ports)}) if {
	count(low_ports) > 0
} else := lib.pass(sprintf("%d port bindings, all >= 1024 or ephemeral", [count(port_bindings)]), {})

wildcard_ips := {"", "0.0.0.0", "::"}

open_bindings := {sprintf("%s->%s", [port, lib.str(object.get(b, "HostPort", ""))]) |
	some tup in port_bindings
	port := tup[0]
	b := tup[1]
	lib.str(object.get(b, "HostIp", "")) in wildcard_ips
}

c2012 := lib.fail(sprintf("bound to all interfaces: %s", [concat(", ", sort(open_bindings))]), {"PortBindings": sort(open_bindings)}) if {
	count(open_bindings) > 0
} else := lib.pass("no binding on all interfaces", {})

# 2008
network_mode := lib.str(object.get(hc, "NetworkMode", ""))

c2008 := lib.fail("NetworkMode=host", {"HostConfig.NetworkMode": network_mode}) if {
	network_mode == "host"
} else := lib.fail(sprintf("NetworkMode=%s, which uses host networking", [network_mode]), {"HostConfig.NetworkMode": network_mode, "peer NetworkMode": input.network_peer_mode}) if {
	startswith(network_mode, "container:")
	input.network_peer_mode == "host"
} else := lib.pass(sprintf("NetworkMode=%s", [network_mode]), {"HostConfig.NetworkMode": network_mode})

# 2009
memory := lib.num(object.get(hc, "Memory", 0))

c2009 := lib.pass(sprintf("Memory=%d", [memory]), {"HostConfig.Memory": memory}) if {
	memory > 0
} else := lib.fail(sprintf("Memory=%d (unlimited)", [memory]), {"HostConfig.Memory": memory})

# 2010
cpu := {
	"HostConfig.CpuShares": lib.num(object.get(hc, "CpuShares", 0)),
	"HostConfig.NanoCpus": lib.num(object.get(hc, "NanoCpus", 0)),
	"HostConfig.CpuQuota": lib.num(object.get(hc, "CpuQuota", 0)),
}

c2010 := lib.pass(sprintf("CpuShares=%d, NanoCpus=%d, CpuQuota=%d", [cpu["HostConfig.CpuShares"], cpu["HostConfig.NanoCpus"], cpu["HostConfig.CpuQuota"]]), cpu) if {
	some v in cpu
	v > 0
} else := lib.fail(sprintf("CpuShares=%d, NanoCpus=%d, CpuQuota=%d", [cpu["HostConfig.CpuShares"], cpu["HostConfig.NanoCpus"], cpu["HostConfig.CpuQuota"]]), cpu)

# 2011
c2011 := lib.pass("ReadonlyRootfs=true", {"HostConfig.ReadonlyRootfs": true}) if {
	object.get(hc, "ReadonlyRootfs", false) == true
} else := lib.fail("ReadonlyRootfs=false", {"HostConfig.ReadonlyRootfs": false})

# 2013: always/unless-stopped fail whatever MaximumRetryCount says (pitfall D7).
restart_name := lib.str(object.get(hc, ["RestartPolicy", "Name"], ""))

restart_max := lib.num(object.get(hc, ["RestartPolicy", "MaximumRetryCount"], 0))

restart_ev := {"HostConfig.RestartPolicy.Name": restart_name, "HostConfig.RestartPolicy.MaximumRetryCount": restart_max}

c2013 := lib.pass(sprintf("RestartPolicy=%q (no restart)", [restart_name]), restart_ev) if {
	restart_name in {"", "no"}
} else := lib.pass(sprintf("RestartPolicy=on-failure:%d", [restart_max]), restart_ev) if {
	restart_name == "on-failure"
	restart_max >= 1
	restart_max <= 5
} else := lib.fail(sprintf("RestartPolicy=%s:%d", [restart_name, restart_max]), restart_ev)

# 2014, 2015, 2018, 2023: host namespaces.
ns_item(field) := lib.fail(sprintf("%s=host", [field]), {sprintf("HostConfig.%s", [field]): "host"}) if {
	lib.str(object.get(hc, field, "")) == "host"
} else := lib.pass(sprintf("%s=%q", [field, lib.str(object.get(hc, field, ""))]), {sprintf("HostConfig.%s", [field]): lib.str(object.get(hc, field, ""))})

c2014 := ns_item("PidMode")

c2015 := ns_item("IpcMode")

c2018 := ns_item("UTSMode")

c2023 := ns_item("UsernsMode")

# 2016
devices := lib.arr(object.get(hc, "Devices", []))

device_rules := lib.arr(object.get(hc, "DeviceCgroupRules", []))

c2016 := lib.fail(sprintf("%d devices, %d device cgroup rules", [count(devices), count(device_rules)]), {"HostConfig.Devices": [object.get(d, "PathOnHost", "") | some d in devices], "HostConfig.DeviceCgroupRules": device_rules}) if {
	count(devices) + count(device_rules) > 0
} else := lib.pass("Devices and DeviceCgroupRules empty", {})

# 2017
shared_mounts := {sprintf("%s (%s)", [object.get(m, "Destination", ""), m.Propagation]) |
	some m in mounts
	object.get(m, "Propagation", "") in {"shared", "rshared"}
}

c2017 := lib.fail(sprintf("shared propagation: %s", [concat(", ", sort(shared_mounts))]), {"Mounts": sort(shared_mounts)}) if {
	count(shared_mounts) > 0
} else := lib.pass("no shared mount propagation", {})

# 2019
seccomp_unconfined if {
	some tup in secopt_pairs
	k := tup[0]
	v := tup[1]
	k == "seccomp"
	v == "unconfined"
}

c2019 := lib.fail("HostConfig.Privileged=true (no seccomp)", {"HostConfig.Privileged": true}) if {
	object.get(hc, "Privileged", false) == true
} else := lib.fail("SecurityOpt seccomp=unconfined", {"HostConfig.SecurityOpt": security_opt}) if {
	seccomp_unconfined
} else := lib.pass("seccomp not disabled", {"HostConfig.SecurityOpt": security_opt})

# 2020: the value is parsed, "=false" is an opt-out (pitfall D8).
nnp_values := {v |
	some tup in secopt_pairs
	k := tup[0]
	raw := tup[1]
	k == "no-new-privileges"
	v := nnp_value(raw)
}

nnp_value("") := "true"

nnp_value(raw) := lower(raw) if raw != ""

daemon_nnp := object.get(input, ["host", "daemon_no_new_privileges"], false)

c2020 := lib.fail("SecurityOpt explicitly sets no-new-privileges=false", {"HostConfig.SecurityOpt": security_opt}) if {
	"false" in nnp_values
} else := lib.pass("SecurityOpt sets no-new-privileges", {"HostConfig.SecurityOpt": security_opt}) if {
	"true" in nnp_values
} else := lib.pass("daemon default no-new-privileges=true", {"daemon no-new-privileges": true}) if {
	daemon_nnp == true
} else := lib.fail("no-new-privileges not set on container or daemon", {"HostConfig.SecurityOpt": security_opt, "daemon no-new-privileges": daemon_nnp})

# 2021: HEALTHCHECK NONE is not a health check (pitfall D13).
health_test := lib.arr(object.get(cfg, ["Healthcheck", "Test"], []))

c2021 := lib.fail("Config.Healthcheck absent", {"Config.Healthcheck": null}) if {
	not is_object(object.get(cfg, "Healthcheck", null))
} else := lib.fail(sprintf("Config.Healthcheck.Test=%v", [health_test]), {"Config.Healthcheck.Test": health_test}) if {
	count(health_test) == 0
} else := lib.fail("Config.Healthcheck.Test=[NONE]", {"Config.Healthcheck.Test": health_test}) if {
	upper(health_test[0]) == "NONE"
} else := lib.pass(sprintf("Config.Healthcheck.Test=%v", [health_test]), {"Config.Healthcheck.Test": health_test, "State.Health.Status": object.get(c, ["State", "Health", "Status"], null)})

# 2022
pids_limit := object.get(hc, "PidsLimit", null)

c2022 := lib.pass(sprintf("PidsLimit=%d", [pids_limit]), {"HostConfig.PidsLimit": pids_limit}) if {
	is_number(pids_limit)
	pids_limit > 0
} else := lib.fail(sprintf("PidsLimit=%v (unlimited)", [pids_limit]), {"HostConfig.PidsLimit": pids_limit})

# 2024: AppArmorProfile is "" on hosts without AppArmor even when unconfined was asked for (pitfall E4).
apparmor_profile := lib.str(object.get(c, "AppArmorProfile", ""))

apparmor_unconfined if {
	some tup in secopt_pairs
	k := tup[0]
	v := tup[1]
	k == "apparmor"
	v == "unconfined"
}

apparmor_unconfined if apparmor_profile == "unconfined"

host_has(name) if {
	some o in host_secopts
	startswith(o, concat("", ["name=", name]))
}

c2024 := lib.fail("AppArmor explicitly unconfined", {"HostConfig.SecurityOpt": security_opt, "AppArmorProfile": apparmor_profile}) if {
	apparmor_unconfined
} else := lib.na("host does not use AppArmor (docker info SecurityOptions has no name=apparmor)") if {
	not host_has("apparmor")
} else := lib.pass(sprintf("AppArmorProfile=%s", [apparmor_profile]), {"AppArmorProfile": apparmor_profile}) if {
	apparmor_profile != ""
} else := lib.fail("AppArmorProfile empty on an AppArmor host", {"AppArmorProfile": apparmor_profile})

# 2025: Docker itself adds label=disable for privileged / host pid / host ipc (pitfalls D4, E1).
label_disabled if {
	some tup in secopt_pairs
	k := tup[0]
	v := tup[1]
	k == "label"
	v == "disable"
}

process_label := lib.str(object.get(c, "ProcessLabel", ""))

c2025 := lib.na("host does not use SELinux (docker info SecurityOptions has no name=selinux)") if {
	not host_has("selinux")
} else := lib.fail("SELinux labelling disabled (label=disable)", {"HostConfig.SecurityOpt": security_opt}) if {
	label_disabled
} else := lib.fail("ProcessLabel empty on an SELinux host", {"ProcessLabel": process_label}) if {
	process_label == ""
} else := lib.pass(sprintf("ProcessLabel=%s", [process_label]), {"ProcessLabel": process_label})

# 2026: "0:0", "root:root", "0:1000" are root (pitfall D3).
user := lib.str(object.get(cfg, "User", ""))

uid_part := split(user, ":")[0]

c2026 := lib.fail(sprintf("Config.User=%q runs as uid 0", [user]), {"Config.User": user}) if {
	uid_part in {"", "0", "root"}
} else := lib.fail(sprintf("Config.User=%q resolves to uid 0", [user]), {"Config.User": user, "uid": 0}) if {
	input.user_uid == 0
} else := lib.pass(sprintf("Config.User=%q", [user]), {"Config.User": user})

# 2027: names only in evidence, never the values.
secret_vars := lib.secret_env(object.get(cfg, "Env", []))

c2027 := lib.fail(sprintf("secret-looking variables with values: %s", [concat(", ", sort(secret_vars))]), {"Config.Env names": sort(secret_vars)}) if {
	count(secret_vars) > 0
} else := lib.pass("no secret-looking variable with a value", {})
