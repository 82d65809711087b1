#!/usr/bin/env bash
# The trojan scan hot path through the binary: `shipshape image scan --scanners virus` on a
# docker-archive (empty layer cache each run, compiled YARA rules cached as in real use) on all
# cores and on one core (taskset: the layer walk then analyses files on the walker thread alone),
# beside the yara-x CLI (`yr scan`) with the same YARA rules (crates/malware/rules/yara, one
# namespace per file like malware::yara) on the image's extracted rootfs. Median of RUNS runs:
# wall, CPU (user + sys) and peak RSS (/usr/bin/time -v). bench/virus.sh is the library-level bench.
# Usage: bench/virus_image.sh [DOCKER_ARCHIVE] [RUNS]
#   default archive: $SHIPSHAPE_TESTIMAGES/bookworm-app.docker.tar; RUNS default 3
# Env: SHIPSHAPE (default target-release/release/shipshape, built if missing), YR (default: yr on
#   PATH, else .peers/bin/yr beside the other peers: `cargo install --locked --root .peers yara-x-cli@1.22.1`;
#   rows skipped without it),
#   BEFORE (optional: another shipshape binary, e.g. a build before a change, scanned the same way).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARCHIVE="${1:-${SHIPSHAPE_TESTIMAGES:?set SHIPSHAPE_TESTIMAGES or pass an archive}/bookworm-app.docker.tar}"
RUNS="${2:-3}"
: "${CARGO_TARGET_DIR:=$REPO/target-release}"
SHIPSHAPE="${SHIPSHAPE:-$CARGO_TARGET_DIR/release/shipshape}"
if [ ! -x "$SHIPSHAPE" ]; then CARGO_TARGET_DIR="$CARGO_TARGET_DIR" cargo build -q --release -p shipshape; fi
YR="${YR:-$(command -v yr || echo "$REPO/.peers/bin/yr")}"
RULES="$REPO/crates/malware/rules"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/virus-image-XXXXXX")"; trap 'rm -rf "$WORK"' EXIT
python3 "$REPO/bench/docker_archive_rootfs.py" "$ARCHIVE" "$WORK/rootfs"

# The bundled rule set (YARA + ClamAV) and a data dir holding the YARA rules alone (what yr
# scans with). XDG_CACHE_HOME holds the compiled-rules cache, warmed once below.
export XDG_CACHE_HOME="$WORK/xdg"
"$SHIPSHAPE" --data-dir "$WORK/yara-only" rules import "$RULES/yara" >/dev/null
# The same two sets in a data dir, so a BEFORE binary built elsewhere (its compiled-in default
# rules path gone) scans with them too.
"$SHIPSHAPE" --data-dir "$WORK/default" rules import "$RULES/yara" "$RULES/clamav" >/dev/null
# One scan with an empty layer cache; sh -c "$(scan DATA_DIR)" sh [PREFIX…] runs it under PREFIX.
scan() {
  echo "rm -rf '$WORK/layers'; exec \"\$@\" '${BIN:-$SHIPSHAPE}' --data-dir '$WORK/$1' image scan --scanners virus \
    --cache-dir '$WORK/layers' --format json -o '$WORK/$1${BIN:+-before}.json' 'docker-archive:$ARCHIVE'"
}
sh -c "$(scan default)" sh; sh -c "$(scan yara-only)" sh

ROWS=(
  "shipshape image scan --scanners virus (all cores; YARA + ClamAV)" -- sh -c "$(scan default)" sh ";;"
  "same, one core (taskset -c 0)" -- sh -c "$(scan default)" sh taskset -c 0 ";;"
  "shipshape, YARA rules only (all cores)" -- sh -c "$(scan yara-only)" sh
)
if [ -n "${BEFORE:-}" ]; then
  # Warms its compiled-rules caches (another binary may key them differently).
  sh -c "$(BIN="$BEFORE" scan default)" sh; sh -c "$(BIN="$BEFORE" scan yara-only)" sh
  ROWS+=(";;" "BEFORE binary, image scan --scanners virus (all cores; YARA + ClamAV)" -- sh -c "$(BIN="$BEFORE" scan default)" sh)
  ROWS+=(";;" "BEFORE binary, YARA rules only (all cores)" -- sh -c "$(BIN="$BEFORE" scan yara-only)" sh)
fi
if [ -x "$YR" ]; then
  "$YR" compile -w --path-as-namespace -o "$WORK/rules.yarc" "$RULES/yara" >/dev/null 2>&1
  ROWS+=(";;" "yr scan -r (same YARA rules, compiled each run)" -- "$YR" scan -r --path-as-namespace -w "$RULES/yara" "$WORK/rootfs")
  ROWS+=(";;" "yr scan -r -C (precompiled rules)" -- "$YR" scan -r -w -C "$WORK/rules.yarc" "$WORK/rootfs")
  ROWS+=(";;" "yr scan -r -C, one thread" -- "$YR" scan -r -w -p 1 -C "$WORK/rules.yarc" "$WORK/rootfs")
fi
echo "archive: $ARCHIVE; rootfs $(find "$WORK/rootfs" -type f | wc -l) files, $(du -sh "$WORK/rootfs" | cut -f1); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs each"
echo "| command | median wall s | median CPU s (user+sys) | median max RSS MiB | runs (wall s) | exit codes |"
echo "|---|---|---|---|---|---|"
python3 "$REPO/bench/median_time.py" --cpu "$RUNS" "${ROWS[@]}"
echo
echo "findings (one run each):"
for d in default yara-only; do
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(sys.argv[2], len(r['malware']), 'findings', 'partial' if r['partial'] else '', r['warnings'][:3])" "$WORK/$d.json" "shipshape $d:"
  if [ -f "$WORK/$d-before.json" ]; then
    python3 -c "import json,sys; k=('malware','warnings','partial'); a,b=(json.load(open(p)) for p in sys.argv[1:3]); print(sys.argv[3], 'same findings, warnings and partial flag as BEFORE' if all(a[x]==b[x] for x in k) else 'DIFFERENT from BEFORE')" "$WORK/$d.json" "$WORK/$d-before.json" "  $d:"
  fi
done
if [ -x "$YR" ]; then echo "yr: $("$YR" scan -r -w -C "$WORK/rules.yarc" "$WORK/rootfs" 2>/dev/null | wc -l) rule matches (rule, file)"; fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
