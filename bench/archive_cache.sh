#!/usr/bin/env bash
# docker-archive index cache: `image sbom docker-archive:FILE` cold (empty cache), warm (layer
# and archive indexes cached: the tar is not opened), warm after `touch` (the archive index is
# invalid: every tar header is read again to find manifest.json, layers still cached), each
# with the archive's pages in the page cache and evicted (posix_fadvise DONTNEED on that file
# only). Trivy (its own cache, second run warm) on the same archives in the same run.
#   bench/archive_cache.sh [DOCKER_ARCHIVE]   default: $SHIPSHAPE_TESTIMAGES/bookworm-app.docker.tar
# Env: LAYERS (default 40), LAYER_MB (default 10): the generated archive (docker save shape,
# manifest.json last); SHIPSHAPE (default target/debug/shipshape), TRIVY (.peers/bin/trivy).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHIPSHAPE=${SHIPSHAPE:-$ROOT/target/debug/shipshape}
TRIVY=${TRIVY:-$ROOT/.peers/bin/trivy}
[ -x "$SHIPSHAPE" ] || cargo build -q -p shipshape
WORK=$(mktemp -d "${TMPDIR:-/tmp}/archive-cache-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
evict() { python3 -c 'import os,sys; fd=os.open(sys.argv[1],os.O_RDONLY); os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)' "$1"; }
# t LABEL PREP CMD...: REPS (default 3) runs, each after PREP (a shell snippet: evict, touch);
# prints the median wall time, every run's wall, and the last run's peak RSS and fs inputs.
t() {
  local label=$1 prep=$2 walls=() out; shift 2
  for _ in $(seq "${REPS:-3}"); do
    eval "$prep"
    out=$(/usr/bin/time -f "%e %M %I" "$@" 2>&1 >/dev/null | tail -1)
    walls+=("${out%% *}")
  done
  local sorted; sorted=$(printf '%s\n' "${walls[@]}" | sort -n)
  echo "$label: median wall $(echo "$sorted" | sed -n "$(((${#walls[@]} + 1) / 2))p") s (runs: ${walls[*]}), peak RSS $(echo "$out" | cut -d' ' -f2) KB, fs inputs $(echo "$out" | cut -d' ' -f3)"
}

gen() { # a docker-save-shaped archive: per layer <id>/layer.tar (random files), config, manifest.json last
  python3 - "$1" "${LAYERS:-40}" "${LAYER_MB:-10}" <<'PY'
import hashlib, io, json, os, sys, tarfile
out, layers, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def add(t, name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644; t.addfile(ti, io.BytesIO(data))
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
    diff_ids, names = [], []
    for i in range(layers):
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT) as l:
            for j in range(mb * 16):
                add(l, f"opt/l{i}/f{j}.bin", os.urandom(64 * 1024))
        data = b.getvalue(); h = hashlib.sha256(data).hexdigest()
        add(t, f"blobs/sha256/{h}", data); diff_ids.append("sha256:" + h); names.append(f"blobs/sha256/{h}")
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    ch = hashlib.sha256(cfg).hexdigest()
    add(t, f"blobs/sha256/{ch}", cfg)
    add(t, "manifest.json", json.dumps([{"Config": f"blobs/sha256/{ch}", "RepoTags": ["bench/archive:1"], "Layers": names}]).encode())
PY
}

run() {
  local tar=$1 c=$WORK/cache
  rm -rf "$c"
  echo "== $(basename "$tar"): $(du -h "$tar" | cut -f1), $(tar tf "$tar" | wc -l) members"
  local s=("$SHIPSHAPE" image sbom "docker-archive:$tar" --cache-dir "$c" --format json -o "$WORK/sbom.json")
  t "shipshape cold (empty cache, evicted)" 'rm -rf "$c"; evict "$tar"' "${s[@]}"
  t "shipshape warm (page-cached)" : "${s[@]}"
  t "shipshape warm (evicted)" 'evict "$tar"' "${s[@]}"
  t "shipshape warm after touch (page-cached)" 'touch "$tar"' "${s[@]}"
  t "shipshape warm after touch (evicted)" 'touch "$tar"; evict "$tar"' "${s[@]}"
  if [ -x "$TRIVY" ]; then
    local tv=("$TRIVY" image --input "$tar" --format cyclonedx --cache-dir "$WORK/trivy" --skip-db-update --offline-scan -q -o "$WORK/trivy.json")
    t "trivy cold (empty cache, evicted)" 'rm -rf "$WORK/trivy"; evict "$tar"' "${tv[@]}"
    t "trivy warm (page-cached)" : "${tv[@]}"
    t "trivy warm (evicted)" 'evict "$tar"' "${tv[@]}"
  fi
}

ARCHIVE=${1:-${SHIPSHAPE_TESTIMAGES:-}/bookworm-app.docker.tar}
if [ -f "$ARCHIVE" ]; then
  cp "$ARCHIVE" "$WORK/given.tar" # a copy: the runs touch it
  run "$WORK/given.tar"
  rm -f "$WORK/given.tar"
fi
gen "$WORK/generated.tar"
run "$WORK/generated.tar"
