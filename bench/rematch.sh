#!/usr/bin/env bash
# Re-match of N stored images after an advisory update (what `serve` does after `db update` /
# `db import` changes the data): time per image and peak RSS. No peer does this step
# (Trivy and Grype re-scan the image), so no side-by-side figure.
#   usage: bench/rematch.sh [IMAGES=1000] [DATABASE_URL]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${SHIPSHAPE_SHARED:-../shared}/vulndata"
PROFILE=${PROFILE:-release}
cargo build -q --profile "$PROFILE" -p scan --example rematch_timing
dir=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
BIN="${CARGO_TARGET_DIR:-target}/$dir/examples/rematch_timing"
/usr/bin/time -f "process: wall %e s, peak RSS %M KiB" "$BIN" "$DATA" "${1:-1000}" ${2:+"$2"}
