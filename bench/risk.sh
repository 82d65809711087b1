#!/usr/bin/env bash
# Shipshape's secret scanner (crates/secrets, examples/secrets_scan_dir) side by side with Trivy's
# secret scanner on one extracted rootfs: median of RUNS runs, wall time and peak RSS.
# Usage: bench/risk.sh ROOTFS [RUNS]   (trivy: ../shared/tools/get-trivy.sh .peers/bin)
set -euo pipefail
ROOT="${1:?usage: bench/risk.sh ROOTFS [RUNS]}"
RUNS="${2:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRIVY="${TRIVY:-$REPO/.peers/bin/trivy}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target-malware}"
cargo build -q --release -p secrets --example secrets_scan_dir
BIN="$CARGO_TARGET_DIR/release/examples/secrets_scan_dir"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
OFF=(--skip-db-update --skip-java-db-update --offline-scan --quiet)
echo "rootfs: $ROOT ($(find "$ROOT" -type f | wc -l) files, $(du -sh "$ROOT" | cut -f1)); $RUNS runs each"
echo "| command | median wall s | median max RSS MiB | runs (wall s) | exit codes |"
echo "|---|---|---|---|---|"
python3 "$REPO/bench/median_time.py" "$RUNS" \
  "shipshape secrets (2 threads)" -- "$BIN" --threads 2 "$ROOT" ";;" \
  "trivy rootfs --scanners secret" -- env TRIVY_NO_PROGRESS=true "$TRIVY" rootfs --cache-dir "$WORK/c" "${OFF[@]}" --scanners secret --format json --output /dev/null "$ROOT"
echo
echo "findings (one run each):"
"$BIN" --threads 2 "$ROOT" 2>/dev/null | sort
TRIVY_NO_PROGRESS=true "$TRIVY" rootfs --cache-dir "$WORK/c2" "${OFF[@]}" --scanners secret --format json --output "$WORK/t.json" "$ROOT"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])).get('Results') or []; [print('trivy', x['Target'], s['RuleID'], s.get('StartLine')) for x in r for s in x.get('Secrets',[])]" "$WORK/t.json"
