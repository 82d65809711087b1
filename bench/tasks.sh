#!/usr/bin/env bash
# Image scan task benchmark: 50 images sharing layers (shipshape-test/bookworm-app:1 plus 49
# copies, each with one tiny extra layer made by `docker create` + `docker cp` + `docker commit`,
# so nothing runs), scanned through the API (virus + risk) by a fresh `shipshape serve`:
# images/minute cold (empty layer cache) and warm (a second task), and the latency of
# DescribeAssetImageScanStatus polled continuously while the cold scan runs (p50/p99).
#
#   bench/tasks.sh [N_IMAGES]        (needs dockerd with the test image, .venv with the SDK)
#
# With SHIPSHAPE_BENCH_REGISTRY=HOST:PORT (an insecure registry), the images are also pushed
# there as HOST:PORT/shipshape-bench/app:N and the server is given that registry: the scans
# then read layers from the registry one by one instead of exporting whole images from dockerd.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
BASE=${SHIPSHAPE_BENCH_IMAGE:-shipshape-test/bookworm-app:1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
BIN=${SHIPSHAPE_BIN:-$CARGO_TARGET_DIR/release/shipshape}
[ -x "$BIN" ] || cargo build --release -p shipshape
WORK=$(mktemp -d)
trap 'kill $SERVE_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "== building $((N - 1)) images from $BASE" >&2
for i in $(seq 1 $((N - 1))); do
  tag="shipshape-bench/app:$i"
  docker image inspect "$tag" >/dev/null 2>&1 && continue
  echo "bench image $i" > "$WORK/f"
  cid=$(docker create --network none "$BASE" true)
  docker cp "$WORK/f" "$cid:/bench-$i.txt" >/dev/null
  docker commit --change "ENV SHIPSHAPE_BENCH=$i" "$cid" "$tag" >/dev/null
  docker rm "$cid" >/dev/null
done

EXTRA=()
if [ -n "${SHIPSHAPE_BENCH_REGISTRY:-}" ]; then
  R=$SHIPSHAPE_BENCH_REGISTRY
  echo "== pushing to $R" >&2
  docker tag "$BASE" "$R/shipshape-bench/app:0" && docker push -q "$R/shipshape-bench/app:0" >/dev/null
  for i in $(seq 1 $((N - 1))); do
    docker tag "shipshape-bench/app:$i" "$R/shipshape-bench/app:$i" && docker push -q "$R/shipshape-bench/app:$i" >/dev/null
  done
  printf '[[registry]]\nhost = "%s"\ninsecure = true\nrepositories = ["shipshape-bench/app"]\n' "$R" > "$WORK/registries.toml"
  EXTRA=(--registries "$WORK/registries.toml")
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --listen 127.0.0.1:$PORT --rate-limit 0 --data-dir "$WORK/data" "${EXTRA[@]}" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
.venv/bin/python bench/tasks.py --endpoint 127.0.0.1:$PORT --credentials "$WORK/data/credentials.json" --images "$N"
# The same calls as the server saw them (handler time, no client or signing): its request log.
python3 - "$WORK/serve.log" <<'PY'
import re, sys
lat = sorted(int(m.group(1)) / 1000 for line in open(sys.argv[1], errors="replace")
             if 'action="DescribeAssetImageScanStatus"' in line and (m := re.search(r"latency_us=(\d+)", line)))
if lat:
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(f"DescribeAssetImageScanStatus server-side (both scans): n={len(lat)} p50={q(0.5):.2f} ms p99={q(0.99):.2f} ms max={lat[-1]:.2f} ms")
PY
