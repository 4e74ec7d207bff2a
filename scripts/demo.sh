#!/usr/bin/env bash
# The main job on its embedded default: set up what the demo needs (and
# nothing else: other languages' toolchains are the test command's), start a local
# Temporal dev server (unless TEMPORAL_ADDRESS points at one), the example's
# transmit service and polyworker with the data-routing component, submit a
# DataRoutingWorkflow, and print its result as JSON.
#
#   scripts/demo.sh                       # defaults
#   TEMPORAL_ADDRESS=127.0.0.1:7233 scripts/demo.sh
#   PACKET='{"ID":"p9","Source":"a","Destination":"b","Contents":"x"}' scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { printf '\033[1m[demo]\033[0m %s\n' "$*" >&2; }

scripts/setup.sh demo
log "building polyworker, the transmit service and the data-routing component"
cargo build --quiet --profile demo -p polyworker-host -p transmit-service >&2
# The same target dir and profile as scripts/build-guests.sh, so the tests
# reuse this build.
cargo build --quiet --release --target wasm32-wasip2 --target-dir target/guests -p data-routing >&2

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

address=${TEMPORAL_ADDRESS:-127.0.0.1:$(free_port)}
transmit_port=$(free_port)
task_queue=data-routing

cat > "$work/polyworker.toml" <<TOML
[server]
address = "http://${address}"
namespace = "default"

[[task_queue]]
name = "${task_queue}"
modules = ["${root}/target/guests/wasm32-wasip2/release/data_routing.wasm"]
http_allowlist = ["127.0.0.1:${transmit_port}"]
env = { TRANSMIT_SERVICE_URL = "http://127.0.0.1:${transmit_port}", ROUTE_ERROR_CHANCE = "${ROUTE_ERROR_CHANCE:-0.1}" }
TOML

# `polyworker dev` starts a dev server on the configured port unless one
# already answers there (TEMPORAL_ADDRESS).
log "starting polyworker (dev) against ${address}"
target/demo/polyworker dev --config "$work/polyworker.toml" > "$work/polyworker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  grep -q " polling" "$work/polyworker.log" 2>/dev/null && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then cat "$work/polyworker.log" >&2; exit 1; fi
  sleep 0.5
done
grep -q " polling" "$work/polyworker.log" || { cat "$work/polyworker.log" >&2; log "polyworker did not start"; exit 1; }

log "starting the transmit service on 127.0.0.1:${transmit_port}"
target/demo/transmit-service --listen "127.0.0.1:${transmit_port}" \
  --temporal-address "http://${address}" --max-delay-ms "${TRANSMIT_MAX_DELAY_MS:-15000}" \
  > "$work/transmit.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  python3 - "$transmit_port" <<'PY' && break
import socket, sys
s = socket.socket(); s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
  sleep 0.5
done

workflow_id="data-routing-$(date +%s)-$$"
packet=${PACKET:-'{"ID":"packet-1","Source":"sensor-17","Destination":"datacenter-eu","Contents":"temperature=21.5"}'}
log "submitting DataRoutingWorkflow ${workflow_id} (this takes up to a minute: the transmit service answers after up to 15 s, or never)"
.venv/bin/temporal workflow execute --address "$address" --task-queue "$task_queue" \
  --type DataRoutingWorkflow --workflow-id "$workflow_id" --input "$packet" -o json > "$work/execute.json" \
  || { cat "$work/execute.json" "$work/polyworker.log" >&2; exit 1; }

# Print the payload exactly as the workflow wrote it (the CLI shows empty
# lists as null).
.venv/bin/temporal workflow show --address "$address" --workflow-id "$workflow_id" -o json \
  | python3 -c '
import base64, json, sys
for e in json.load(sys.stdin)["events"]:
    a = e.get("workflowExecutionCompletedEventAttributes")
    if a:
        print(json.dumps(json.loads(base64.b64decode(a["result"]["payloads"][0]["data"])), indent=2))
        sys.exit(0)
sys.exit("the workflow did not complete")'
if [ -n "${TEMPORAL_ADDRESS:-}" ]; then
  log "history: .venv/bin/temporal workflow show --address ${address} -w ${workflow_id}"
fi
