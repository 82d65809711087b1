#!/usr/bin/env bash
# Source-tree benchmark: `shipshape fs scan` vs `trivy fs --format cyclonedx`, offline, on a
# generated tree of 10 lock files locking 5,000 packages in all (500 each: Cargo.lock,
# package-lock.json v3, yarn.lock v1, pnpm-lock.yaml v9, poetry.lock, Pipfile.lock,
# requirements.txt, go.mod, Gemfile.lock, pom.xml). Median of $RUNS runs, wall time and peak RSS
# (/usr/bin/time -v, bench/median_time.py's way), then the package counts of both and what
# each finds that the other does not.
#
# Shipshape rows: `--scanners vuln --format cyclonedx` (the SBOM plus matching against the
# shared OSV data, imported once beforehand, outside the timing) and `--scanners vuln,risk`
# (plus the secret scanner over every file). Trivy's row is SBOM only: `--format cyclonedx`
# turns its scanners off, and it has no vulnerability DB offline (../shared/tools/peers.md).
# Trivy gets a fresh cache dir per run; Shipshape's fs scan keeps no cache.
# Trivy also lists each project's own root package (the Cargo workspace crate, the go.mod
# module, the pom's artifact): they show as "only trivy".
#
# Binary: $SHIPSHAPE_BIN, else target/release/shipshape when it exists and has `fs scan`, else
# target/debug/shipshape (the script says which). Trivy from ../shared/tools/get-trivy.sh into
# $PEERS. Env: SHIPSHAPE_SHARED (default <repo>/../shared), RUNS (5), OUT (results dir).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHIPSHAPE_SHARED:-$ROOT/../shared}"
RUNS="${RUNS:-5}"
OUT="${OUT:-$(mktemp -d -t shipshape-bench-fs.XXXXXX)}"
PEERS="${PEERS:-$ROOT/.peers/bin}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$OUT"

if [ -n "${SHIPSHAPE_BIN:-}" ]; then
  BIN="$SHIPSHAPE_BIN"; BUILD="given (SHIPSHAPE_BIN)"
elif [ -x "$TARGET/release/shipshape" ] && "$TARGET/release/shipshape" fs scan --help >/dev/null 2>&1; then
  BIN="$TARGET/release/shipshape"; BUILD="release"
else
  BIN="$TARGET/debug/shipshape"; BUILD="debug (no release binary with fs scan: cargo build --release -p shipshape)"
fi
"$BIN" fs scan --help >/dev/null 2>&1 || { echo "$BIN has no 'fs scan': build it first" >&2; exit 2; }
[ -x "$PEERS/trivy" ] || bash "$SHARED/tools/get-trivy.sh" "$PEERS" >&2

DATA="$OUT/data"
"$BIN" --data-dir "$DATA" db import "$SHARED/vulndata/osv" >/dev/null 2>&1

python3 - "$BIN" "$BUILD" "$PEERS/trivy" "$OUT" "$RUNS" "$DATA" <<'PY'
import json, os, re, shutil, statistics, subprocess, sys, tempfile
from urllib.parse import unquote

bin_, build, trivy, out, runs, data = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
N = 500  # packages per lock file; 10 files
tree = os.path.join(out, "tree")

def gen(root):
    """Ten lock files in their own directories, N packages each, in each tool's real layout."""
    def w(rel, text):
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "w").write(text)
    v = lambda i: f"1.{i // 100}.{i % 100}"
    rng = range(N)
    cargo = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n" + "".join(
        f"[[package]]\nname = \"crate-{i}\"\nversion = \"{v(i)}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{i:064x}\"\n\n" for i in rng)
    w("rust/Cargo.lock", cargo)
    pkgs = {"": {"name": "npm-app", "version": "1.0.0"}}
    pkgs.update({f"node_modules/npm-pkg-{i}": {"version": v(i), "resolved": f"https://registry.npmjs.org/npm-pkg-{i}/-/npm-pkg-{i}-{v(i)}.tgz", "integrity": "sha512-AA=="} for i in rng})
    w("npm/package-lock.json", json.dumps({"name": "npm-app", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": pkgs}, indent=2))
    w("yarn/yarn.lock", "# yarn lockfile v1\n\n\n" + "".join(
        f"yarn-pkg-{i}@^{v(i)}:\n  version \"{v(i)}\"\n  resolved \"https://registry.yarnpkg.com/yarn-pkg-{i}/-/yarn-pkg-{i}-{v(i)}.tgz\"\n  integrity sha512-AA==\n\n" for i in rng))
    w("yarn/package.json", json.dumps({"name": "yarn-app", "version": "1.0.0", "dependencies": {f"yarn-pkg-{i}": f"^{v(i)}" for i in rng}}))
    imp = "".join(f"      pnpm-pkg-{i}:\n        specifier: {v(i)}\n        version: {v(i)}\n" for i in rng)
    w("pnpm/pnpm-lock.yaml", "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n" + imp + "\npackages:\n\n" + "".join(
        f"  pnpm-pkg-{i}@{v(i)}:\n    resolution: {{integrity: sha512-AA==}}\n\n" for i in rng) + "snapshots:\n\n" + "".join(f"  pnpm-pkg-{i}@{v(i)}: {{}}\n\n" for i in rng))
    w("poetry/poetry.lock", "".join(
        f"[[package]]\nname = \"poetry-pkg-{i}\"\nversion = \"{v(i)}\"\ndescription = \"\"\noptional = false\npython-versions = \"*\"\nfiles = []\n\n" for i in rng)
      + "[metadata]\nlock-version = \"2.0\"\npython-versions = \"^3.10\"\ncontent-hash = \"00\"\n")
    w("poetry/pyproject.toml", "[tool.poetry]\nname = \"poetry-app\"\nversion = \"0.1.0\"\ndescription = \"\"\nauthors = []\n\n[tool.poetry.dependencies]\npython = \"^3.10\"\n"
      + "".join(f"poetry-pkg-{i} = \"{v(i)}\"\n" for i in rng))
    w("pipenv/Pipfile.lock", json.dumps({"_meta": {"pipfile-spec": 6}, "default": {f"pipenv-pkg-{i}": {"version": f"=={v(i)}", "hashes": []} for i in rng}, "develop": {}}, indent=2))
    w("pip/requirements.txt", "".join(f"pip-pkg-{i}=={v(i)}\n" for i in rng))
    w("go/go.mod", "module example.com/bench\n\ngo 1.21\n\nrequire (\n" + "".join(f"\texample.com/go-mod-{i} v{v(i)}\n" for i in rng) + ")\n")
    w("ruby/Gemfile.lock", "GEM\n  remote: https://rubygems.org/\n  specs:\n" + "".join(f"    gem-pkg-{i} ({v(i)})\n" for i in rng)
      + "\nPLATFORMS\n  ruby\n\nDEPENDENCIES\n" + "".join(f"  gem-pkg-{i}\n" for i in rng) + "\nBUNDLED WITH\n   2.4.10\n")
    w("java/pom.xml", "<?xml version=\"1.0\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>com.example</groupId>\n  <artifactId>bench</artifactId>\n  <version>1.0.0</version>\n  <dependencies>\n"
      + "".join(f"    <dependency><groupId>com.example.bench</groupId><artifactId>maven-pkg-{i}</artifactId><version>{v(i)}</version></dependency>\n" for i in rng)
      + "  </dependencies>\n</project>\n")

shutil.rmtree(tree, ignore_errors=True)
gen(tree)

def timed(cmd, stdout_path):
    with open(stdout_path, "wb") as so:
        p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=so, stderr=subprocess.PIPE, text=True)
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    wall = (int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))) if m else float("nan")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    if p.returncode != 0:
        sys.stderr.write(f"exit {p.returncode}: {' '.join(cmd)}\n{p.stderr[-2000:]}\n")
    return wall, rss, p.returncode

def bench(label, make_cmd, out_path):
    walls, rsss, rcs = [], [], []
    for _ in range(runs):
        d = tempfile.mkdtemp(dir=out)
        w, r, rc = timed(make_cmd(d), out_path)
        walls.append(w); rsss.append(r); rcs.append(rc)
        shutil.rmtree(d, ignore_errors=True)
    print(f"| {label} | {statistics.median(walls):.2f} | {statistics.median(rsss)/1024:.0f} | "
          f"{' '.join(f'{w:.2f}' for w in walls)} | {','.join(map(str, sorted(set(rcs))))} |", flush=True)

def key(purl):
    # (type, name, version); the maven group is part of the name, namespaces otherwise dropped.
    p = unquote(purl.split("?")[0].split("#")[0])
    t, rest = p[4:].split("/", 1)
    name, _, ver = rest.rsplit("/", 1)[-1].partition("@")
    if t in ("maven", "golang"):
        name = rest.rsplit("@", 1)[0]
    return (t, name.lower(), ver.lstrip("v") if t == "golang" else ver)

def components(path):
    try:
        doc = json.load(open(path))
    except Exception:
        return None
    keys, stack = set(), list(doc.get("components") or [])
    while stack:
        c = stack.pop()
        if c.get("purl"):
            keys.add(key(c["purl"]))
        stack.extend(c.get("components") or [])
    return keys

s_out, s2_out, t_out = (os.path.join(out, n) for n in ("shipshape.cdx.json", "shipshape-risk.cdx.json", "trivy.cdx.json"))
OFF = ["--skip-db-update", "--skip-java-db-update", "--offline-scan", "--quiet"]
print(f"shipshape: {bin_} ({build}); trivy: {trivy}; runs per row: {runs}; tree and outputs in {out}\n")
print("| command | median wall s | median peak RSS MiB | all runs s | exit codes |")
print("|---|---|---|---|---|")
bench("shipshape fs scan --scanners vuln --format cyclonedx", lambda d: [bin_, "--data-dir", data, "fs", "scan", tree, "--scanners", "vuln", "--format", "cyclonedx"], s_out)
bench("shipshape fs scan --scanners vuln,risk --format cyclonedx", lambda d: [bin_, "--data-dir", data, "fs", "scan", tree, "--scanners", "vuln,risk", "--format", "cyclonedx"], s2_out)
bench("trivy fs --format cyclonedx (SBOM only)", lambda d: [trivy, "fs", tree, "--cache-dir", d, *OFF, "--format", "cyclonedx", "--output", t_out], os.path.join(out, "trivy.stdout"))

s, t = components(s_out), components(t_out)
print(f"\nlocked packages generated: {10 * N}")
print(f"shipshape: {len(s) if s is not None else 'no output'}; trivy: {len(t) if t is not None else 'no output'}")
if s is not None and t is not None:
    by_type = lambda ks: {ty: sum(1 for k in ks if k[0] == ty) for ty in sorted({k[0] for k in ks})}
    print(f"shipshape by type {by_type(s)}\ntrivy by type {by_type(t)}\nboth {len(s & t)}")
    for label, only in (("only shipshape", sorted(s - t)), ("only trivy", sorted(t - s))):
        print(f"{label} ({len(only)}): " + ", ".join(f"{k[0]}:{k[1]}@{k[2]}" for k in only[:10]) + (" ..." if len(only) > 10 else ""))
PY
