#!/usr/bin/env bash
# Shipshape's trojan scanner (crates/malware, examples/virus_scan_dir) side by side with
# `clamscan -r` (same ClamAV signature files) and `yara -r` (same YARA rules, compiled set)
# on one extracted rootfs: median of RUNS runs, wall time and peak RSS (/usr/bin/time -v).
# Usage: bench/virus.sh ROOTFS [RUNS]      (peers: ../shared/tools/get-peers.sh)
set -euo pipefail
ROOT="${1:?usage: bench/virus.sh ROOTFS [RUNS]}"
RUNS="${2:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHIPSHAPE_SHARED:-$REPO/../shared}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target-malware}"
cargo build -q --release -p malware --features yara --example virus_scan_dir
BIN="$CARGO_TARGET_DIR/release/examples/virus_scan_dir"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
# clamscan -d DIR reads the top-level files of DIR: give both tools the same four files.
mkdir "$WORK/clam"; cp "$SHARED"/rules/clamav/*.{hdb,hsb,ndb,ldb} "$WORK/clam/"
bash "$SHARED/tools/yara-compile-set.sh" "$SHARED/rules/yara" "$WORK/rules.yarc" >/dev/null
# Shipshape's compiled-rules cache, warmed once (yara -C likewise reads a precompiled set).
"$BIN" --yara "$SHARED/rules/yara" --cache "$WORK/cache" "$WORK/clam" >/dev/null 2>&1
echo "rootfs: $ROOT ($(find "$ROOT" -type f | wc -l) files, $(du -sh "$ROOT" | cut -f1)); $RUNS runs each"
echo "| command | median wall s | median max RSS MiB | runs (wall s) | exit codes |"
echo "|---|---|---|---|---|"
python3 "$REPO/bench/median_time.py" "$RUNS" \
  "shipshape clamav sigs (2 threads)" -- "$BIN" --threads 2 --clamav "$WORK/clam" "$ROOT" ";;" \
  "clamscan -r (same sigs)" -- clamscan -r --no-summary --infected -d "$WORK/clam" "$ROOT" ";;" \
  "shipshape yara rules (2 threads, cached compile)" -- "$BIN" --threads 2 --yara "$SHARED/rules/yara" --cache "$WORK/cache" "$ROOT" ";;" \
  "yara -C -r -N -p 2 (same rules)" -- yara -C -r -N -w -p 2 "$WORK/rules.yarc" "$ROOT" ";;" \
  "shipshape yara + clamav together" -- "$BIN" --threads 2 --yara "$SHARED/rules/yara" --clamav "$WORK/clam" --cache "$WORK/cache" "$ROOT"
echo
echo "findings (one run each):"
echo "shipshape clamav: $("$BIN" --threads 2 --clamav "$WORK/clam" "$ROOT" 2>/dev/null | sort | tr '\n' ';')"
echo "clamscan:         $(clamscan -r --no-summary --infected -d "$WORK/clam" "$ROOT" 2>/dev/null | sort | tr '\n' ';')"
echo "shipshape yara:   $("$BIN" --threads 2 --yara "$SHARED/rules/yara" --cache "$WORK/cache" "$ROOT" 2>/dev/null | wc -l) hits"
echo "yara:             $(yara -C -r -N -w -p 2 "$WORK/rules.yarc" "$ROOT" 2>/dev/null | wc -l) hits"
