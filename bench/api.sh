#!/usr/bin/env bash
# Throughput and latency of DescribeAssetImageScanSetting through the whole stack (TC3 verification,
# key lookup + decryption, rate-limit bookkeeping, settings read, envelope), on SQLite and, when
# SHIPSHAPE_TEST_PG (or BENCH_PG) is set, PostgreSQL. Uses wrk (Debian package `wrk`) with one
# pre-signed request: TC3 signatures stay valid for 300 s and a read is never refused as a replay (only
# actions that change state are; their check's cost: `cargo test -p store --lib seen_signatures::tests::cost
# -- --ignored --nocapture`).
#   usage: bench/api.sh [--tls] [DURATION_SECONDS=10] [CONNECTIONS=32]
# --tls: SQLite over plain HTTP, then the same over HTTPS (`serve --tls-cert/--tls-key`, a P-256 certificate
# made here; wrk keeps its connections, so this is the steady cost of TLS records, not of handshakes).
# Builds the release binary in $CARGO_TARGET_DIR (default target/). The rate limits (per account and
# action, per client address) are disabled (0). Each run also prints the load average before it (the
# machine is shared: wrk's tail is mostly time the server or wrk waited for a CPU) and the server's own
# p50/p99 from its /metrics histogram (time inside the API layers, over all its requests, the 1 s
# sanity run included; buckets 0.25 ms × 2^k, so "≤").
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
TLS=0
if [ "${1:-}" = --tls ]; then TLS=1; shift; fi
DURATION=${1:-10}
CONNS=${2:-32}
THREADS=${BENCH_THREADS:-2}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
PY=$REPO/.venv/bin/python
[ -x "$PY" ] || PY=python3
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }

# SHIPSHAPE_BIN overrides the binary (e.g. a debug build when a release build is not at hand).
if [ -z "${SHIPSHAPE_BIN:-}" ]; then cargo build --release -p shipshape >&2; fi
BIN=${SHIPSHAPE_BIN:-$TARGET/release/shipshape}
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

run_one() {  # $1 = label, $2 = database URL or "", $3 = http (default) or https
  local label=$1 db=$2 scheme=${3:-http} dir=$WORK/$1 port
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  local args=(--data-dir "$dir")
  [ -n "$db" ] && args+=(--database "$db")
  if [ "$scheme" = https ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.pem" \
      -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
    args+=(--tls-cert "$WORK/tls.pem" --tls-key "$WORK/tls.key")
  fi
  RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$port" --rate-limit 0 --ip-rate-limit 0 "${args[@]}" 2>"$WORK/$label.log" &
  PID=$!
  for _ in $(seq 1 100); do curl -skf "$scheme://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  python3 "$HERE/sign.py" "$dir/credentials.json" "127.0.0.1:$port" DescribeAssetImageScanSetting > "$WORK/req.lua"
  # Sanity: the pre-signed request succeeds.
  wrk -t1 -c1 -d1s -s "$WORK/req.lua" "$scheme://127.0.0.1:$port/" >/dev/null
  echo "== $label: wrk -t$THREADS -c$CONNS -d${DURATION}s $scheme (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$WORK/req.lua" "$scheme://127.0.0.1:$port/" \
    | awk '/API errors|Requests\/sec|Non-2xx|Socket errors|^ +50%|^ +75%|^ +90%|^ +99%|requests in/'
  curl -sk "$scheme://127.0.0.1:$port/metrics" | "$PY" "$HERE/server_latency.py" DescribeAssetImageScanSetting \
    || echo "server-side: not read (the parser is prometheus_client, in the e2e venv)"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}

echo "binary: $BIN"
if [ "$TLS" = 1 ]; then
  run_one sqlite-plain "" http
  run_one sqlite-tls "" https
  exit 0
fi
run_one sqlite ""
PG=${BENCH_PG:-${SHIPSHAPE_TEST_PG:-}}
if [ -n "$PG" ]; then
  name=shipshape_bench_$$
  psql "$PG" -qc "CREATE DATABASE $name"
  run_one postgres "$(python3 -c 'import sys;u=sys.argv[1];h,_,q=u.partition("?");s,_,r=h.partition("://");print(f"{s}://{r.split(chr(47),1)[0]}/{sys.argv[2]}"+(f"?{q}" if q else ""))' "$PG" "$name")"
  psql "$PG" -qc "DROP DATABASE $name" || true
else
  echo "== postgres: skipped (set SHIPSHAPE_TEST_PG or BENCH_PG)"
fi
