#!/usr/bin/env bash
# The one test command (README, .ci/run): every Rust test of the workspace, then the end-to-end tests
# that drive the real `shipshape` binary with the official clients (tests/e2e, pytest in .venv).
# Services/images are read from the SHIPSHAPE_TEST_* environment (scripts/services.sh prints it);
# with SHIPSHAPE_TEST_SERVICES=1 a missing one is a failure, otherwise those tests say they skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
# Tools some Rust tests run (pyspdxtools, the official SPDX validator) live in the venv.
[ -d .venv/bin ] && export PATH="$PWD/.venv/bin:$PATH"

echo "=== fast tier: formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# Licenses (an allow-list), sources (crates.io only) and bans (one TLS backend): deny.toml, offline, ~10 s.
if cargo deny --version >/dev/null 2>&1; then
  # `cargo metadata` under deny resolves every platform's dependencies: a build downloads only the
  # host's, so a fresh machine fetches the rest first (crates.io, no build).
  cargo fetch --locked --quiet
  cargo deny --offline check licenses sources bans
else
  echo "cargo-deny not installed (cargo install --locked cargo-deny): licenses/sources/bans not checked" >&2
fi

echo "=== cargo tests"
if cargo nextest --version >/dev/null 2>&1; then
  # `shipshape` enables malware's `yara` feature by default, so the workspace run tests it.
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

echo "=== the project's own scan: fs scan of the repository against ../shared's crates.io advisories"
# A gate: an advisory on a dependency fails the run until a person triages it, by upgrading or by
# a statement with its justification in security/vex.openvex.json (suppressed findings stay
# listed in the JSON output).
cargo build -q -p shipshape
own=$(mktemp -d)
"$CARGO_TARGET_DIR/debug/shipshape" --data-dir "$own" db import "${SHIPSHAPE_SHARED:-$PWD/../shared}/vulndata/osv/crates.io" >/dev/null
"$CARGO_TARGET_DIR/debug/shipshape" --data-dir "$own" fs scan . --scanners vuln --format table \
  --vex security/vex.openvex.json --exit-code 1
rm -rf "$own"

echo "=== end-to-end tests (official clients against the real binary)"
cargo build -p shipshape
export SHIPSHAPE_BIN=${SHIPSHAPE_BIN:-$CARGO_TARGET_DIR/debug/shipshape}
[ -x .venv/bin/python ] || { echo "no .venv: run scripts/clients.sh first" >&2; exit 2; }
[ -d tests/e2e/node/node_modules ] || { echo "no Node SDK: run scripts/clients.sh first" >&2; exit 2; }
.venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider "$@"
