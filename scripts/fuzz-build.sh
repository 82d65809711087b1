#!/usr/bin/env bash
# Builds every cargo-fuzz target (fuzz/ and crates/layer/fuzz/) with plain `cargo build` on the
# stable toolchain: no cargo-fuzz, no nightly, no sanitizers. libfuzzer-sys still compiles and
# links libFuzzer (needs a C++ compiler), so this proves the targets compile and link against the
# current parser APIs. Fuzzing itself: `cargo +nightly fuzz run <target>` in either directory.
set -euo pipefail
cd "$(dirname "$0")/.."
# Own target dir: the fuzz crates are separate workspaces with default profiles, and sharing
# target/ with the workspace build would overwrite its artifacts.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz-build"
# A compile-and-link check: no debuginfo makes it faster.
export CARGO_PROFILE_DEV_DEBUG=0
for dir in fuzz crates/layer/fuzz; do
  # Their lock files are not committed: start from the workspace's, so shared dependencies are
  # the versions the tests use (cargo adds libfuzzer-sys and drops what these do not use).
  [ -f "$dir/Cargo.lock" ] || cp Cargo.lock "$dir/Cargo.lock"
  cargo build --quiet --bins --manifest-path "$dir/Cargo.toml"
done
