# Shared helpers for every Shipshape compliance family. Each item rule returns
# {"result": "PASSED"|"FAILED"|"NOT_APPLICABLE"|"ERROR", "reason": string, "evidence": object}.
# ERROR means an input the item needs could not be collected: the item ends CHECK_FAILED.
package shipshape.lib

import rego.v1

pass(reason, ev) := {"result": "PASSED", "reason": reason, "evidence": ev}

fail(reason, ev) := {"result": "FAILED", "reason": reason, "evidence": ev}

na(reason) := {"result": "NOT_APPLICABLE", "reason": reason, "evidence": {}}

err(reason) := {"result": "ERROR", "reason": reason, "evidence": {}}

# Docker stores unset lists as null (pitfall E3): treat anything that is not an array as empty.
arr(x) := x if is_array(x)

arr(x) := [] if not is_array(x)

obj(x) := x if is_object(x)

obj(x) := {} if not is_object(x)

str(x) := x if is_string(x)

str(x) := "" if not is_string(x)

num(x) := x if is_number(x)

num(x) := 0 if not is_number(x)

# Capability names as users write them: "sys_admin", "CAP_SYS_ADMIN" -> "SYS_ADMIN" (pitfall D12).
norm_cap(c) := trim_prefix(upper(c), "CAP_")

# p is equal to base or below it ("/etcd" is not under "/etc").
under(p, base) if p == base

under(p, base) if startswith(p, concat("", [trim_suffix(base, "/"), "/"]))

clean_path(p) := "/" if p == "/"

clean_path(p) := trim_suffix(p, "/") if p != "/"

basename(p) := parts[count(parts) - 1] if parts := split(clean_path(p), "/")

# Mode is compared bitwise as octal, never as a decimal number (pitfall D2).
mode_ok(st, allowed) if bits.and(st.mode, bits.negate(allowed)) == 0

owner_root(st) if {
	st.uid == 0
	st.gid == 0
}

# Evidence text for a stat: "/etc/docker 0755 root:root".
stat_text(path, st) := sprintf("%s %s %s:%s", [path, st.mode_octal, st.owner, st.group])

# The offending stats among {path: stat} for an allowed mode and root:root ownership.
bad_stats(stats, allowed) := {stat_text(p, st) |
	some p, st in stats
	st.exists
	not stat_good(st, allowed)
}

stat_good(st, allowed) if {
	mode_ok(st, allowed)
	owner_root(st)
}

stat_errors(stats) := {sprintf("%s: %s", [p, st.error]) |
	some p, st in stats
	st.error
}

# File-permission item over a set of stats: ERROR if any stat could not be read, NOT_APPLICABLE if none
# of the files exists.
file_item(stats, allowed, what) := err(concat("; ", stat_errors(stats))) if {
	count(stat_errors(stats)) > 0
} else := na(sprintf("%s not present", [what])) if {
	count([p | some p, st in stats; st.exists]) == 0
} else := fail(sprintf("%s too permissive or not root:root: %s", [what, concat(", ", sort(bad_stats(stats, allowed)))]), {"files": sort(bad_stats(stats, allowed))}) if {
	count(bad_stats(stats, allowed)) > 0
} else := pass(sprintf("%s: %s", [what, concat(", ", sort([stat_text(p, st) | some p, st in stats; st.exists]))]), {"files": sort([stat_text(p, st) | some p, st in stats; st.exists])})

# Environment variable names that look like secrets (items 2027, 3005, 6010).
# lower() instead of (?i): regorus builds regex without Unicode case tables.
secret_name(name) if regex.match(`(passw|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)`, lower(name))

# "NAME=value" entries with a secret-looking name and a non-empty value; reports names only.
secret_env(env) := {name |
	some e in arr(env)
	is_string(e)
	i := indexof(e, "=")
	i > 0
	name := substring(e, 0, i)
	secret_name(name)
	count(substring(e, i + 1, -1)) > 0
}

# Effective value of a flag in a parsed argv ({flag: [values]}): the last occurrence wins (pitfall K1).
flag(flags, name) := v if {
	vals := object.get(flags, name, [])
	count(vals) > 0
	v := vals[count(vals) - 1]
}

# The audit rules that watch a path: `-w <path>` or `-F path=<path>` / `-F dir=<path>` (pitfall D22).
audit_watches(rules) := {p |
	some line in arr(rules)
	not startswith(trim_space(line), "#")
	toks := [t | some t in split(trim_space(line), " "); t != ""]
	some i, t in toks
	t == "-w"
	p := clean_path(toks[i + 1])
} | {p |
	some line in arr(rules)
	not startswith(trim_space(line), "#")
	toks := [t | some t in split(trim_space(line), " "); t != ""]
	some i, t in toks
	t == "-F"
	kv := split(toks[i + 1], "=")
	kv[0] in {"path", "dir"}
	p := clean_path(kv[1])
}

audit_item(audit, what) := err(audit.error) if {
	audit.error
} else := fail(sprintf("no audit rules found for %s", [what]), {"rules_sources": audit.sources, "paths": audit.paths}) if {
	count(arr(audit.rules)) == 0
} else := fail(sprintf("paths without an audit watch: %s", [concat(", ", sort(unwatched(audit)))]), {"unwatched": sort(unwatched(audit))}) if {
	count(unwatched(audit)) > 0
} else := pass(sprintf("all %d paths are watched", [count(audit.paths)]), {"paths": audit.paths})

unwatched(audit) := {p | some p in audit.paths; not clean_path(p) in audit_watches(audit.rules)}
