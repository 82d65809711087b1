#!/usr/bin/env bash
# Harbor-style scan of a test image pushed to a local registry, driven as Harbor drives the
# adapter (POST /api/v1/scan, then GET .../report until 200): time from POST to 200 cold (empty
# layer cache) and with every layer cached (median of RUNS), and the server's peak RSS.
# Peer: Trivy cannot match vulnerabilities offline (its DB is a download), so its figure is an
# SBOM of the same registry image (`trivy image --format cyclonedx`, fresh cache) — the nearest
# comparable pull-and-index work, labelled as such.
#   usage: bench/harbor.sh [IMAGE=shipshape-test/bookworm-app:1] [RUNS=5]
#   env: SHIPSHAPE_BIN (default target/release/shipshape, else target/debug), SHIPSHAPE_TEST_REGISTRY
#        (anonymous registry, default 127.0.0.1:5000), TRIVY (default .peers/bin/trivy, installed when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${1:-shipshape-test/bookworm-app:1}
RUNS=${2:-5}
REG=${SHIPSHAPE_TEST_REGISTRY:-127.0.0.1:5000}
SHARED=${SHIPSHAPE_SHARED:-../shared}
BIN=${SHIPSHAPE_BIN:-}
if [ -z "$BIN" ]; then
  BIN=target/release/shipshape
  [ target/debug/shipshape -nt "$BIN" ] && BIN=target/debug/shipshape
fi
echo "binary: $BIN"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
repo=bench/harbor-$$
skopeo copy -q --dest-tls-verify=false --digestfile "$work/digest" "docker-daemon:$IMAGE" "docker://$REG/$repo:1"
digest=$(cat "$work/digest")
"$BIN" db import "$SHARED/vulndata/osv/Debian" "$SHARED/vulndata/osv/PyPI" --data-dir "$work/data" >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --db-update-every 0 --rate-limit 0 >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
token=$("$BIN" harbor token create --data-dir "$work/data" 2>/dev/null | tail -n1)

python3 - "$port" "$token" "$REG" "$repo" "$digest" "$RUNS" <<'PY'
import json, statistics, sys, time, urllib.request
port, token, reg, repo, digest, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
base = f"http://127.0.0.1:{port}/api/v1"
hdr = {"Authorization": f"Bearer {token}"}

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None
opener = urllib.request.build_opener(NoRedirect)

def scan():
    body = json.dumps({"registry": {"url": f"http://{reg}"},
                       "artifact": {"repository": repo, "digest": digest, "tag": "1",
                                    "mime_type": "application/vnd.docker.distribution.manifest.v2+json"}}).encode()
    t0 = time.monotonic()
    req = urllib.request.Request(f"{base}/scan", data=body, method="POST",
                                 headers={**hdr, "Content-Type": "application/vnd.scanner.adapter.scan.request+json; version=1.1"})
    sid = json.load(opener.open(req))["id"]
    while True:
        req = urllib.request.Request(f"{base}/scan/{sid}/report",
                                     headers={**hdr, "Accept": "application/vnd.security.vulnerability.report; version=1.1"})
        try:
            r = opener.open(req)
            rep = json.load(r)
            return time.monotonic() - t0, len(rep["vulnerabilities"])
        except urllib.error.HTTPError as e:
            if e.code != 302:
                raise SystemExit(f"report: HTTP {e.code}: {e.read()[:300]!r}")
        time.sleep(0.02)

cold, n = scan()
cached = [scan()[0] for _ in range(runs)]
print(f"shipshape harbor scan: cold {cold:.2f} s, cached median {statistics.median(cached):.3f} s "
      f"(min {min(cached):.3f}, {runs} runs), {n} vulnerabilities")
PY
echo "shipshape serve peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
grep "harbor scan indexed" "$work/serve.log" | head -2 | sed 's/.*harbor scan indexed/  indexed:/'

TRIVY=${TRIVY:-.peers/bin/trivy}
if [ ! -x "$TRIVY" ]; then bash "$SHARED/tools/get-trivy.sh" "$(dirname "$TRIVY")" >/dev/null 2>&1 || true; fi
if [ -x "$TRIVY" ]; then
  /usr/bin/time -f "peer trivy image (SBOM only, fresh cache): wall %e s, peak RSS %M KiB" \
    "$TRIVY" image -q --insecure --format cyclonedx --output "$work/trivy.cdx.json" --cache-dir "$work/trivy-cache" \
    --skip-db-update --skip-java-db-update --offline-scan "$REG/$repo:1" 2>&1 | grep -v '^$' | tail -1
else
  echo "peer: trivy not installed (../shared/tools/get-trivy.sh)"
fi
