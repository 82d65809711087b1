#!/usr/bin/env bash
# Import all of ../shared/vulndata once (release build) and report time and peak RSS;
# then the criterion benches (import + matching a 5,000-package report).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${SHIPSHAPE_SHARED:-../shared}/vulndata"
cargo build --release -p vuln --example import_timing
BIN="${CARGO_TARGET_DIR:-target}/release/examples/import_timing"
/usr/bin/time -f "process: wall %e s, user %U s, sys %S s, peak RSS %M KiB" "$BIN" "$DATA" 20
if [ "${1:-}" = "--criterion" ]; then
    cargo bench -p vuln --bench vuln
fi
