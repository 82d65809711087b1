#!/usr/bin/env bash
# Registry sync at scale: a private registry (Debian's docker-registry, its own port and storage, thrown
# away afterwards) holding TAGS tags over 10 repositories, pushed with skopeo from a few base images
# (blobs are shared, so each further tag is a manifest); then, through the API:
#   - SyncAssetImageRegistryAsset time (AddAssetImageRegistryRegistryDetail starts the first sync;
#     timed from the request to DescribeAssetImageRegistryAssetStatus leaving "doing", polled every 50 ms,
#     and as the server logs it: listing plus the database write) and the HTTP requests the registry
#     received per tag (its access log): cold (every manifest, and the configs of the images), again (full
#     mode: a HEAD per known tag, nothing pulled when unchanged) and incremental (SyncMode 1: known tags are
#     not asked at all);
#   - DescribeAssetImageRegistryList latency with TAGS rows (wrk, one pre-signed request, 2 connections):
#     default page, a 100-row page sorted by ImageCreateTime, and a filtered page; p50/p90/p99.
#   usage: bench/registry_sync.sh [TAGS=2000] [WRK_SECONDS=10]
#   env: SHIPSHAPE_BIN (default target/release/shipshape, target/debug when newer), SHIPSHAPE_TEST_PG
#        (also on PostgreSQL when set), BENCH_PUSH_JOBS (parallel skopeo copies, default 8)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.."
TAGS=${1:-2000}
WRK_SECONDS=${2:-10}
JOBS=${BENCH_PUSH_JOBS:-8}
BIN=${SHIPSHAPE_BIN:-}
if [ -z "$BIN" ]; then
  BIN=target/release/shipshape
  [ target/debug/shipshape -nt "$BIN" ] && BIN=target/debug/shipshape
fi
for tool in skopeo docker-registry wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }
done
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
echo "binary: $BIN ($(stat -c %y "$BIN" | cut -d. -f1))"
work=$(mktemp -d)
reg_pid=""
srv_pid=""
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- the registry and its tags ----
rport=$(free_port)
REG=127.0.0.1:$rport
cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: info, formatter: text}
storage: {filesystem: {rootdirectory: $work/registry-data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$rport}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -sf "http://$REG/v2/" >/dev/null && break; sleep 0.1; done

# Base images: the two test images of dockerd and two one-layer images made here.
bases=()
for img in shipshape-test/bookworm-app:1 shipshape-test/tiny:1; do
  docker image inspect "$img" >/dev/null 2>&1 && bases+=("docker-daemon:$img")
done
for n in 1 2; do
  mkdir -p "$work/layer$n/etc" && echo "bench base $n" >"$work/layer$n/etc/bench-release"
  tar -C "$work/layer$n" -cf "$work/layer$n.tar" etc
  docker import "$work/layer$n.tar" "shipshape-bench/base$n:$$" >/dev/null
  bases+=("docker-daemon:shipshape-bench/base$n:$$")
done
REPOS=10
per=$(( (TAGS + REPOS - 1) / REPOS ))
t0=$(date +%s)
for r in $(seq 0 $((REPOS - 1))); do
  b=${bases[$(( r % ${#bases[@]} ))]}
  skopeo copy -q --dest-tls-verify=false "$b" "docker://$REG/bench/app-$r:t0"
done
docker rmi -f "shipshape-bench/base1:$$" "shipshape-bench/base2:$$" >/dev/null 2>&1 || true
# Further tags: registry-to-registry copies within a repository (blobs present: manifests only). One
# writer per repository: docker-registry rewrites a manifest's revision link on every push of it, and
# a concurrent read of that link can see it half written (HTTP 500, "invalid checksum digest format").
seq 0 $((REPOS - 1)) | xargs -P "$JOBS" -I{} sh -c '
  r={}; t=1
  while [ "$t" -lt "$1" ] && [ $(( r * $1 + t )) -lt "$2" ]; do
    skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$0/bench/app-$r:t0" "docker://$0/bench/app-$r:t$t" || exit 1
    t=$((t + 1))
  done' "$REG" "$per" "$TAGS"
pushed=$(python3 - "$REG" <<'PY'
import json, sys, urllib.request
reg = sys.argv[1]
repos = json.load(urllib.request.urlopen(f"http://{reg}/v2/_catalog?n=1000"))["repositories"]
print(sum(len(json.load(urllib.request.urlopen(f"http://{reg}/v2/{r}/tags/list?n=10000"))["tags"]) for r in repos))
PY
)
echo "registry $REG: $pushed tags in $REPOS repositories from ${#bases[@]} base images, pushed in $(( $(date +%s) - t0 )) s"

run_one() {  # $1 label, $2 database URL or ""
  local label=$1 db=$2 dir=$work/$1 port
  port=$(free_port)
  local args=(--data-dir "$dir")
  [ -n "$db" ] && args+=(--database "$db")
  # A long inventory period: only the syncs the bench asks for run.
  RUST_LOG=info "$BIN" serve --listen "127.0.0.1:$port" --rate-limit 0 --ip-rate-limit 0 --db-update-every 0 \
    --inventory-every 36000 "${args[@]}" >"$work/$label.log" 2>&1 &
  srv_pid=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  echo "== $label"
  "$PY" - "$dir/credentials.json" "127.0.0.1:$port" "$REG" "$work/registry.log" "$work/$label.log" "$pushed" <<'PY'
import json, re, sys, time
sys.path.insert(0, "tests/e2e")
from conftest import Key, make_call
creds, endpoint, reg, reglog, srvlog, tags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
c = json.load(open(creds))
call = make_call(endpoint, Key(c["SecretId"], c["SecretKey"], c["AppId"]))

def log_lines(path):
    with open(path, errors="replace") as f:
        return f.read().splitlines()

def requests_now():
    # One access-log line per request the registry answered.
    return sum(1 for l in log_lines(reglog) if "response completed" in l)

def synced_lines():
    return [l for l in log_lines(srvlog) if "registry synced" in l]

def timed(label, start):
    before_req, before_lines = requests_now(), len(synced_lines())
    t0 = time.perf_counter()
    start()
    while True:
        s = call("DescribeAssetImageRegistryAssetStatus")
        if s["Status"] != "doing" and len(synced_lines()) > before_lines:
            break
        time.sleep(0.05)
    dt = time.perf_counter() - t0
    assert s["Status"] == "success", s
    time.sleep(0.5)  # the access log is written after the response
    n = requests_now() - before_req
    line = synced_lines()[-1]
    ms = int(re.search(r"elapsed_ms=(\d+)", line).group(1))
    got = {k: int(re.search(rf"{k}=(\d+)", line).group(1)) for k in ("tags", "manifests", "requests")}
    assert got["tags"] == tags, (got, tags)
    print(f"{label:<28} {dt:6.2f} s (server: {ms / 1000:6.2f} s)  registry requests {n:5d} = {n / tags:.2f}/tag "
          f"(manifests read {got['manifests']}, client count {got['requests']})")

body = {"Name": "bench", "Username": "", "Password": "", "Url": f"http://{reg}", "RegistryType": "other", "NetType": "public"}
rid = {}
timed("sync, cold (Add)", lambda: rid.setdefault("id", call("AddAssetImageRegistryRegistryDetail", body)["RegistryId"]))
timed("sync, full mode", lambda: call("SyncAssetImageRegistryAsset", {"RegistryIds": [rid["id"]]}))
timed("sync, incremental mode", lambda: call("UpdateAssetImageRegistryRegistryDetail", {**body, "RegistryId": rid["id"], "SyncMode": 1}))
total = call("DescribeAssetImageRegistryList", {"Limit": 1})["TotalCount"]
print(f"DescribeAssetImageRegistryList rows: {total}")
PY
  local i=0
  for b in '{}' '{"Limit": 100, "By": "ImageCreateTime", "Order": "DESC"}' \
           '{"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["app-3"]}, {"Name": "ScanStatus", "Values": ["NOT_SCAN"]}]}'; do
    i=$((i + 1))
    python3 bench/sign.py "$dir/credentials.json" "127.0.0.1:$port" DescribeAssetImageRegistryList "$b" >"$work/req$i.lua"
    echo "DescribeAssetImageRegistryList $b: wrk -t1 -c2 -d${WRK_SECONDS}s"
    wrk -t1 -c2 -d"${WRK_SECONDS}s" --latency -s "$work/req$i.lua" "http://127.0.0.1:$port/" \
      | awk '/API errors|Requests\/sec|Non-2xx|^ +50%|^ +90%|^ +99%/'
  done
  kill "$srv_pid"; wait "$srv_pid" 2>/dev/null || true; srv_pid=""
}

run_one sqlite ""
PG=${BENCH_PG:-${SHIPSHAPE_TEST_PG:-}}
if [ -n "$PG" ]; then
  name=shipshape_bench_regsync_$$
  psql "$PG" -qc "CREATE DATABASE $name"
  run_one postgres "$(python3 -c 'import sys;u=sys.argv[1];h,_,q=u.partition("?");s,_,r=h.partition("://");print(f"{s}://{r.split(chr(47),1)[0]}/{sys.argv[2]}"+(f"?{q}" if q else ""))' "$PG" "$name")"
  psql "$PG" -qc "DROP DATABASE $name" || true
else
  echo "== postgres: skipped (set SHIPSHAPE_TEST_PG or BENCH_PG)"
fi
