#!/usr/bin/env bash
# Start the real services Shipshape's tests talk to, on loopback only, and print the
# environment the tests read. Idempotent: a service that already answers is left alone.
#   usage: scripts/services.sh STATE_DIR     (then: source STATE_DIR/env)
# Needs root and Debian's docker.io, docker-registry, postgresql, apache2-utils.
set -euo pipefail
STATE=$(mkdir -p "${1:?usage: services.sh STATE_DIR}" && cd "$1" && pwd)
log() { printf '[services] %s\n' "$*" >&2; }
wait_for() { local what=$1; shift; for _ in $(seq 1 120); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done; log "$what did not come up"; return 1; }

# Docker Engine (vfs: works without overlayfs; no bridge: tests use --network none)
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  (dockerd --storage-driver=vfs --iptables=false --bridge=none >"$STATE/dockerd.log" 2>&1 &)
  wait_for dockerd docker info
fi

# OCI registry, anonymous on :5000 and with basic auth on :5001
mkdir -p "$STATE/registry-data"
if ! curl -sf http://127.0.0.1:5000/v2/ >/dev/null; then
  log "starting registry :5000"
  cat >"$STATE/registry.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $STATE/registry-data}}
http: {addr: 127.0.0.1:5000}
YML
  (docker-registry serve "$STATE/registry.yml" >"$STATE/registry.log" 2>&1 &)
  wait_for registry curl -sf http://127.0.0.1:5000/v2/
fi
if ! curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5001/v2/ 2>/dev/null | grep -q 401; then
  log "starting registry :5001 (basic auth shipshape/s3cret)"
  htpasswd -Bbc "$STATE/htpasswd" shipshape s3cret >/dev/null 2>&1
  cat >"$STATE/registry-auth.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $STATE/registry-data-auth}}
http: {addr: 127.0.0.1:5001}
auth: {htpasswd: {realm: test, path: $STATE/htpasswd}}
YML
  (docker-registry serve "$STATE/registry-auth.yml" >"$STATE/registry-auth.log" 2>&1 &)
  wait_for registry-auth sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5001/v2/ | grep -q 401"
fi

# PostgreSQL
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if ! "$PGBIN/pg_isready" -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  log "starting postgresql"
  install -d -o postgres -m 700 "$STATE/pgdata"
  if [ ! -f "$STATE/pgdata/PG_VERSION" ]; then
    su postgres -c "$PGBIN/initdb -D $STATE/pgdata -A trust -U postgres" >"$STATE/initdb.log" 2>&1
  fi
  # Not ready yet a pid file: left by a killed server (machine restart); pg_ctl would refuse.
  rm -f "$STATE/pgdata/postmaster.pid"
  su postgres -c "$PGBIN/pg_ctl -D $STATE/pgdata -o '-p 5432 -k $STATE/pgdata -c listen_addresses=127.0.0.1 -c max_connections=300' -l $STATE/pgdata/log start" >/dev/null
  wait_for postgresql "$PGBIN/pg_isready" -h 127.0.0.1 -p 5432
fi

cat >"$STATE/env" <<ENV
export SHIPSHAPE_TEST_SERVICES=1
export SHIPSHAPE_TEST_DOCKER=unix:///var/run/docker.sock
export SHIPSHAPE_TEST_REGISTRY=127.0.0.1:5000
export SHIPSHAPE_TEST_REGISTRY_AUTH=127.0.0.1:5001
export SHIPSHAPE_TEST_REGISTRY_USER=shipshape
export SHIPSHAPE_TEST_REGISTRY_PASSWORD=s3cret
export SHIPSHAPE_TEST_PG=postgres://postgres@127.0.0.1:5432/postgres
export SHIPSHAPE_TEST_CONTAINERD=/var/run/docker/containerd/containerd.sock
ENV
log "ready; source $STATE/env"
