#!/usr/bin/env bash
# Build the acceptance images from ../shared/testimages (no downloads of images: debootstrap,
# pip and npm into layers), load bookworm-app into the Docker Engine when one answers, and
# push it to the test registries when they answer. Prints the env line tests read.
#   usage: scripts/testimages.sh OUTDIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHIPSHAPE_SHARED:-$(cd "$HERE/../../shared" && pwd)}
OUT=$(mkdir -p "${1:?usage: testimages.sh OUTDIR}" && cd "$1" && pwd)
if [ ! -f "$OUT/bookworm-app.docker.tar" ]; then
  bash "$SHARED/testimages/build.sh" "$OUT" >&2
fi
if [ ! -f "$OUT/hostile.docker.tar" ]; then
  bash "$SHARED/testimages/build-hostile.sh" "$OUT" >&2
fi
if docker info >/dev/null 2>&1 && ! docker image inspect shipshape-test/bookworm-app:1 >/dev/null 2>&1; then
  docker load -i "$OUT/bookworm-app.docker.tar" >&2
fi
if curl -sf http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  skopeo copy -q --dest-tls-verify=false "docker-archive:$OUT/bookworm-app.docker.tar" docker://127.0.0.1:5000/shipshape-test/bookworm-app:1 >&2
fi
if [ -n "${SHIPSHAPE_TEST_REGISTRY_USER:-}" ] && curl -s -o /dev/null http://127.0.0.1:5001/v2/ 2>/dev/null; then
  skopeo copy -q --dest-tls-verify=false --dest-creds "$SHIPSHAPE_TEST_REGISTRY_USER:$SHIPSHAPE_TEST_REGISTRY_PASSWORD" \
    "docker-archive:$OUT/bookworm-app.docker.tar" docker://127.0.0.1:5001/shipshape-test/bookworm-app:1 >&2
fi
echo "export SHIPSHAPE_TESTIMAGES=$OUT"
