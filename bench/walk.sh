#!/usr/bin/env bash
# Layer-walk throughput and peak RSS (crates/layer/examples/walkbench.rs).
#   bench/walk.sh [DOCKER_ARCHIVE]   default: $SHIPSHAPE_TESTIMAGES/bookworm-app.docker.tar
# Env: FILES (default 500000), BYTES (default 2000000000) for the generated layer.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
: "${CARGO_TARGET_DIR:=$ROOT/target}"; export CARGO_TARGET_DIR
cargo build -q --release -p layer --example walkbench
BIN="$CARGO_TARGET_DIR/release/examples/walkbench"
ARCHIVE=${1:-${SHIPSHAPE_TESTIMAGES:-}/bookworm-app.docker.tar}
rss() { /usr/bin/time -f "peak RSS: %M KB, wall %e s" "$@"; }
if [ -f "$ARCHIVE" ]; then
  echo "== $ARCHIVE"
  rss "$BIN" image "$ARCHIVE"
fi
FILES=${FILES:-500000}; BYTES=${BYTES:-2000000000}
echo "== generated layer: $FILES files, $BYTES bytes (streamed through a pipe, never on disk)"
"$BIN" gen "$FILES" "$BYTES" | rss "$BIN" walk -
echo "== generated layer, 1/4 size (RSS should be flat)"
"$BIN" gen $((FILES / 4)) $((BYTES / 4)) | rss "$BIN" walk -

# `shipshape image sbom` against Trivy on one-layer docker-archives of many files (the layer's
# path index is the per-file cost): SBOM_FILES (default "500000 2000000"), written to
# $TMPDIR/walkbench-*/ and removed after. SHIPSHAPE (default: the release build) and TRIVY
# (default: .peers/bin/trivy) name the binaries; each run gets an empty cache.
SHIPSHAPE=${SHIPSHAPE:-$CARGO_TARGET_DIR/release/shipshape}
TRIVY=${TRIVY:-$ROOT/.peers/bin/trivy}
[ -x "$SHIPSHAPE" ] || cargo build -q --release -p shipshape
WORK=$(mktemp -d "${TMPDIR:-/tmp}/walkbench-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
for n in ${SBOM_FILES:-500000 2000000}; do
  "$BIN" gen-image "$n" 0 "$WORK/many.tar"
  echo "== image sbom, one layer of $n empty files"
  rss "$SHIPSHAPE" image sbom "docker-archive:$WORK/many.tar" --cache-dir "$WORK/cache" --format json -o "$WORK/sbom.json"
  if [ -x "$TRIVY" ]; then
    echo "-- trivy, same archive"
    rss "$TRIVY" image --input "$WORK/many.tar" --format cyclonedx --cache-dir "$WORK/trivy" --skip-db-update --offline-scan -q -o "$WORK/trivy.json"
  fi
  rm -rf "$WORK/many.tar" "$WORK/cache" "$WORK/trivy"
done
