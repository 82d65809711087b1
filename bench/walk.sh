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
