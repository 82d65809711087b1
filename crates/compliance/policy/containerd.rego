# containerd host items 5001-5005.
# Input: {"config_path", "config": parsed config.toml ({} when absent), "config_error",
#         "files": {"socket": {path: stat}, "config": {path: stat}}, "audit": {..}}
package shipshape.containerd

import data.shipshape.lib
import rego.v1

conf := lib.obj(object.get(input, "config", {}))

c5001 := lib.audit_item(input.audit, "containerd")

c5002 := socket_item(lib.obj(input.files.socket))

socket_item(stats) := lib.err(concat("; ", lib.stat_errors(stats))) if {
	count(lib.stat_errors(stats)) > 0
} else := lib.err("containerd socket not found") if {
	count([1 | some _, st in stats; st.exists]) == 0
} else := lib.file_item(stats, 432, "containerd socket")

c5003 := lib.file_item(lib.obj(input.files.config), 420, "containerd config.toml")

# 5004
grpc := lib.obj(object.get(conf, "grpc", {}))

tcp_address := lib.str(object.get(grpc, "tcp_address", ""))

need_config(r) := lib.err(sprintf("config unreadable: %s", [input.config_error])) if {
	input.config_error
} else := r

c5004 := need_config(r5004)

r5004 := lib.pass("no gRPC TCP listener", {"grpc.tcp_address": tcp_address}) if {
	tcp_address == ""
} else := lib.pass(sprintf("gRPC TCP %s with TLS", [tcp_address]), {"grpc.tcp_address": tcp_address}) if {
	lib.str(object.get(grpc, "tcp_tls_cert", "")) != ""
	lib.str(object.get(grpc, "tcp_tls_key", "")) != ""
	lib.str(object.get(grpc, "tcp_tls_ca", "")) != ""
} else := lib.fail(sprintf("gRPC TCP listener %s without TLS client verification", [tcp_address]), {"grpc.tcp_address": tcp_address})

# 5005
cri := lib.obj(object.get(conf, ["plugins", "io.containerd.grpc.v1.cri"], {}))

cri_disabled if {
	some p in lib.arr(object.get(conf, "disabled_plugins", []))
	p in {"cri", "io.containerd.grpc.v1.cri"}
}

stream_addr := lib.str(object.get(cri, "stream_server_address", ""))

c5005 := need_config(r5005)

r5005 := lib.na("CRI plugin disabled (disabled_plugins)") if {
	cri_disabled
} else := lib.fail("CRI disable_apparmor=true", {"disable_apparmor": true}) if {
	object.get(cri, "disable_apparmor", false) == true
} else := lib.pass(sprintf("streaming on %q", [stream_addr]), {"stream_server_address": stream_addr}) if {
	stream_addr in {"", "127.0.0.1", "::1", "localhost"}
} else := lib.pass(sprintf("streaming on %s with TLS", [stream_addr]), {"stream_server_address": stream_addr}) if {
	object.get(cri, "enable_tls_streaming", false) == true
} else := lib.fail(sprintf("streaming server on %s without TLS", [stream_addr]), {"stream_server_address": stream_addr})
