#!/usr/bin/env bash
# Compliance benchmark: N containers created cheaply with `docker create --network none` from a tiny imported
# image, then the full container catalog checked on all of them (crates/compliance/examples/bench.rs).
# usage: bench/compliance.sh [N]   (default 500; needs dockerd at $SHIPSHAPE_TEST_DOCKER or the default socket)
set -euo pipefail
N=${1:-500}
ENDPOINT=${SHIPSHAPE_TEST_DOCKER:-unix:///var/run/docker.sock}
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target-compliance}
TAG=shipshape-bench/tiny:1
WORK=$(mktemp -d)
cleanup() {
  docker ps -aq --filter label=shipshape-bench=compliance | xargs -r docker rm -f >/dev/null
  docker rmi -f "$TAG" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/root"
printf '#!/bin/sh\necho app\n' > "$WORK/root/app"; chmod 755 "$WORK/root/app"
tar -C "$WORK/root" -cf "$WORK/root.tar" .
docker import --change 'CMD ["/app"]' "$WORK/root.tar" "$TAG" >/dev/null
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then cargo build --release -q -p compliance --example bench; BIN=$CARGO_TARGET_DIR/release/examples/bench; else cargo build -q -p compliance --example bench; BIN=$CARGO_TARGET_DIR/debug/examples/bench; fi
start=$(date +%s.%N)
# Half hardened, half risky, so both branches of every rule run.
seq 1 "$N" | xargs -P 8 -I{} sh -c '
  if [ $(({} % 2)) -eq 0 ]; then
    docker create --network none --label shipshape-bench=compliance --read-only --user 1000:1000 --cap-drop ALL \
      --memory 32m --pids-limit 64 --security-opt no-new-privileges '"$TAG"' >/dev/null
  else
    docker create --network none --label shipshape-bench=compliance --user 0:0 --cap-add SYS_ADMIN \
      -e API_TOKEN=x -v /etc:/host/etc:ro --restart always '"$TAG"' >/dev/null
  fi'
echo "created $N containers in $(echo "$(date +%s.%N) - $start" | bc) s"
"$BIN" "$ENDPOINT"
