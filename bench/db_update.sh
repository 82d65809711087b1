#!/usr/bin/env bash
# `shipshape db update` from a local mirror in the upstream layouts: ../shared/vulndata's OSV
# folders repackaged as <Ecosystem>/all.zip + ecosystems.txt (OSV's bucket), its Alpine secdb as
# <branch>/main.json, community.json + an index page, served by `python3 -m http.server` on
# 127.0.0.1 (Last-Modified / If-Modified-Since, no ETag). Reports wall time and peak RSS of a full
# update into a fresh data dir, then of a no-op second update (every request answered 304).
# Targets: full ≤ 10 s and ≤ 200 MB; no-op ≤ 1 s.
# Usage: bench/db_update.sh   (SHIPSHAPE_BIN=... picks the binary; default: the release build if
# present, else the debug one)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHIPSHAPE_SHARED:-$REPO/../shared}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
BIN="${SHIPSHAPE_BIN:-}"
if [ -z "$BIN" ]; then
    if [ -x "$TARGET/release/shipshape" ]; then BIN="$TARGET/release/shipshape"; else BIN="$TARGET/debug/shipshape"; fi
fi
[ -x "$BIN" ] || { echo "no shipshape binary at $BIN: cargo build --release -p shipshape" >&2; exit 2; }
WORK="$(mktemp -d)"
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT

# The mirror. The Node.js security-wg files and Debian DSA/DLA lists are not OSV and have no
# upstream feed of that shape: left out.
python3 - "$SHARED/vulndata" "$WORK/mirror" <<'EOF'
import os, shutil, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
osv = os.path.join(dst, "osv")
ecos = sorted(os.listdir(os.path.join(src, "osv")))
for e in ecos:
    os.makedirs(os.path.join(osv, e))
    d = os.path.join(src, "osv", e)
    with zipfile.ZipFile(os.path.join(osv, e, "all.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(os.listdir(d)):
            if f.endswith(".json"):
                z.write(os.path.join(d, f), f)
with open(os.path.join(osv, "ecosystems.txt"), "w") as f:
    f.write("".join(e + "\n" for e in ecos) + "Debian:12\nAndroid\n")
alpine = os.path.join(dst, "alpine")
branches = sorted(os.listdir(os.path.join(src, "alpine")))
for b in branches:
    shutil.copytree(os.path.join(src, "alpine", b), os.path.join(alpine, b))
with open(os.path.join(alpine, "index.html"), "w") as f:
    f.write("<html><body><pre>\n" + "".join(f'<a href="{b}/">{b}/</a>\n' for b in branches + ["edge"]) + "</pre></body></html>\n")
zips = sum(os.path.getsize(os.path.join(osv, e, "all.zip")) for e in ecos)
print(f"mirror: {len(ecos)} OSV ecosystems ({zips / 2**20:.1f} MiB of all.zip), {len(branches)} Alpine branches")
EOF

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/mirror" "$PORT" >/dev/null 2>&1 &
SERVER=$!
for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/osv/ecosystems.txt')" 2>/dev/null && break
    sleep 0.1
done

# Runs the update once; prints "wall_s peak_rss_kib". /usr/bin/time -v when installed, else
# the process's VmHWM polled from /proc until it exits.
measure() {
    local log="$WORK/update.log"
    local cmd=("$BIN" --data-dir "$WORK/data" db update --osv-url "http://127.0.0.1:$PORT/osv"
        --alpine-secdb-url "http://127.0.0.1:$PORT/alpine" --format json)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "${cmd[@]}" >"$WORK/update.json" 2>"$log" || { cat "$log" >&2; exit 1; }
        local wall rss
        wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$log")"
        rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")"
        echo "$wall $rss"
    else
        local start end pid hwm=0 h
        start="$(date +%s.%N)"
        "${cmd[@]}" >"$WORK/update.json" 2>"$log" &
        pid=$!
        while h="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null)" && [ -n "$h" ]; do
            hwm="$h"
            sleep 0.02
        done
        wait "$pid" || { cat "$log" >&2; exit 1; }
        end="$(date +%s.%N)"
        echo "$(awk "BEGIN {print $end - $start}") $hwm"
    fi
}

outcomes() {
    python3 -c 'import collections, json, sys; print(dict(collections.Counter(f["outcome"] for f in json.load(open(sys.argv[1]))["feeds"])))' "$WORK/update.json"
}

echo "binary: $BIN"
read -r wall rss <<<"$(measure)"
printf 'full update:  wall %.2f s, peak RSS %d MiB   (target <= 10 s, <= 200 MB)   feeds %s\n' "$wall" "$((rss / 1024))" "$(outcomes)"
"$BIN" --data-dir "$WORK/data" db status --format json |
    python3 -c 'import json, sys; s = json.load(sys.stdin); print("  stored: %d advisories in %d feeds" % (s["total"], len(s["feeds"])))'
read -r wall rss <<<"$(measure)"
printf 'no-op update: wall %.2f s, peak RSS %d MiB   (target <= 1 s)   feeds %s\n' "$wall" "$((rss / 1024))" "$(outcomes)"
