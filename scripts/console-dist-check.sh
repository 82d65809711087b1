#!/usr/bin/env bash
# The web console's committed build (crates/console/dist, embedded by `cargo build`, which needs no
# Node.js) must be what its sources build to: install the locked npm packages, run the signer's
# unit tests, rebuild, and fail if dist/ differs from the commit. Also leaves node_modules in
# place for the browser test (tests/e2e/test_console.py).
set -euo pipefail
cd "$(dirname "$0")/../crates/console/web"
npm ci --no-audit --no-fund --loglevel=error
npm test
npm run build
if ! git diff --exit-code --stat -- ../dist || [ -n "$(git status --porcelain -- ../dist)" ]; then
  git status --short -- ../dist
  echo "crates/console/dist is not the build of crates/console/web: run 'npm ci && npm run build' there and commit dist/" >&2
  exit 1
fi
echo "crates/console/dist is current"
