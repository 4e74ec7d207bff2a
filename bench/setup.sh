#!/usr/bin/env bash
# Installs the benchmark's contestants beside polyworker, idempotently:
# Temporal's Python SDK (PyPI `temporalio`) into ./.venv and its TypeScript
# SDK (npm `@temporalio/worker`) into bench/ts-worker/node_modules.
# scripts/setup.sh (the test command's set-up) calls this, because the
# benchmark's smoke test runs every contestant.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[bench setup]\033[0m %s\n' "$*" >&2; }

[ -x .venv/bin/python ] || python3 -m venv .venv >&2
if ! .venv/bin/python -c 'import temporalio' >/dev/null 2>&1; then
  log "installing the Temporal Python SDK 1.35.0 (the Python contestant) into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check 'temporalio==1.35.0' >&2
fi
if [ ! -d bench/ts-worker/node_modules/@temporalio/worker ]; then
  log "installing the Temporal TypeScript SDK 1.24.0 (the TypeScript contestant) from npm"
  # `npm install`, not `npm ci`: npm 11 refuses a lockfile written on Linux
  # for lacking the other platforms' optional @swc/core binaries.
  (cd bench/ts-worker && npm install --loglevel=error --no-audit --no-fund >&2)
fi
