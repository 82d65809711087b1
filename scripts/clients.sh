#!/usr/bin/env bash
# Install the official TencentCloud clients the end-to-end tests drive: the Python SDK, tccli
# and pytest in .venv, and the Node SDK in tests/e2e/node. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt
if [ -f tests/e2e/node/package.json ]; then
  (cd tests/e2e/node && npm install --no-audit --no-fund --loglevel=error)
fi
