# Docker image items 3001-3007 (CIS Docker Benchmark 1.6.0 section 4).
# Input: {"image": <docker image inspect>, "history": [{"CreatedBy": ..}], "setuid_files": [paths] or
#         "setuid_error": string, "created_unix": number, "now_unix": number, "max_age_days": number}
package shipshape.image

import data.shipshape.lib
import rego.v1

cfg := lib.obj(object.get(input.image, "Config", {}))

# 3001
user := lib.str(object.get(cfg, "User", ""))

c3001 := lib.fail(sprintf("Config.User=%q runs as root", [user]), {"Config.User": user}) if {
	split(user, ":")[0] in {"", "0", "root"}
} else := lib.pass(sprintf("Config.User=%q", [user]), {"Config.User": user})

# 3002
health_test := lib.arr(object.get(cfg, ["Healthcheck", "Test"], []))

c3002 := lib.fail("Config.Healthcheck absent", {"Config.Healthcheck": null}) if {
	not is_object(object.get(cfg, "Healthcheck", null))
} else := lib.fail(sprintf("Config.Healthcheck.Test=%v", [health_test]), {"Config.Healthcheck.Test": health_test}) if {
	count(health_test) == 0
} else := lib.fail("HEALTHCHECK NONE", {"Config.Healthcheck.Test": health_test}) if {
	upper(health_test[0]) == "NONE"
} else := lib.pass(sprintf("Healthcheck Test=%v", [health_test]), {"Config.Healthcheck.Test": health_test})

# History steps as [instruction, rest] (pitfalls D14, D15: parse the keyword, never a substring).
# Classic builder: "/bin/sh -c #(nop)  ADD file:.. in /x" (metadata) or "/bin/sh -c cmd" (RUN);
# BuildKit: "ADD x /y # buildkit", "RUN /bin/sh -c cmd # buildkit".
steps := [step(h) | some h in lib.arr(input.history); lib.str(object.get(h, "CreatedBy", "")) != ""]

step(h) := [upper(words[0]), trim_space(substring(body, count(words[0]), -1))] if {
	body := trim_space(trim_suffix(trim_space(strip_shell(lib.str(h.CreatedBy))), "# buildkit"))
	words := [w | some w in split(body, " "); w != ""]
	count(words) > 0
}

strip_shell(s) := trim_space(substring(s, indexof(s, "#(nop)") + 6, -1)) if {
	contains(s, "#(nop)")
} else := concat(" ", ["RUN", trim_prefix(s, "/bin/sh -c ")]) if {
	startswith(s, "/bin/sh -c ")
} else := s

# 3003: the base rootfs "ADD file:<sha> in / " of FROM scratch images is allowed.
add_steps := {rest |
	some tup in steps
	ins := tup[0]
	rest := tup[1]
	ins == "ADD"
	not regex.match(`^file:[0-9a-f]+ in /$`, trim_space(rest))
}

c3003 := lib.fail(sprintf("history uses ADD: %s", [concat("; ", sort(add_steps))]), {"history ADD": sort(add_steps)}) if {
	count(add_steps) > 0
} else := lib.pass(sprintf("%d history steps, no ADD", [count(steps)]), {})

# 3004
setuid := lib.arr(object.get(input, "setuid_files", []))

c3004 := lib.err(sprintf("image filesystem unreadable: %s", [input.setuid_error])) if {
	input.setuid_error
} else := lib.fail(sprintf("setuid/setgid files: %s", [concat(", ", setuid)]), {"files": setuid}) if {
	count(setuid) > 0
} else := lib.pass("no setuid/setgid regular file", {})

# 3005: Env, plus NAME=value in ENV/ARG/RUN history lines; names only in evidence.
env_secrets := lib.secret_env(object.get(cfg, "Env", []))

history_secrets := {m[1] |
	some tup in steps
	ins := tup[0]
	rest := tup[1]
	ins in {"ENV", "ARG", "RUN"}
	some m in regex.find_all_string_submatch_n(`([A-Za-z_][A-Za-z0-9_]*)=("[^"]+"|'[^']+'|[^ \t"']+)`, rest, -1)
	lib.secret_name(m[1])
}

all_secrets := env_secrets | history_secrets

c3005 := lib.fail(sprintf("secret-looking values in image: %s", [concat(", ", sort(all_secrets))]), {"Config.Env names": sort(env_secrets), "history names": sort(history_secrets)}) if {
	count(all_secrets) > 0
} else := lib.pass("no secret-looking variable in Env or history", {})

# 3006: a RUN step with a package index update and no install in the same step.
update_only := {rest |
	some tup in steps
	ins := tup[0]
	rest := tup[1]
	ins == "RUN"
	regex.match(`(^|[;&|( \t])(apt-get|apt|apk|yum|dnf|microdnf|zypper)[ \t]+(-[^ \t]+[ \t]+)*update([^a-z-]|$)`, rest)
	not regex.match(`(^|[;&|( \t])(apt-get|apt|apk|yum|dnf|microdnf|zypper)[ \t]+(-[^ \t]+[ \t]+)*(install|add)([^a-z-]|$)`, rest)
}

c3006 := lib.fail(sprintf("RUN step updates the package index without installing: %s", [concat("; ", sort(update_only))]), {"history RUN": sort(update_only)}) if {
	count(update_only) > 0
} else := lib.pass(sprintf("%d RUN steps, none updates alone", [count([1 | some tup in steps; tup[0] == "RUN"])]), {})

# 3007
age_days := (input.now_unix - input.created_unix) / 86400

c3007 := lib.err("image Created timestamp unavailable") if {
	not is_number(input.created_unix)
} else := lib.pass(sprintf("built %v days ago (limit %v)", [floor(age_days), input.max_age_days]), {"Created": object.get(input.image, "Created", ""), "age_days": floor(age_days)}) if {
	age_days <= input.max_age_days
} else := lib.fail(sprintf("built %v days ago (limit %v)", [floor(age_days), input.max_age_days]), {"Created": object.get(input.image, "Created", ""), "age_days": floor(age_days)})
