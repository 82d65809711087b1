# Kubernetes node items 4101-4607 (CIS Kubernetes Benchmark 1.9 numbering), read from node files the way
# kube-bench does, with its mistakes fixed (pitfalls K1-K6).
# Input: {"files": {"manifests"|"admin_conf"|"kubelet_config": {path: stat}},
#  "components": {"kube-apiserver"|"kube-controller-manager"|"kube-scheduler"|"etcd": {"flags": {flag: [values]}}},
#  "component_errors": {name: error}, "kubelet": {"flags": {..}, "config": {..}, "config_present": bool,
#  "config_error", "running": bool}, "pods": [{"source", "pod"}], "pods_error"}
package shipshape.k8s

import data.shipshape.lib
import rego.v1

files := lib.obj(object.get(input, "files", {}))

comps := lib.obj(object.get(input, "components", {}))

# 4101, 4102, 4501
c4101 := lib.file_item(lib.obj(files.manifests), 384, "control-plane manifests")

c4102 := lib.file_item(lib.obj(files.admin_conf), 384, "admin.conf")

c4501 := lib.file_item(lib.obj(files.kubelet_config), 384, "kubelet config file")

# Component flag items: NOT_APPLICABLE when the component has no manifest on this node, ERROR when
# the manifest could not be read.
component(name, r) := lib.err(sprintf("%s manifest unreadable: %s", [name, input.component_errors[name]])) if {
	input.component_errors[name]
} else := lib.na(sprintf("no %s static pod on this node", [name])) if {
	not comps[name]
} else := r

f(name, fl) := lib.flag(lib.obj(comps[name].flags), fl)

ftext(name, fl) := v if v := f(name, fl)

ftext(name, fl) := "unset" if not f(name, fl)

api := "kube-apiserver"

# 4201
c4201 := component(api, r4201)

r4201 := lib.pass("--anonymous-auth=false", {"--anonymous-auth": "false"}) if {
	f(api, "anonymous-auth") == "false"
} else := lib.fail(sprintf("--anonymous-auth=%s (default true)", [ftext(api, "anonymous-auth")]), {"--anonymous-auth": ftext(api, "anonymous-auth")})

# 4202
c4202 := component(api, r4202)

r4202 := lib.fail(sprintf("--token-auth-file=%s", [f(api, "token-auth-file")]), {"--token-auth-file": f(api, "token-auth-file")}) if {
	f(api, "token-auth-file")
} else := lib.pass("--token-auth-file not set", {})

# 4203
authz_modes := {m | some m in split(ftext(api, "authorization-mode"), ",")}

c4203 := component(api, r4203)

r4203 := lib.pass(sprintf("--authorization-mode=%s", [ftext(api, "authorization-mode")]), {"--authorization-mode": ftext(api, "authorization-mode")}) if {
	"Node" in authz_modes
	"RBAC" in authz_modes
	not "AlwaysAllow" in authz_modes
} else := lib.fail(sprintf("--authorization-mode=%s", [ftext(api, "authorization-mode")]), {"--authorization-mode": ftext(api, "authorization-mode")})

# 4204
enabled_plugins := {m | some m in split(ftext(api, "enable-admission-plugins"), ",")}

disabled_plugins := {m | some m in split(ftext(api, "disable-admission-plugins"), ",")}

adm_ev := {"--enable-admission-plugins": ftext(api, "enable-admission-plugins"), "--disable-admission-plugins": ftext(api, "disable-admission-plugins")}

c4204 := component(api, r4204)

r4204 := lib.pass("NodeRestriction enabled, AlwaysAdmit absent", adm_ev) if {
	"NodeRestriction" in enabled_plugins
	not "AlwaysAdmit" in enabled_plugins
	not "NodeRestriction" in disabled_plugins
} else := lib.fail("NodeRestriction not enabled or AlwaysAdmit enabled", adm_ev)

# 4205
c4205 := component(api, r4205)

r4205 := lib.pass("--profiling=false", {"--profiling": "false"}) if {
	f(api, "profiling") == "false"
} else := lib.fail(sprintf("--profiling=%s (default true)", [ftext(api, "profiling")]), {"--profiling": ftext(api, "profiling")})

# 4206
num_flag(name, fl) := to_number(f(name, fl)) if f(name, fl)

num_flag(name, fl) := 0 if not f(name, fl)

audit_ev := {sprintf("--%s", [fl]): ftext(api, fl) | some fl in ["audit-log-path", "audit-log-maxage", "audit-log-maxbackup", "audit-log-maxsize"]}

c4206 := component(api, r4206)

r4206 := lib.pass("audit log with retention", audit_ev) if {
	ftext(api, "audit-log-path") != "unset"
	num_flag(api, "audit-log-maxage") >= 30
	num_flag(api, "audit-log-maxbackup") >= 10
	num_flag(api, "audit-log-maxsize") >= 100
} else := lib.fail("audit log path or retention missing", audit_ev)

# 4207
tls_flags := ["tls-cert-file", "tls-private-key-file", "client-ca-file", "kubelet-certificate-authority"]

missing_tls := [fl | some fl in tls_flags; not non_empty(api, fl)]

non_empty(name, fl) if f(name, fl) != ""

c4207 := component(api, r4207)

r4207 := lib.fail(sprintf("missing: %s", [concat(", ", missing_tls)]), {"missing": missing_tls}) if {
	count(missing_tls) > 0
} else := lib.pass("TLS, client CA and kubelet CA set", {})

# 4301: both components; a component absent from the node is skipped, both absent = NOT_APPLICABLE.
cm_sched := [n | some n in ["kube-controller-manager", "kube-scheduler"]; comps[n]]

bad_4301 := {sprintf("%s --profiling=%s --bind-address=%s", [n, ftext(n, "profiling"), ftext(n, "bind-address")]) |
	some n in cm_sched
	not good_4301(n)
}

good_4301(n) if {
	f(n, "profiling") == "false"
	f(n, "bind-address") == "127.0.0.1"
}

c4301 := lib.na("no controller-manager or scheduler static pod on this node") if {
	count(cm_sched) == 0
} else := lib.fail(concat("; ", sort(bad_4301)), {"findings": sort(bad_4301)}) if {
	count(bad_4301) > 0
} else := lib.pass(sprintf("%v: profiling off, bound to 127.0.0.1", [cm_sched]), {})

# 4302
cm := "kube-controller-manager"

c4302 := component(cm, r4302)

r4302 := lib.pass("--use-service-account-credentials=true", {"--use-service-account-credentials": "true"}) if {
	f(cm, "use-service-account-credentials") == "true"
} else := lib.fail(sprintf("--use-service-account-credentials=%s", [ftext(cm, "use-service-account-credentials")]), {"--use-service-account-credentials": ftext(cm, "use-service-account-credentials")})

# 4401, 4402
etcd_item(prefix) := r if {
	ev := {sprintf("--%s%s", [prefix, fl]): ftext("etcd", concat("", [prefix, fl])) | some fl in ["cert-file", "key-file", "client-cert-auth", "auto-tls"]}
	r := etcd_verdict(prefix, ev)
}

etcd_verdict(prefix, ev) := lib.pass(sprintf("%scert/key set, %sclient-cert-auth=true, no %sauto-tls", [prefix, prefix, prefix]), ev) if {
	non_empty("etcd", concat("", [prefix, "cert-file"]))
	non_empty("etcd", concat("", [prefix, "key-file"]))
	f("etcd", concat("", [prefix, "client-cert-auth"])) == "true"
	not f("etcd", concat("", [prefix, "auto-tls"])) == "true"
} else := lib.fail(sprintf("etcd %sTLS incomplete or %sauto-tls on", [prefix, prefix]), ev)

c4401 := component("etcd", etcd_item(""))

c4402 := component("etcd", etcd_item("peer-"))

# 4502-4505: effective kubelet settings = flag, else config file, else the default for how the kubelet
# is configured (pitfalls K2, K5).
kubelet := lib.obj(object.get(input, "kubelet", {}))

kflags := lib.obj(object.get(kubelet, "flags", {}))

kconf := lib.obj(object.get(kubelet, "config", {}))

has_config := object.get(kubelet, "config_present", false)

kubelet_item(r) := lib.err(sprintf("kubelet config unreadable: %s", [kubelet.config_error])) if {
	kubelet.config_error
} else := lib.na("no kubelet on this node (no config file, no process)") if {
	not has_config
	not kubelet.running
} else := r

effective(flag_name, conf_path, default_with_config, default_flags_only) := [v, "flag"] if {
	v := lib.flag(kflags, flag_name)
} else := [sprintf("%v", [v]), "config"] if {
	v := object.get(kconf, conf_path, null)
	v != null
} else := [default_with_config, "default (config file)"] if {
	has_config
} else := [default_flags_only, "default (flags only)"]

anon := effective("anonymous-auth", ["authentication", "anonymous", "enabled"], "false", "true")

c4502 := kubelet_item(r4502)

r4502 := lib.pass(sprintf("anonymous auth %s (%s)", anon), {"anonymous": anon[0], "source": anon[1]}) if {
	anon[0] == "false"
} else := lib.fail(sprintf("anonymous auth %s (%s)", anon), {"anonymous": anon[0], "source": anon[1]})

kauthz := effective("authorization-mode", ["authorization", "mode"], "Webhook", "AlwaysAllow")

c4503 := kubelet_item(r4503)

r4503 := lib.pass(sprintf("authorization mode %s (%s)", kauthz), {"mode": kauthz[0], "source": kauthz[1]}) if {
	kauthz[0] == "Webhook"
} else := lib.fail(sprintf("authorization mode %s (%s)", kauthz), {"mode": kauthz[0], "source": kauthz[1]})

ro_port := effective("read-only-port", ["readOnlyPort"], "0", "10255")

c4504 := kubelet_item(r4504)

r4504 := lib.pass(sprintf("readOnlyPort %s (%s)", ro_port), {"readOnlyPort": ro_port[0], "source": ro_port[1]}) if {
	to_number(ro_port[0]) == 0
} else := lib.fail(sprintf("readOnlyPort %s (%s)", ro_port), {"readOnlyPort": ro_port[0], "source": ro_port[1]})

pid_limit := effective("pod-max-pids", ["podPidsLimit"], "-1", "-1")

c4505 := kubelet_item(r4505)

r4505 := lib.pass(sprintf("podPidsLimit %s (%s)", pid_limit), {"podPidsLimit": pid_limit[0], "source": pid_limit[1]}) if {
	to_number(pid_limit[0]) > 0
} else := lib.fail(sprintf("podPidsLimit %s (%s): unlimited", pid_limit), {"podPidsLimit": pid_limit[0], "source": pid_limit[1]})

# 4601-4607: workload pod specs (kube-bench leaves these manual, pitfall K6). Container-level
# securityContext overrides the pod level.
pods := lib.arr(object.get(input, "pods", []))

pod_item(findings, what) := lib.err(sprintf("pod specs unreadable: %s", [input.pods_error])) if {
	input.pods_error
} else := lib.na("no workload pod specs on this node") if {
	count(pods) == 0
} else := lib.fail(concat("; ", sort(findings)), {"findings": sort(findings)}) if {
	count(findings) > 0
} else := lib.pass(sprintf("%d pods: %s", [count(pods), what]), {"pods": [p.source | some p in pods]})

pod_name(p) := sprintf("%s/%s", [object.get(p.pod, ["metadata", "namespace"], "default"), object.get(p.pod, ["metadata", "name"], p.source)])

pod_spec(p) := lib.obj(object.get(p.pod, "spec", {}))

containers_of(p) := array.concat(array.concat(lib.arr(object.get(pod_spec(p), "initContainers", [])), lib.arr(object.get(pod_spec(p), "containers", []))), lib.arr(object.get(pod_spec(p), "ephemeralContainers", [])))

# [pod label, container, container securityContext, pod securityContext]
pod_containers := [[pod_name(p), ctr, lib.obj(object.get(ctr, "securityContext", {})), lib.obj(object.get(pod_spec(p), "securityContext", {}))] |
	some p in pods
	some ctr in containers_of(p)
]

cname(pn, ctr) := sprintf("%s[%s]", [pn, object.get(ctr, "name", "?")])

f4601 := {sprintf("%s privileged", [cname(tup[0], tup[1])]) |
	some tup in pod_containers
	object.get(tup[2], "privileged", false) == true
}

c4601 := pod_item(f4601, "no privileged container")

f4602 := {sprintf("%s %s=true", [pod_name(p), k]) | some p in pods; some k in ["hostPID", "hostIPC", "hostNetwork"]; object.get(pod_spec(p), k, false) == true}

c4602 := pod_item(f4602, "no host namespaces")

f4603 := {sprintf("%s allowPrivilegeEscalation=%v", [cname(pn, ctr), object.get(sc, "allowPrivilegeEscalation", "unset (true)")]) |
	some tup in pod_containers
	pn := tup[0]
	ctr := tup[1]
	sc := tup[2]
	object.get(sc, "allowPrivilegeEscalation", true) != false
}

c4603 := pod_item(f4603, "allowPrivilegeEscalation false everywhere")

# Effective value: container level if set, else pod level.
eff(sc, psc, k) := sc[k] if {
	sc[k] != null
} else := psc[k] if {
	psc[k] != null
}

run_as_root(sc, psc) if eff(sc, psc, "runAsUser") == 0

run_as_root(sc, psc) if {
	not eff(sc, psc, "runAsNonRoot") == true
	not eff(sc, psc, "runAsUser") > 0
}

f4604 := {sprintf("%s runAsUser=%v runAsNonRoot=%v", [cname(pn, ctr), object.get(sc, "runAsUser", object.get(psc, "runAsUser", "unset")), object.get(sc, "runAsNonRoot", object.get(psc, "runAsNonRoot", "unset"))]) |
	some tup in pod_containers
	pn := tup[0]
	ctr := tup[1]
	sc := tup[2]
	psc := tup[3]
	run_as_root(sc, psc)
}

c4604 := pod_item(f4604, "every container runs as non-root")

f4605 := {sprintf("%s adds %v, drops %v", [cname(pn, ctr), adds, drops]) |
	some tup in pod_containers
	pn := tup[0]
	ctr := tup[1]
	sc := tup[2]
	adds := {lib.norm_cap(x) | some x in lib.arr(object.get(sc, ["capabilities", "add"], []))}
	drops := {lib.norm_cap(x) | some x in lib.arr(object.get(sc, ["capabilities", "drop"], []))}
	not caps_good(adds, drops)
}

caps_good(adds, drops) if {
	count(adds) == 0
	count(drops & {"ALL", "NET_RAW"}) > 0
}

c4605 := pod_item(f4605, "NET_RAW dropped, nothing added")

f4606 := {sprintf("%s volume %s hostPath %s", [pod_name(p), object.get(v, "name", "?"), object.get(v, ["hostPath", "path"], "?")]) |
	some p in pods
	some v in lib.arr(object.get(pod_spec(p), "volumes", []))
	v.hostPath
}

c4606 := pod_item(f4606, "no hostPath volumes")

f4607 := {sprintf("%s seccompProfile=%v", [cname(pn, ctr), t]) |
	some tup in pod_containers
	pn := tup[0]
	ctr := tup[1]
	sc := tup[2]
	psc := tup[3]
	t := seccomp_type(sc, psc)
	not t in {"RuntimeDefault", "Localhost"}
}

seccomp_type(sc, psc) := t if {
	t := eff(sc, psc, "seccompProfile").type
} else := "unset"

c4607 := pod_item(f4607, "seccomp RuntimeDefault or Localhost everywhere")
