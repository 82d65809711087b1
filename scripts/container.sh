#!/usr/bin/env bash
# Builds the container image of Dockerfile's `prebuilt` stage from a binary built here, on a local
# base image, and runs it: for hosts that cannot pull the Rust toolchain or Debian images (this
# project's CI). The default stage (`runtime`, from source) needs `rust:*-slim-bookworm` and
# `debian:bookworm-slim` from a registry.
#   usage: scripts/container.sh [BINARY=target/release/shipshape] [BASE=shipshape-test/bookworm-app:1]
# BASE must be a Debian bookworm (glibc 2.36) image; the default is the debootstrap image of
# scripts/testimages.sh. Prints the image's `shipshape --version`; exits non-zero on any failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BIN=${1:-$REPO/target/release/shipshape}
BASE=${2:-shipshape-test/bookworm-app:1}
TAG=${SHIPSHAPE_IMAGE_TAG:-shipshape:local}
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 2; }
docker image inspect "$BASE" >/dev/null 2>&1 || { echo "no base image $BASE (scripts/testimages.sh builds it)" >&2; exit 2; }
# A context of the binary alone (the `prebuilt` stage reads nothing else): the classic builder
# uploads the whole context, and the repository's is large.
CTX=$(mktemp -d)
trap 'rm -rf "$CTX"' EXIT
mkdir -p "$CTX/target/container"
# Stripped as the Dockerfile's own build is (the release profile keeps debug info for profiling).
strip -o "$CTX/target/container/shipshape" "$BIN"
# The classic builder (DOCKER_BUILDKIT=0) because the docker CLI here has no buildx; it stops at
# the target stage, so `build` (the toolchain image) is never needed.
DOCKER_BUILDKIT=0 docker build -q --target prebuilt --build-arg "RUNTIME_IMAGE=$BASE" -f "$REPO/Dockerfile" -t "$TAG" "$CTX" >&2
docker run --rm "$TAG" --version
# Non-root, and the entrypoint is the binary.
test "$(docker image inspect -f '{{.Config.User}}' "$TAG")" = "10001:10001"
test "$(docker image inspect -f '{{json .Config.Entrypoint}}' "$TAG")" = '["shipshape"]'
