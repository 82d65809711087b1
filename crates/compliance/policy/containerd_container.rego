# containerd container items 6001-6010, over the OCI runtime spec.
# Input: {"namespace", "id", "spec": OCI runtime spec}
package shipshape.containerd_container

import data.shipshape.lib
import rego.v1

spec := lib.obj(object.get(input, "spec", {}))

linux := lib.obj(object.get(spec, "linux", {}))

process := lib.obj(object.get(spec, "process", {}))

bounding := {lib.norm_cap(x) | some x in lib.arr(object.get(process, ["capabilities", "bounding"], []))}

masked := lib.arr(object.get(linux, "maskedPaths", []))

readonly_paths := lib.arr(object.get(linux, "readonlyPaths", []))

# 6001
c6001 := lib.fail(sprintf("privileged spec: %d maskedPaths, %d readonlyPaths, %d capabilities", [count(masked), count(readonly_paths), count(bounding)]), {"maskedPaths": count(masked), "readonlyPaths": count(readonly_paths), "SYS_ADMIN in bounding": "SYS_ADMIN" in bounding}) if {
	count(masked) == 0
} else := lib.fail("readonlyPaths empty", {"readonlyPaths": 0}) if {
	count(readonly_paths) == 0
} else := lib.fail("CAP_SYS_ADMIN in bounding set", {"capabilities.bounding": sort(bounding)}) if {
	"SYS_ADMIN" in bounding
} else := lib.pass(sprintf("%d maskedPaths, %d readonlyPaths, no CAP_SYS_ADMIN", [count(masked), count(readonly_paths)]), {})

# 6002
dangerous := {"SYS_ADMIN", "NET_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "DAC_READ_SEARCH", "BPF"}

c6002 := lib.fail(sprintf("dangerous capabilities: %s", [concat(", ", sort(bounding & dangerous))]), {"capabilities.bounding": sort(bounding & dangerous)}) if {
	count(bounding & dangerous) > 0
} else := lib.pass(sprintf("%d capabilities, none dangerous", [count(bounding)]), {"capabilities.bounding": sort(bounding)})

# 6003: a missing network entry means host network; a path joins an existing namespace (pitfall E8).
namespaces := lib.arr(object.get(linux, "namespaces", []))

ns_types := {n.type | some n in namespaces}

missing_ns := {"pid", "ipc", "uts", "mount", "network"} - ns_types

joined_ns := {sprintf("%s=%s", [n.type, n.path]) | some n in namespaces; lib.str(object.get(n, "path", "")) != ""}

c6003 := lib.fail(sprintf("host namespaces: missing %v, joined %v", [sort(missing_ns), sort(joined_ns)]), {"missing": sort(missing_ns), "joined": sort(joined_ns)}) if {
	count(missing_ns) + count(joined_ns) > 0
} else := lib.pass("pid/ipc/uts/mount/network are private", {"namespaces": sort(ns_types)})

# 6004
uid := object.get(process, ["user", "uid"], 0)

c6004 := lib.fail("process.user.uid=0", {"process.user.uid": uid}) if {
	uid == 0
} else := lib.pass(sprintf("process.user.uid=%d", [uid]), {"process.user.uid": uid})

# 6005
c6005 := lib.pass("root.readonly=true", {"root.readonly": true}) if {
	object.get(spec, ["root", "readonly"], false) == true
} else := lib.fail("root.readonly unset or false", {"root.readonly": object.get(spec, ["root", "readonly"], null)})

# 6006
c6006 := lib.pass("noNewPrivileges=true", {"process.noNewPrivileges": true}) if {
	object.get(process, "noNewPrivileges", false) == true
} else := lib.fail("noNewPrivileges unset or false", {"process.noNewPrivileges": object.get(process, "noNewPrivileges", null)})

# 6007: ctr applies no seccomp without --seccomp (pitfall E7).
seccomp_action := object.get(linux, ["seccomp", "defaultAction"], null)

c6007 := lib.fail("no linux.seccomp", {"linux.seccomp": null}) if {
	seccomp_action == null
} else := lib.fail("seccomp defaultAction SCMP_ACT_ALLOW", {"linux.seccomp.defaultAction": seccomp_action}) if {
	seccomp_action == "SCMP_ACT_ALLOW"
} else := lib.pass(sprintf("seccomp defaultAction %s", [seccomp_action]), {"linux.seccomp.defaultAction": seccomp_action})

# 6008
mem := lib.num(object.get(linux, ["resources", "memory", "limit"], 0))

pids := lib.num(object.get(linux, ["resources", "pids", "limit"], 0))

c6008 := lib.pass(sprintf("memory %d, pids %d", [mem, pids]), {"memory.limit": mem, "pids.limit": pids}) if {
	mem > 0
	pids > 0
} else := lib.fail(sprintf("memory limit %d, pids limit %d", [mem, pids]), {"memory.limit": mem, "pids.limit": pids})

# 6009: runtime-managed hosts/hostname/resolv.conf binds are ignored (pitfall E6).
runtime_managed := {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}

sensitive_dirs := ["/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sys", "/usr", "/root", "/var/lib/docker"]

is_bind(m) if object.get(m, "type", "") == "bind"

is_bind(m) if {
	some o in lib.arr(object.get(m, "options", []))
	o in {"bind", "rbind"}
}

bad_mounts := {sprintf("%s -> %s", [src, m.destination]) |
	some m in lib.arr(object.get(spec, "mounts", []))
	is_bind(m)
	not m.destination in runtime_managed
	src := lib.clean_path(lib.str(object.get(m, "source", "")))
	bad_source(src)
}

bad_source(src) if src == "/"

bad_source(src) if {
	some d in sensitive_dirs
	lib.under(src, d)
}

bad_source(src) if lib.basename(src) in {"docker.sock", "containerd.sock"}

c6009 := lib.fail(sprintf("sensitive host paths mounted: %s", [concat(", ", sort(bad_mounts))]), {"mounts": sort(bad_mounts)}) if {
	count(bad_mounts) > 0
} else := lib.pass("no sensitive bind mount", {})

# 6010
secret_vars := lib.secret_env(object.get(process, "env", []))

c6010 := lib.fail(sprintf("secret-looking variables with values: %s", [concat(", ", sort(secret_vars))]), {"process.env names": sort(secret_vars)}) if {
	count(secret_vars) > 0
} else := lib.pass("no secret-looking variable with a value", {})
